// Recorder: records dispatches into command buffers, inserting buffer memory barriers only
// where a dispatch touches memory an earlier one wrote (or writes memory an earlier one read),
// brackets each dispatch with timestamp queries, and submits with a fence. A recording can be
// submitted again and again (record once, replay) — each submit refreshes the timings.
//
// A recording may be cut into segments (one per graph node, say): submitting a range of
// segments steps through the recording. Barriers are tracked across segment boundaries, and a
// pipeline barrier orders against everything submitted before it on the queue, so stepping
// and running whole give the same results.
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

// What one recorded dispatch runs, as the shader sandbox shows it: the kernel (its spec: shader
// variant, specialization constants, override), the push-constant bytes and the grid.
struct DispatchRecord {
  std::string label;
  KernelSpec spec;
  std::vector<std::uint32_t> push_constants;  // the block as 32-bit words
  Groups groups;
};

class Recorder {
 public:
  // record: commands into command buffers. dry_run: checks each dispatch's arguments and
  // records nothing (no Vulkan objects at all) — an encoder run through it asks the device for
  // every kernel a recording will need, so their pipelines build side by side before the
  // real recording waits for the first one.
  enum class Mode { record, dry_run };
  explicit Recorder(Device& device, std::string label = "fusescope", Mode mode = Mode::record);
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

  // Starts a new segment; the dispatches recorded from here on belong to it.
  void begin_segment();
  std::size_t segment_count() const { return segments_.size(); }
  std::size_t segment_of_dispatch(std::size_t dispatch) const;

  // Ends recording (if still open), submits every segment, waits, reads the timestamps.
  void submit_and_wait();
  // Submits segments [first, end) only, in order.
  void submit_and_wait(std::size_t first_segment, std::size_t end_segment);

  std::size_t dispatch_count() const { return dispatch_labels_.size(); }
  std::size_t barrier_count() const { return barrier_count_; }
  // GPU time of each dispatch, from the last submit that ran it (empty when the queue has no
  // timestamps; zero for dispatches never submitted).
  const std::vector<DispatchTiming>& timings() const { return timings_; }
  // Every dispatch recorded, in order (dry runs included).
  const std::vector<DispatchRecord>& dispatches() const { return dispatches_; }

 private:
  struct Range {
    VkBuffer buffer;
    std::uint64_t offset, size;
  };
  void before_access(std::span<const Binding> bindings, VkPipelineStageFlags dst_stage);
  void after_access(std::span<const Binding> bindings);
  VkDescriptorSet allocate_set(const Kernel& kernel);

  struct Segment {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    std::size_t first_dispatch = 0, end_dispatch = 0;
  };
  VkCommandBuffer new_command_buffer();
  void release();
  void end_recording();

  Device& device_;
  std::string label_;
  std::vector<Segment> segments_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;      // the open segment's command buffer
  VkCommandBuffer reset_cmd_ = VK_NULL_HANDLE;  // resets the query pool before each submit
  VkCommandPool command_pool_ = VK_NULL_HANDLE;  // its own: recorders run on worker threads
  VkFence fence_ = VK_NULL_HANDLE;
  bool in_flight_ = false;  // submitted, fence not yet waited on
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::uint32_t query_capacity_ = 0;
  std::vector<VkBufferView> buffer_views_;  // texel-buffer bindings' views
  std::vector<VkDescriptorPool> pools_;
  std::uint32_t sets_in_current_pool_ = 0;
  bool recording_ = true;
  bool dry_run_ = false;
  std::vector<Range> pending_writes_;  // written since the last barrier
  std::vector<Range> pending_reads_;   // read since the last barrier
  std::size_t barrier_count_ = 0;
  std::vector<std::string> dispatch_labels_;
  std::vector<DispatchTiming> timings_;
  std::vector<DispatchRecord> dispatches_;
};

}  // namespace fusescope::gpu
