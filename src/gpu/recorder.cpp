#include "gpu/recorder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
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

Recorder::Recorder(Device& device, std::string label, Mode mode)
    : device_(device), label_(std::move(label)), dry_run_(mode == Mode::dry_run) {
  if (dry_run_) return;
  VkDevice dev = device.handle();
  // Its own command pool: a recorder records on whatever thread runs it (a worker in the
  // window), and a pool may not be used from two threads at once.
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.queueFamilyIndex = device.queue_family();
  check(vkCreateCommandPool(dev, &pi, nullptr, &command_pool_), "vkCreateCommandPool");
  try {
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(dev, &fi, nullptr, &fence_), "vkCreateFence");
    if (device.info().timestamps) {
      VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qi.queryCount = 2 * kMaxTimedDispatches;
      if (vkCreateQueryPool(dev, &qi, nullptr, &queries_) == VK_SUCCESS) {
        query_capacity_ = qi.queryCount;
        // Queries must be reset before they are written again: a tiny command buffer does it
        // at the head of every submit, so replaying (or stepping) reuses the same queries.
        reset_cmd_ = new_command_buffer();
        vkCmdResetQueryPool(reset_cmd_, queries_, 0, query_capacity_);
        check(vkEndCommandBuffer(reset_cmd_), "vkEndCommandBuffer");
      }
    }
    cmd_ = new_command_buffer();
    segments_.push_back({cmd_, 0, 0});
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

Recorder::~Recorder() { release(); }

void Recorder::release() {
  VkDevice dev = device_.handle();
  if (dev == VK_NULL_HANDLE) return;
  // A recorder destroyed mid-flight (an exception elsewhere) must not free live objects. Its own
  // fence says when its work is done; waiting on the whole queue would also wait on (and, for
  // vkQueueWaitIdle, lock out) another thread's submits.
  if (in_flight_ && fence_) vkWaitForFences(dev, 1, &fence_, VK_TRUE, UINT64_MAX);
  in_flight_ = false;
  for (VkBufferView view : buffer_views_) vkDestroyBufferView(dev, view, nullptr);
  buffer_views_.clear();
  for (VkDescriptorPool pool : pools_) vkDestroyDescriptorPool(dev, pool, nullptr);
  pools_.clear();
  if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
  queries_ = VK_NULL_HANDLE;
  if (fence_) vkDestroyFence(dev, fence_, nullptr);
  fence_ = VK_NULL_HANDLE;
  segments_.clear();  // their command buffers go with the pool
  reset_cmd_ = VK_NULL_HANDLE;
  cmd_ = VK_NULL_HANDLE;
  if (command_pool_) vkDestroyCommandPool(dev, command_pool_, nullptr);
  command_pool_ = VK_NULL_HANDLE;
}

VkCommandBuffer Recorder::new_command_buffer() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = command_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(device_.handle(), &ai, &cmd), "vkAllocateCommandBuffers");
  device_.set_debug_name(VK_OBJECT_TYPE_COMMAND_BUFFER, reinterpret_cast<std::uint64_t>(cmd), label_);
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  VkResult r = vkBeginCommandBuffer(cmd, &bi);
  if (r != VK_SUCCESS) {
    vkFreeCommandBuffers(device_.handle(), command_pool_, 1, &cmd);
    check(r, "vkBeginCommandBuffer");
  }
  return cmd;
}

void Recorder::begin_segment() {
  if (!recording_) throw std::logic_error("Recorder::begin_segment after submit");
  if (dry_run_) return;
  if (segments_.back().first_dispatch == dispatch_labels_.size()) return;  // still empty
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  cmd_ = new_command_buffer();
  segments_.push_back({cmd_, dispatch_labels_.size(), dispatch_labels_.size()});
}

std::size_t Recorder::segment_of_dispatch(std::size_t dispatch) const {
  for (std::size_t s = 0; s < segments_.size(); ++s)
    if (dispatch < segments_[s].end_dispatch) return s;
  throw std::out_of_range("Recorder::segment_of_dispatch: no such dispatch");
}

void Recorder::end_recording() {
  if (!recording_) return;
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  recording_ = false;
}

