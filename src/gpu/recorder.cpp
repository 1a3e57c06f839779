#include "gpu/recorder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "gpu/device.hpp"
#include "gpu/error.hpp"

namespace fusescope::gpu {

namespace {

constexpr std::uint32_t kSetsPerPool = 256;
constexpr std::uint32_t kMaxBuffersPerSet = 8;
constexpr std::uint32_t kMaxTimedDispatches = 4096;

bool overlaps(VkBuffer buffer, std::uint64_t offset, std::uint64_t size, VkBuffer other_buffer,
              std::uint64_t other_offset, std::uint64_t other_size) {
  return buffer == other_buffer && offset < other_offset + other_size &&
         other_offset < offset + size;
}

}  // namespace

Groups groups_for(std::uint64_t invocations, std::uint32_t local_size, const Device& device) {
  const std::uint64_t groups = (invocations + local_size - 1) / local_size;
  const std::uint64_t max_x = device.info().max_workgroup_count[0];
  const std::uint64_t max_y = device.info().max_workgroup_count[1];
  if (groups <= max_x) return {static_cast<std::uint32_t>(std::max<std::uint64_t>(groups, 1)), 1, 1};
  const std::uint64_t y = (groups + max_x - 1) / max_x;
  if (y > max_y) {
    throw std::invalid_argument(fmt::format(
        "{} invocations exceed the device's dispatch limits ({} x {} workgroups of {})",
        invocations, max_x, max_y, local_size));
  }
  return {static_cast<std::uint32_t>(max_x), static_cast<std::uint32_t>(y), 1};
}

Recorder::Recorder(Device& device, std::string label) : device_(device), label_(std::move(label)) {
  VkDevice dev = device.handle();
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = device.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(dev, &ai, &cmd_), "vkAllocateCommandBuffers");
  device.set_debug_name(VK_OBJECT_TYPE_COMMAND_BUFFER, reinterpret_cast<std::uint64_t>(cmd_), label_);

  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkResult r = vkCreateFence(dev, &fi, nullptr, &fence_);
  if (r != VK_SUCCESS) {
    vkFreeCommandBuffers(dev, device.command_pool(), 1, &cmd_);
    check(r, "vkCreateFence");
  }
  if (device.info().timestamps) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = 2 * kMaxTimedDispatches;
    if (vkCreateQueryPool(dev, &qi, nullptr, &queries_) == VK_SUCCESS)
      query_capacity_ = qi.queryCount;
  }
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  if (queries_) vkCmdResetQueryPool(cmd_, queries_, 0, query_capacity_);
}

Recorder::~Recorder() {
  VkDevice dev = device_.handle();
  // A recorder destroyed mid-flight (an exception elsewhere) must not free live objects.
  vkQueueWaitIdle(device_.queue());
  for (VkDescriptorPool pool : pools_) vkDestroyDescriptorPool(dev, pool, nullptr);
  if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
  if (fence_) vkDestroyFence(dev, fence_, nullptr);
  if (cmd_) vkFreeCommandBuffers(dev, device_.command_pool(), 1, &cmd_);
}

VkDescriptorSet Recorder::allocate_set(const Kernel& kernel) {
  if (pools_.empty() || sets_in_current_pool_ == kSetsPerPool) {
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBuffersPerSet};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = kSetsPerPool;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    check(vkCreateDescriptorPool(device_.handle(), &pi, nullptr, &pool), "vkCreateDescriptorPool");
    pools_.push_back(pool);
    sets_in_current_pool_ = 0;
  }
  VkDescriptorSetLayout layout = kernel.set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pools_.back();
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  check(vkAllocateDescriptorSets(device_.handle(), &ai, &set), "vkAllocateDescriptorSets");
  ++sets_in_current_pool_;
  return set;
}

void Recorder::before_access(std::span<const Binding> bindings, VkPipelineStageFlags dst_stage) {
  bool hazard = false;
  for (const Binding& b : bindings) {
    const BufferView& buf = b.buffer;
    for (const Range& w : pending_writes_) {  // read-after-write and write-after-write
      if (overlaps(buf.handle, buf.offset, buf.size, w.buffer, w.offset, w.size)) hazard = true;
    }
    if (b.access != Access::read) {
      for (const Range& r : pending_reads_) {  // write-after-read
        if (overlaps(buf.handle, buf.offset, buf.size, r.buffer, r.offset, r.size))
          hazard = true;
      }
    }
  }
  if (!hazard) return;
  std::vector<VkBufferMemoryBarrier> barriers;
  for (const Range& w : pending_writes_) {
    VkBufferMemoryBarrier mb{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = dst_stage == VK_PIPELINE_STAGE_TRANSFER_BIT
                           ? VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT
                           : VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    mb.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    mb.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    mb.buffer = w.buffer;
    mb.offset = w.offset;
    mb.size = w.size;
    barriers.push_back(mb);
  }
  // Write-after-read needs only an execution dependency, which the stage masks give.
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       dst_stage, 0, 0, nullptr, static_cast<std::uint32_t>(barriers.size()),
                       barriers.data(), 0, nullptr);
  ++barrier_count_;
  pending_writes_.clear();
  pending_reads_.clear();
}

