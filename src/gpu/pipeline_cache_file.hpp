// The on-disk VkPipelineCache: compiled pipelines survive between runs, so a second start
// skips the driver's shader compiler. One file per device (vendor, device id, cache UUID) under
// $FUSESCOPE_CACHE_DIR, else $XDG_CACHE_HOME/fusescope, else ~/.cache/fusescope.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <filesystem>
#include <span>
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

}  // namespace fusescope::gpu