VkDescriptorSet Recorder::allocate_set(const Kernel& kernel) {
  if (pools_.empty() || sets_in_current_pool_ == kSetsPerPool) {
    const VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBuffersPerSet},
                                          {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kSetsPerPool * kMaxBuffersPerSet}};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = kSetsPerPool;
    pi.poolSizeCount = 2;
    pi.pPoolSizes = sizes;
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
  {
    DispatchRecord r{label, spec, std::vector<std::uint32_t>((push_constants.size() + 3) / 4, 0u), groups};
    std::memcpy(r.push_constants.data(), push_constants.data(), push_constants.size());
    dispatches_.push_back(std::move(r));
  }
  if (dry_run_) return;

  VkDescriptorSet set = allocate_set(kernel);
  std::vector<VkDescriptorBufferInfo> infos(bindings.size());
  std::vector<VkWriteDescriptorSet> writes(bindings.size());
  std::vector<VkBufferView> views(bindings.size(), VK_NULL_HANDLE);
  for (std::size_t i = 0; i < bindings.size(); ++i) {
    infos[i] = {bindings[i].buffer.handle, bindings[i].buffer.offset, bindings[i].buffer.size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<std::uint32_t>(i);
    writes[i].descriptorCount = 1;
    if ((spec.texel_buffers >> i) & 1u) {
      // The view lives as long as the recording that reads it (released with the pools).
      VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
      vi.buffer = bindings[i].buffer.handle;
      vi.format = spec.texel_format;
      vi.offset = bindings[i].buffer.offset;
      vi.range = bindings[i].buffer.size;
      check(vkCreateBufferView(device_.handle(), &vi, nullptr, &views[i]), "vkCreateBufferView");
      buffer_views_.push_back(views[i]);
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &views[i];
    } else {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &infos[i];
    }
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
  segments_.back().end_dispatch = dispatch_labels_.size();
}

void Recorder::fill(const BufferView& buffer, std::uint32_t word) {
  if (!recording_) throw std::logic_error("Recorder::fill after submit");
  if (dry_run_) return;
  Binding b{buffer, Access::write};
  before_access({&b, 1}, VK_PIPELINE_STAGE_TRANSFER_BIT);
  // vkCmdFillBuffer needs a size that is a multiple of 4: fill whole words only.
  vkCmdFillBuffer(cmd_, buffer.handle, buffer.offset, buffer.size / 4 * 4, word);
  after_access({&b, 1});
}

void Recorder::submit_and_wait() { submit_and_wait(0, segments_.size()); }

void Recorder::submit_and_wait(std::size_t first, std::size_t end) {
  if (dry_run_) throw std::logic_error(fmt::format("{}: a dry run records nothing to submit", label_));
  if (first > end || end > segments_.size()) {
    throw std::out_of_range(fmt::format("{}: segments [{}, {}) of {}", label_, first, end, segments_.size()));
  }
  end_recording();
  VkDevice dev = device_.handle();
  std::vector<VkCommandBuffer> cmds;
  if (reset_cmd_) cmds.push_back(reset_cmd_);
  for (std::size_t s = first; s < end; ++s) cmds.push_back(segments_[s].cmd);
  check(vkResetFences(dev, 1, &fence_), "vkResetFences");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = static_cast<std::uint32_t>(cmds.size());
  si.pCommandBuffers = cmds.data();
  device_.queue_submit(si, fence_, fmt::format("vkQueueSubmit ({})", label_));
  in_flight_ = true;
  check(vkWaitForFences(dev, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  in_flight_ = false;

  if (!queries_) return;
  timings_.resize(dispatch_labels_.size());
  const std::size_t timed = std::min<std::size_t>(dispatch_labels_.size(), query_capacity_ / 2);
  const std::size_t d0 = first < end ? segments_[first].first_dispatch : 0;
  const std::size_t d1 = std::min(first < end ? segments_[end - 1].end_dispatch : 0, timed);
  for (std::size_t i = 0; i < timings_.size(); ++i) timings_[i].label = dispatch_labels_[i];
  if (d1 <= d0) return;
  std::vector<std::uint64_t> ticks(2 * (d1 - d0));
  check(vkGetQueryPoolResults(dev, queries_, static_cast<std::uint32_t>(2 * d0),
                              static_cast<std::uint32_t>(ticks.size()),
                              ticks.size() * sizeof(std::uint64_t), ticks.data(),
                              sizeof(std::uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  const double ns_per_tick = device_.info().timestamp_period_ns;
  for (std::size_t i = d0; i < d1; ++i) {
    const std::uint64_t t0 = ticks[2 * (i - d0)], t1 = ticks[2 * (i - d0) + 1];
    timings_[i].gpu_ms = t1 >= t0 ? static_cast<double>(t1 - t0) * ns_per_tick * 1e-6 : 0.0;
  }
}

}  // namespace fusescope::gpu
