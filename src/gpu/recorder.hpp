// Recorder: records dispatches into one command buffer, inserting buffer memory barriers only
// where a dispatch touches memory an earlier one wrote (or reads memory a later one writes),
// brackets each dispatch with timestamp queries, and submits with a fence. A recording can be
// submitted again and again (record once, replay) — each submit refreshes the timings.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpu/buffer.hpp"
#include "gpu/kernel.hpp"

namespace fusescope::gpu {

class Device;

enum class Access { read, write, read_write };

struct Binding {
  BufferView buffer;
  Access access;
};

struct Groups {
  std::uint32_t x = 1, y = 1, z = 1;
};

// Workgroups for `invocations` threads in groups of `local_size`, folded into y when x would
// exceed the device's limit. Shaders recover the flat index with flat_invocation_index().
Groups groups_for(std::uint64_t invocations, std::uint32_t local_size, const Device& device);

struct DispatchTiming {
  std::string label;
  double gpu_ms = 0;
};

class Recorder {
 public:
  explicit Recorder(Device& device, std::string label = "fusescope");
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void dispatch(const Kernel& kernel, std::span<const Binding> bindings,
                std::span<const std::byte> push_constants, Groups groups, std::string label);

  template <class Push>
  void dispatch(const Kernel& kernel, std::initializer_list<Binding> bindings, const Push& push,
                Groups groups, std::string label) {
    dispatch(kernel, std::span<const Binding>(bindings.begin(), bindings.size()),
             std::as_bytes(std::span<const Push>(&push, 1)), groups, std::move(label));
  }

  // Fill a buffer with a repeated 32-bit word (e.g. a NaN pattern to poison outputs).
  void fill(const BufferView& buffer, std::uint32_t word);

  // Ends recording (if still open), submits, waits for the fence, reads the timestamps.
  void submit_and_wait();

  std::size_t dispatch_count() const { return dispatch_labels_.size(); }
  std::size_t barrier_count() const { return barrier_count_; }
  // GPU time of each dispatch from the last submit (empty when the queue has no timestamps).
  const std::vector<DispatchTiming>& timings() const { return timings_; }

 private:
  struct Range {
    VkBuffer buffer;
    std::uint64_t offset, size;
  };
  void before_access(std::span<const Binding> bindings, VkPipelineStageFlags dst_stage);
  void after_access(std::span<const Binding> bindings);
  VkDescriptorSet allocate_set(const Kernel& kernel);

  Device& device_;
  std::string label_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::uint32_t query_capacity_ = 0;
  std::vector<VkDescriptorPool> pools_;
  std::uint32_t sets_in_current_pool_ = 0;
  bool recording_ = true;
  std::vector<Range> pending_writes_;  // written since the last barrier
  std::vector<Range> pending_reads_;   // read since the last barrier
  std::size_t barrier_count_ = 0;
  std::vector<std::string> dispatch_labels_;
  std::vector<DispatchTiming> timings_;
};

}  // namespace fusescope::gpu
