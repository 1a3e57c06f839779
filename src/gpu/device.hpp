// Device: one Vulkan instance + physical device + logical device + compute queue, with the
// validation layer's messages captured, debug names, a buffer arena and the kernel cache.
// It is the first of the GPU layer's four nouns (Device, Buffer, Kernel, Recorder).
//
// Threads. Compute (Recorder, submit_and_wait, upload/download) and the window's renderer
// (submit + present) share the one VkQueue from different threads, and a VkQueue is externally
// synchronised. The rule: every vkQueueSubmit, vkQueueWaitIdle and vkQueuePresentKHR in the code
// base runs under `lock_queue()`, held for that call only, never while waiting on a fence (a long
// compute run must not hold up the UI thread's submit, nor a frame a compute submit). Command
// pools are externally synchronised too: Device's own pool (submit_and_wait) is guarded by an
// internal mutex, each Recorder owns its pool, and the renderer owns its pool. The kernel cache
// and the buffer arena have their own locks: several workers may record at once.
#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpu/buffer.hpp"
#include "gpu/kernel.hpp"

namespace fusescope::gpu {

class WorkerPool;  // gpu/worker_pool.hpp: private (not installed), held through a pointer

struct MemoryHeapInfo {
  std::uint64_t bytes = 0;
  bool device_local = false;
};

// What `fusescope devices` shows, and what kernels consult to choose variants.
struct DeviceInfo {
  std::uint32_t index = 0;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name;
  std::string driver_info;
  std::uint32_t api_version = 0;
  std::uint32_t vendor_id = 0;
  std::uint32_t device_id = 0;
  bool fp16_arithmetic = false;   // shaderFloat16
  bool storage_16bit = false;     // storageBuffer16BitAccess
  std::uint32_t subgroup_size = 0;
  bool subgroup_shuffle = false;  // subgroupShuffle in compute shaders (conv2d_subgroup.comp)
  bool timestamps = false;        // compute queue has timestampValidBits > 0
  double timestamp_period_ns = 0; // nanoseconds per timestamp tick
  std::uint64_t max_storage_buffer_range = 0;
  std::uint64_t min_storage_buffer_offset_alignment = 0;
  std::uint64_t max_texel_buffer_elements = 0;
  std::uint64_t min_texel_buffer_offset_alignment = 0;
  std::uint32_t max_workgroup_count[3] = {0, 0, 0};
  std::uint32_t max_workgroup_invocations = 0;
  std::uint32_t max_push_constants_size = 0;
  // Loop iterations one shader invocation may run in all, 0 for no limit. llvmpipe/lavapipe
  // (gallivm) ends every loop of an invocation once a counter shared by all of its loops,
  // started at 65535, runs out, silently: a longer reduction returns a partial sum. Kernels
  // whose loop count grows with a shape check it (ops/encode_util.hpp: require_loop_budget).
  std::uint64_t loop_iteration_limit = 0;
  std::vector<MemoryHeapInfo> heaps;
};

const char* device_type_name(VkPhysicalDeviceType type);
std::string api_version_string(std::uint32_t version);

// The Vulkan API version the installed loader implements (vkEnumerateInstanceVersion): what
// `fusescope --version` reports, and needs no driver, so it works where `devices` cannot.
std::uint32_t loader_api_version();

struct DeviceOptions {
  // Which physical device; unset: $FUSESCOPE_DEVICE, else discrete > integrated > virtual > CPU.
  std::optional<std::uint32_t> index;
  // Khronos validation layer on, synchronization validation included (hazards between dispatches,
  // copies and the host); its errors and warnings are captured (see validation_messages).
  bool validation = false;
  // Load/save a VkPipelineCache under the user's cache directory.
  bool pipeline_cache = true;
  // Threads that build compute pipelines; 0: $FUSESCOPE_PIPELINE_THREADS, else one per core
  // (at most 8). With 1, one worker builds them in order while the recording thread builds any
  // pipeline it reaches that the worker has not started, so up to two at once.
  std::size_t pipeline_threads = 0;
  // Extra instance extensions (a window: what glfwGetRequiredInstanceExtensions returns).
  std::vector<std::string> instance_extensions;
  // Set by a window: whether (instance, physical device, queue family) can present. Then the
  // device takes a GRAPHICS|COMPUTE family the callback accepts, skips physical devices without
  // one, and enables VK_KHR_swapchain. Unset (the CLI): a compute family, no swapchain.
  std::function<bool(VkInstance, VkPhysicalDevice, std::uint32_t queue_family)> present_support;
  // Fault injection: device memory fusescope may reserve, as if the GPU had no more. Unset:
  // $FUSESCOPE_FAULT_DEVICE_MEMORY, else only the device's own heaps (gpu/fault_injection.hpp).
  std::optional<std::uint64_t> memory_cap;
};

class Device {
 public:
  explicit Device(const DeviceOptions& options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Every physical device of every installed driver, in Vulkan's order.
  // Throws NoVulkanDevice with the package to install when there is none.
  static std::vector<DeviceInfo> enumerate();

  const DeviceInfo& info() const { return info_; }
  bool validation_enabled() const { return validation_; }

  // Validation-layer errors and warnings seen since the last clear (empty without validation).
  std::vector<std::string> validation_messages() const;
  void clear_validation_messages();
  // Messages the layer gave while a device was being destroyed, in this process so far. The
  // layer reports what was never destroyed (a leaked buffer, fence, pipeline) at vkDestroyDevice
  // and vkDestroyInstance, when no caller can ask validation_messages() any more: the destructor
  // prints each to stderr as it comes and counts it; this returns the count since the last call
  // and starts it again at 0, so a program (the CLI's main, the test suites') can fail at exit.
  static std::size_t take_validation_messages_at_teardown();

  // Storage buffer on device memory, sub-allocated from a few large blocks.
  Buffer allocate(std::uint64_t bytes, const std::string& name);
  void upload(const BufferView& dst, std::span<const std::byte> bytes);
  void download(const BufferView& src, std::span<std::byte> bytes);

  // A compute pipeline for spec, cached for the device's lifetime. A new one is handed out at
  // once and built on the device's worker threads (see Kernel): ask for every kernel first
  // (an encoder run through a dry-run Recorder) and their pipelines build side by side;
  // Kernel::pipeline() waits for its own. One whose build failed stays (every dispatch of it
  // reports the failure) until forget_failed_kernels().
  const Kernel& kernel(const KernelSpec& spec);
  // Kernels whose pipeline failed to build are made anew when next asked for: an executor calls
  // it before it records, so a retry (the window reloading a model) asks the driver again.
  void forget_failed_kernels();

  // What building pipelines has cost so far, for load-time reports.
  struct PipelineStats {
    std::size_t built = 0;     // pipelines built (or failed) since the device was made
    double driver_ms = 0;      // their vkCreateComputePipelines time, summed over threads
    std::size_t threads = 0;   // worker threads building them
  };
  PipelineStats pipeline_stats() const;

  // A tiny buffer bound to descriptor slots a kernel variant does not read.
  BufferView placeholder_buffer();

  // Give a Vulkan object a name that debuggers (RenderDoc, validation messages) show.
  void set_debug_name(VkObjectType type, std::uint64_t handle, const std::string& name) const;

  // Label a span of commands (one dispatch) so RenderDoc-style tools show the kernel's name.
  void begin_label(VkCommandBuffer cmd, const std::string& label) const;
  void end_label(VkCommandBuffer cmd) const;

  // Record into a fresh command buffer, submit, wait.
  void submit_and_wait(const std::function<void(VkCommandBuffer)>& record);

  // Every vkQueueSubmit in the code base: under lock_queue(), and where a lost device (or an
  // injected loss, gpu/fault_injection.hpp) is noticed. Throws DeviceLost, OutOfDeviceMemory or
  // VulkanError naming `what`. A submission the device refuses as lost still signals its fence
  // and semaphores (an empty batch in its place), so nobody waits forever on a fake loss.
  void queue_submit(const VkSubmitInfo& submit, VkFence fence, const std::string& what);

  // Fault injection: the next queue_submit fails with VK_ERROR_DEVICE_LOST, and so does every
  // later one (a lost device stays lost).
  void lose_at_next_submit() { lose_next_ = true; }
  // Fault injection: the next compute pipeline made on this device fails (PipelineCreationFailed),
  // only that one. take_pipeline_fault() is Kernel's question: this one, or
  // FUSESCOPE_FAULT_PIPELINE_CREATE's count, says this creation fails.
  void fail_next_pipeline_create() { fail_next_pipeline_ = true; }
  bool take_pipeline_fault();
  // A submission returned VK_ERROR_DEVICE_LOST: only a new Device works again.
  bool lost() const { return lost_; }
  // Some other call (a fence wait) returned VK_ERROR_DEVICE_LOST: say so to whoever checks lost().
  void mark_lost() { lost_ = true; }

  // Device memory the arena may reserve: the fault-injection cap, or unlimited (UINT64_MAX).
  std::uint64_t memory_cap() const { return memory_cap_; }

  // The queue's lock: hold it around each vkQueueSubmit / vkQueueWaitIdle / vkQueuePresentKHR
  // call and nothing longer (see the threads note at the top of this file).
  std::unique_lock<std::mutex> lock_queue() { return std::unique_lock<std::mutex>(queue_mutex_); }

  // True when the device was made for presenting (DeviceOptions::present_support set).
  bool can_present() const { return present_; }

  VkInstance instance() const { return instance_; }
  VkDevice handle() const { return device_; }
  VkPhysicalDevice physical() const { return physical_; }
  VkQueue queue() const { return queue_; }
  std::uint32_t queue_family() const { return queue_family_; }
  VkPipelineCache pipeline_cache() const { return pipeline_cache_; }

  // Host-visible staging memory for transfers (used by upload/download and Recorder).
  struct Staging {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void* mapped = nullptr;
  };
  Staging create_staging(std::uint64_t bytes);
  void destroy_staging(Staging& staging);

 private:
  void create_instance(bool validation, const std::vector<std::string>& extra_extensions);
  void pick_physical_device(const DeviceOptions& options);
  void create_logical_device();
  void load_pipeline_cache();
  void save_pipeline_cache();
  void release();

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  bool validation_ = false;
  bool debug_utils_ = false;
  bool use_pipeline_cache_ = true;
  bool present_ = false;
  std::size_t pipeline_threads_ = 0;  // 0: one per core
  std::atomic<bool> lose_next_{false};
  std::atomic<bool> fail_next_pipeline_{false};
  std::atomic<bool> lost_{false};
  std::uint64_t memory_cap_ = UINT64_MAX;
  DeviceInfo info_;
  PFN_vkSetDebugUtilsObjectNameEXT set_object_name_ = nullptr;
  PFN_vkCmdBeginDebugUtilsLabelEXT begin_label_ = nullptr;
  PFN_vkCmdEndDebugUtilsLabelEXT end_label_ = nullptr;

  std::mutex queue_mutex_;         // lock_queue()
  std::mutex command_pool_mutex_;  // command_pool_: submit_and_wait from any thread
  mutable std::mutex kernels_mutex_;  // kernels_ and placeholder_: recorders on several threads
  mutable std::mutex messages_mutex_;
  std::vector<std::string> messages_;

  std::unique_ptr<MemoryArena> arena_;
  std::map<KernelSpec, std::unique_ptr<Kernel>> kernels_;
  // Kernels whose build failed and were replaced: kept (not destroyed) while a recorder on
  // another thread may still hold them.
  std::vector<std::unique_ptr<Kernel>> failed_kernels_;
  // Builds pipelines (Kernel::build); made on first use, gone before the kernels are.
  std::unique_ptr<WorkerPool> pipeline_builders_;
  std::optional<Buffer> placeholder_;

  friend VkBool32 VKAPI_PTR debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                           VkDebugUtilsMessageTypeFlagsEXT,
                                           const VkDebugUtilsMessengerCallbackDataEXT*, void*);
};

}  // namespace fusescope::gpu
