// The on-disk VkPipelineCache: compiled pipelines survive between runs, so a second start
// skips the driver's shader compiler. One file per device (vendor, device id, cache UUID) under
// $FUSESCOPE_CACHE_DIR, else $XDG_CACHE_HOME/fusescope, else ~/.cache/fusescope. Other caches
// that belong to a device (graph/conv_autotune_cache.hpp: --autotune's winners) live in the same
// directory, identified by device_identity and written by write_cache_file.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace fusescope::gpu {

struct DeviceInfo;

std::filesystem::path cache_directory();

// The cache's bytes, or nothing when there is no file or its header belongs to another
// device or driver version (never throws: a bad cache only means a slower start).
std::vector<std::byte> read_pipeline_cache_file(const DeviceInfo& info, VkPhysicalDevice physical);

// Writes to a temporary name and renames, so a crash never leaves half a file. Never throws.
void write_pipeline_cache_file(const DeviceInfo& info, VkPhysicalDevice physical,
                               std::span<const std::byte> data);

// What a measurement made on a device stays true for: the device (VkPhysicalDeviceIDProperties::
// deviceUUID, the same across processes and reboots) under one driver build (driverVersion: a new
// driver compiles the same kernels to other code, so their speeds change).
struct DeviceIdentity {
  std::string uuid;                 // deviceUUID as 32 lowercase hex digits
  std::uint32_t driver_version = 0; // VkPhysicalDeviceProperties::driverVersion, vendor-encoded
};
DeviceIdentity device_identity(VkPhysicalDevice physical);

// Writes `data` to `path` (creating the cache directory) under a temporary name, then renames,
// so a reader never sees half a file. Never throws: returns why it failed, or "" on success.
std::string write_cache_file(const std::filesystem::path& path, std::span<const std::byte> data);

}  // namespace fusescope::gpu
