#include "gpu/kernel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <vector>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "gpu/shader_override.hpp"
#include "gpu/spirv_registry.hpp"

namespace fusescope::gpu {

std::string KernelSpec::label() const {
  std::string text = fmt::format("{}[{}]", shader, fmt::join(specialization, ","));
  if (shader_override) text += " <- " + shader_override->file_name();
  return text;
}

Kernel::Kernel(Device& device, const KernelSpec& spec) : device_(device), spec_(spec) {
  const SpirvBlob& blob = find_shader(spec.shader);
  // An override is compiled and its interface checked before any Vulkan object exists, so a
  // refused edit leaves nothing behind.
  const std::span<const std::uint32_t> code =
      spec.shader_override ? spec.shader_override->spirv_replacing(spec.shader)
                           : std::span<const std::uint32_t>(blob.words, blob.word_count);
  if (spec.push_constant_bytes > device.info().max_push_constants_size) {
    throw std::invalid_argument(fmt::format("kernel {}: {} bytes of push constants exceed the "
                                            "device's limit of {}",
                                            spec.shader, spec.push_constant_bytes,
                                            device.info().max_push_constants_size));
  }
  VkDevice dev = device.handle();
  try {
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = code.size_bytes();
    mi.pCode = code.data();
    check(vkCreateShaderModule(dev, &mi, nullptr, &module_), "vkCreateShaderModule");

    std::vector<VkDescriptorSetLayoutBinding> bindings(spec.buffer_count);
    for (std::uint32_t i = 0; i < spec.buffer_count; ++i) {
      const bool texel = (spec.texel_buffers >> i) & 1u;
      bindings[i] = {i, texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                     VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    }
    VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = spec.buffer_count;
    li.pBindings = bindings.data();
    check(vkCreateDescriptorSetLayout(dev, &li, nullptr, &set_layout_),
          "vkCreateDescriptorSetLayout");

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, spec.push_constant_bytes};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &set_layout_;
    pli.pushConstantRangeCount = spec.push_constant_bytes > 0 ? 1 : 0;
    pli.pPushConstantRanges = &range;
    check(vkCreatePipelineLayout(dev, &pli, nullptr, &layout_), "vkCreatePipelineLayout");

    device.set_debug_name(VK_OBJECT_TYPE_SHADER_MODULE, reinterpret_cast<std::uint64_t>(module_),
                          spec.shader);
    // The injected fault (gpu/fault_injection.hpp) is drawn here, in the order pipelines are
    // asked for, not in the order pool threads happen to reach them.
    injected_fault_ = device.take_pipeline_fault();
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

void Kernel::create_pipeline() const {
  const KernelSpec& spec = spec_;
  VkDevice dev = device_.handle();
  std::vector<VkSpecializationMapEntry> entries(spec.specialization.size());
  for (std::uint32_t i = 0; i < entries.size(); ++i) {
    entries[i] = {i, i * 4u, 4u};
  }
  VkSpecializationInfo si{};
  si.mapEntryCount = static_cast<std::uint32_t>(entries.size());
  si.pMapEntries = entries.data();
  si.dataSize = spec.specialization.size() * 4;
  si.pData = spec.specialization.data();

  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module_;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = entries.empty() ? nullptr : &si;
  ci.layout = layout_;
  // The injected fault takes the place of the driver's answer.
  VkPipeline pipeline = VK_NULL_HANDLE;
  const VkResult created = injected_fault_
                               ? VK_ERROR_UNKNOWN
                               : vkCreateComputePipelines(dev, device_.pipeline_cache(), 1, &ci, nullptr, &pipeline);
  if (created == VK_ERROR_DEVICE_LOST || created == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
      created == VK_ERROR_OUT_OF_HOST_MEMORY) {
    check(created, fmt::format("vkCreateComputePipelines ({})", spec.label()).c_str());
  }
  if (created != VK_SUCCESS) {  // an implementation may leave garbage in `pipeline` on failure
    throw PipelineCreationFailed(
        fmt::format("kernel {}: the compute pipeline could not be created: vkCreateComputePipelines failed: "
                    "{} ({}); the driver could not compile this shader variant (another precision, "
                    "layout or conv algorithm uses other variants)",
                    spec.label(), to_string(created), static_cast<int>(created)),
        created);
  }
  pipeline_ = pipeline;
  device_.set_debug_name(VK_OBJECT_TYPE_PIPELINE, reinterpret_cast<std::uint64_t>(pipeline_), spec.label());
}

void Kernel::build() const noexcept {
  {
    std::lock_guard<std::mutex> lock(build_mutex_);
    if (state_ != BuildState::queued) return;
    state_ = BuildState::building;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::exception_ptr error;
  try {
    create_pipeline();
  } catch (...) {
    error = std::current_exception();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(build_mutex_);
    build_error_ = error;
    build_ms_ = ms;
    state_ = BuildState::built;
  }
  built_.notify_all();
}

void Kernel::wait_built() const {
  std::unique_lock<std::mutex> lock(build_mutex_);
  built_.wait(lock, [this] { return state_ == BuildState::built; });
}

VkPipeline Kernel::pipeline() const {
  build();  // returns at once when built, or being built on another thread
  wait_built();
  if (build_error_) std::rethrow_exception(build_error_);
  return pipeline_;
}

bool Kernel::failed() const {
  std::lock_guard<std::mutex> lock(build_mutex_);
  return state_ == BuildState::built && build_error_;
}

double Kernel::build_ms() const {
  std::lock_guard<std::mutex> lock(build_mutex_);
  return build_ms_;
}

Kernel::~Kernel() {
  {
    // A build running on another thread uses module_ and layout_: wait for it to end. One
    // still queued never starts: the device's pool is gone before its kernels are.
    std::unique_lock<std::mutex> lock(build_mutex_);
    built_.wait(lock, [this] { return state_ != BuildState::building; });
  }
  release();
}

void Kernel::release() {
  VkDevice dev = device_.handle();
  if (pipeline_) vkDestroyPipeline(dev, pipeline_, nullptr);
  if (layout_) vkDestroyPipelineLayout(dev, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  if (module_) vkDestroyShaderModule(dev, module_, nullptr);
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
  module_ = VK_NULL_HANDLE;
}

}  // namespace fusescope::gpu
