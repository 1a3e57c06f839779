#include "gpu/kernel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

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
    // The one injected fault (gpu/fault_injection.hpp) takes the place of the driver's answer;
    // counted only here, where a pipeline is really made (Device::kernel caches them).
    const VkResult created = device.take_pipeline_fault()
                                 ? VK_ERROR_UNKNOWN
                                 : vkCreateComputePipelines(dev, device.pipeline_cache(), 1, &ci, nullptr, &pipeline_);
    if (created == VK_ERROR_DEVICE_LOST || created == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
        created == VK_ERROR_OUT_OF_HOST_MEMORY) {
      check(created, fmt::format("vkCreateComputePipelines ({})", spec.label()).c_str());
    }
    if (created != VK_SUCCESS) {
      pipeline_ = VK_NULL_HANDLE;  // an implementation may leave garbage there on failure
      throw PipelineCreationFailed(
          fmt::format("kernel {}: the compute pipeline could not be created: vkCreateComputePipelines failed: "
                      "{} ({}); the driver could not compile this shader variant (another precision, "
                      "layout or conv algorithm uses other variants)",
                      spec.label(), to_string(created), static_cast<int>(created)),
          created);
    }
    device.set_debug_name(VK_OBJECT_TYPE_PIPELINE, reinterpret_cast<std::uint64_t>(pipeline_),
                          spec.label());
    device.set_debug_name(VK_OBJECT_TYPE_SHADER_MODULE, reinterpret_cast<std::uint64_t>(module_),
                          spec.shader);
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

Kernel::~Kernel() { release(); }

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
