// Small Vulkan helpers the renderer's objects share (memory types, host-visible buffers, image
// layout barriers).
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>

#include "gpu/device.hpp"

namespace fusescope::app {

// A memory type index with `want` among `type_bits`; throws when there is none.
std::uint32_t find_memory_type(const gpu::Device& device, std::uint32_t type_bits,
                               VkMemoryPropertyFlags want);

// A host-visible, coherent, persistently mapped buffer (vertices, indices, screenshots).
struct HostBuffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  VkDeviceSize size = 0;
};
HostBuffer create_host_buffer(gpu::Device& device, VkDeviceSize bytes, VkBufferUsageFlags usage,
                              const char* name);
void destroy_host_buffer(gpu::Device& device, HostBuffer& buffer);

// A layout transition of a whole single-mip colour image, on one queue family.
VkImageMemoryBarrier image_barrier(VkImage image, VkImageLayout from, VkImageLayout to, VkAccessFlags src,
                                   VkAccessFlags dst);

}  // namespace fusescope::app
