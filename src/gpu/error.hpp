// Errors raised by the GPU layer. Each says which call failed and why, in words a user can act on.
#pragma once
#include <vulkan/vulkan.h>

#include <stdexcept>
#include <string>

namespace fusescope::gpu {

// A Vulkan call returned an error code.
class VulkanError : public std::runtime_error {
 public:
  VulkanError(const std::string& call, VkResult result);
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

// The GPU reset, the driver crashed, or a fault was injected (gpu/fault_injection.hpp): the
// device and everything made on it are unusable; only a new Device works again.
class DeviceLost : public VulkanError {
 public:
  using VulkanError::VulkanError;
};

// The device (or host) ran out of memory for a request; the message names the request and size.
class OutOfDeviceMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The device cannot run this work as asked: a limit of the driver (not of the input) would make
// a kernel wrong or impossible. The message names the kernel, the limit and what exceeded it.
class DeviceLimit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A compute pipeline could not be created: the driver's shader compiler failed (or a fault was
// injected, gpu/fault_injection.hpp). The message names the kernel (shader and specialization);
// the executor adds the node that needed it. Nothing else is lost: the device, and every
// pipeline made before, still work, so whoever asked can keep what it had.
class PipelineCreationFailed : public std::runtime_error {
 public:
  PipelineCreationFailed(const std::string& message, VkResult result)
      : std::runtime_error(message), result_(result) {}
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

// A shader override (gpu/shader_override.hpp) declares descriptors or push constants that do
// not fit the pipeline layout of the built-in kernel it would replace. The message names the
// file, the kernel and each binding, expected vs found; the executor adds the node. Nothing was
// replaced.
class KernelInterfaceMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// No usable Vulkan driver or device is present.
class NoVulkanDevice : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const char* to_string(VkResult result);

// Throws VulkanError (or OutOfDeviceMemory for the OOM codes) unless result is VK_SUCCESS.
void check(VkResult result, const char* call);

}  // namespace fusescope::gpu