void Recorder::after_access(std::span<const Binding> bindings) {
  for (const Binding& b : bindings) {
    Range r{b.buffer.handle, b.buffer.offset, b.buffer.size};
    if (b.access == Access::read) {
      pending_reads_.push_back(r);
    } else {
      pending_writes_.push_back(r);
      if (b.access == Access::read_write) pending_reads_.push_back(r);
    }
  }
}

void Recorder::dispatch(const Kernel& kernel, std::span<const Binding> bindings,
                        std::span<const std::byte> push_constants, Groups groups,
                        std::string label) {
  if (!recording_) throw std::logic_error("Recorder::dispatch after submit: record a new Recorder");
  const KernelSpec& spec = kernel.spec();
  if (bindings.size() != spec.buffer_count) {
    throw std::logic_error(fmt::format("{}: {} buffers bound, kernel {} expects {}", label,
                                       bindings.size(), spec.shader, spec.buffer_count));
  }
  if (push_constants.size() != spec.push_constant_bytes) {
    throw std::logic_error(fmt::format("{}: {} bytes of push constants, kernel {} expects {}",
                                       label, push_constants.size(), spec.shader,
                                       spec.push_constant_bytes));
  }
  if (bindings.size() > kMaxBuffersPerSet) {
    throw std::logic_error(fmt::format("{}: more than {} buffers", label, kMaxBuffersPerSet));
  }
  for (const Binding& b : bindings) {
    if (!b.buffer.valid())
      throw std::logic_error(fmt::format("{}: an unallocated buffer is bound", label));
  }

  VkDescriptorSet set = allocate_set(kernel);
  std::vector<VkDescriptorBufferInfo> infos(bindings.size());
  std::vector<VkWriteDescriptorSet> writes(bindings.size());
  for (std::size_t i = 0; i < bindings.size(); ++i) {
    infos[i] = {bindings[i].buffer.handle, bindings[i].buffer.offset, bindings[i].buffer.size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<std::uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_.handle(), static_cast<std::uint32_t>(writes.size()), writes.data(),
                         0, nullptr);

  before_access(bindings, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  const std::uint32_t index = static_cast<std::uint32_t>(dispatch_labels_.size());
  const bool timed = queries_ && 2 * index + 1 < query_capacity_;
  device_.begin_label(cmd_, label);
  if (timed) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 2 * index);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline());
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout(), 0, 1, &set, 0,
                          nullptr);
  if (!push_constants.empty()) {
    vkCmdPushConstants(cmd_, kernel.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<std::uint32_t>(push_constants.size()), push_constants.data());
  }
  vkCmdDispatch(cmd_, groups.x, groups.y, groups.z);
  if (timed) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 2 * index + 1);
  device_.end_label(cmd_);
  after_access(bindings);
  dispatch_labels_.push_back(std::move(label));
}

void Recorder::fill(const BufferView& buffer, std::uint32_t word) {
  if (!recording_) throw std::logic_error("Recorder::fill after submit");
  Binding b{buffer, Access::write};
  before_access({&b, 1}, VK_PIPELINE_STAGE_TRANSFER_BIT);
  // vkCmdFillBuffer needs a size that is a multiple of 4: fill whole words only.
  vkCmdFillBuffer(cmd_, buffer.handle, buffer.offset, buffer.size / 4 * 4, word);
  after_access({&b, 1});
}

void Recorder::submit_and_wait() {
  VkDevice dev = device_.handle();
  if (recording_) {
    check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    recording_ = false;
  }
  check(vkResetFences(dev, 1, &fence_), "vkResetFences");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  check(vkQueueSubmit(device_.queue(), 1, &si, fence_), fmt::format("vkQueueSubmit ({})", label_).c_str());
  check(vkWaitForFences(dev, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");

  timings_.clear();
  if (!queries_) return;
  const std::uint32_t timed = static_cast<std::uint32_t>(
      std::min<std::size_t>(dispatch_labels_.size(), query_capacity_ / 2));
  if (timed == 0) return;
  std::vector<std::uint64_t> ticks(2 * timed);
  check(vkGetQueryPoolResults(dev, queries_, 0, 2 * timed, ticks.size() * sizeof(std::uint64_t),
                              ticks.data(), sizeof(std::uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  const double ns_per_tick = device_.info().timestamp_period_ns;
  for (std::uint32_t i = 0; i < timed; ++i) {
    const std::uint64_t t0 = ticks[2 * i], t1 = ticks[2 * i + 1];
    timings_.push_back({dispatch_labels_[i], t1 >= t0 ? (t1 - t0) * ns_per_tick * 1e-6 : 0.0});
  }
}

}  // namespace fusescope::gpu
