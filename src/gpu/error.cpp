#include "gpu/error.hpp"

#include <fmt/format.h>

namespace fusescope::gpu {

const char* to_string(VkResult r) {
  switch (r) {
#define FUSESCOPE_CASE(x) \
  case x:                 \
    return #x;
    FUSESCOPE_CASE(VK_SUCCESS)
    FUSESCOPE_CASE(VK_NOT_READY)
    FUSESCOPE_CASE(VK_TIMEOUT)
    FUSESCOPE_CASE(VK_INCOMPLETE)
    FUSESCOPE_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    FUSESCOPE_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    FUSESCOPE_CASE(VK_ERROR_INITIALIZATION_FAILED)
    FUSESCOPE_CASE(VK_ERROR_DEVICE_LOST)
    FUSESCOPE_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    FUSESCOPE_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    FUSESCOPE_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    FUSESCOPE_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    FUSESCOPE_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    FUSESCOPE_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    FUSESCOPE_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    FUSESCOPE_CASE(VK_ERROR_FRAGMENTED_POOL)
    FUSESCOPE_CASE(VK_ERROR_UNKNOWN)
    FUSESCOPE_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    FUSESCOPE_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    FUSESCOPE_CASE(VK_ERROR_FRAGMENTATION)
    FUSESCOPE_CASE(VK_PIPELINE_COMPILE_REQUIRED)
#undef FUSESCOPE_CASE
    default:
      return "unknown VkResult";
  }
}

VulkanError::VulkanError(const std::string& call, VkResult result)
    : std::runtime_error(fmt::format("{} failed: {} ({})", call, to_string(result),
                                     static_cast<int>(result))),
      result_(result) {}

void check(VkResult result, const char* call) {
  if (result == VK_SUCCESS) return;
  if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY) {
    throw OutOfDeviceMemory(fmt::format("{} failed: {} — the device has no memory left for this "
                                        "request; try a smaller input or batch",
                                        call, to_string(result)));
  }
  if (result == VK_ERROR_DEVICE_LOST) {
    throw DeviceLost(std::string(call) + " (the GPU reset or the driver crashed)", result);
  }
  throw VulkanError(call, result);
}

}  // namespace fusescope::gpu
