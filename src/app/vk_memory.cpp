#include "app/vk_memory.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "gpu/error.hpp"

namespace fusescope::app {

std::uint32_t find_memory_type(const gpu::Device& device, std::uint32_t type_bits,
                               VkMemoryPropertyFlags want) {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(device.physical(), &mp);
  for (std::uint32_t i = 0; i < mp.memoryTypeCount; ++i) {
    if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return i;
  }
  throw std::runtime_error(
      fmt::format("{}: no memory type with properties 0x{:x}", device.info().name, want));
}

HostBuffer create_host_buffer(gpu::Device& device, VkDeviceSize bytes, VkBufferUsageFlags usage,
                              const char* name) {
  VkDevice dev = device.handle();
  HostBuffer b;
  b.size = bytes;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = bytes;
  bi.usage = usage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  gpu::check(vkCreateBuffer(dev, &bi, nullptr, &b.buffer), "vkCreateBuffer (host)");
  try {
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, b.buffer, &req);
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = find_memory_type(
        device, req.memoryTypeBits,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    gpu::check(vkAllocateMemory(dev, &ai, nullptr, &b.memory), "vkAllocateMemory (host)");
    gpu::check(vkBindBufferMemory(dev, b.buffer, b.memory, 0), "vkBindBufferMemory (host)");
    gpu::check(vkMapMemory(dev, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory (host)");
  } catch (...) {
    destroy_host_buffer(device, b);
    throw;
  }
  device.set_debug_name(VK_OBJECT_TYPE_BUFFER, reinterpret_cast<std::uint64_t>(b.buffer), name);
  return b;
}

void destroy_host_buffer(gpu::Device& device, HostBuffer& b) {
  if (b.memory) vkFreeMemory(device.handle(), b.memory, nullptr);
  if (b.buffer) vkDestroyBuffer(device.handle(), b.buffer, nullptr);
  b = {};
}

VkImageMemoryBarrier image_barrier(VkImage image, VkImageLayout from, VkImageLayout to, VkAccessFlags src,
                                   VkAccessFlags dst) {
  VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  return b;
}

}  // namespace fusescope::app
