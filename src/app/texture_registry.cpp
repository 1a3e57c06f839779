#include "app/texture_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "app/vk_memory.hpp"
#include "gpu/error.hpp"

namespace fusescope::app {

using gpu::check;

namespace {

constexpr std::uint32_t kSetsPerPool = 64;

VkSampler make_sampler(VkDevice dev, VkFilter filter) {
  VkSamplerCreateInfo si{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
  si.magFilter = filter;
  si.minFilter = filter;
  si.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
  si.addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  si.addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  si.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
  si.maxLod = 0.0f;
  VkSampler s = VK_NULL_HANDLE;
  check(vkCreateSampler(dev, &si, nullptr, &s), "vkCreateSampler");
  return s;
}

}  // namespace

TextureRegistry::TextureRegistry(gpu::Device& device) : device_(device) {
  VkDevice dev = device_.handle();
  try {
    nearest_ = make_sampler(dev, VK_FILTER_NEAREST);
    linear_ = make_sampler(dev, VK_FILTER_LINEAR);
    VkDescriptorSetLayoutBinding binding{};
    binding.binding = 0;
    binding.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    binding.descriptorCount = 1;
    binding.stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT;
    VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = 1;
    li.pBindings = &binding;
    check(vkCreateDescriptorSetLayout(dev, &li, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
  } catch (...) {
    if (set_layout_) vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
    if (linear_) vkDestroySampler(dev, linear_, nullptr);
    if (nearest_) vkDestroySampler(dev, nearest_, nullptr);
    throw;
  }
}

TextureRegistry::~TextureRegistry() {
  // The renderer waits for its frames before destroying the registry.
  for (auto& [key, t] : textures_) {
    destroy_handles({t->image, t->view, t->memory, t->descriptor_set, t->descriptor_pool});
  }
  for (const Retired& r : retired_) destroy_handles(r.handles);
  VkDevice dev = device_.handle();
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(dev, p, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  vkDestroySampler(dev, linear_, nullptr);
  vkDestroySampler(dev, nearest_, nullptr);
}

Texture* TextureRegistry::find(const std::string& key) {
  auto it = textures_.find(key);
  return it == textures_.end() ? nullptr : it->second.get();
}

Texture& TextureRegistry::get(const std::string& key, int width, int height, TextureFilter filter) {
  if (width <= 0 || height <= 0) {
    throw std::invalid_argument(fmt::format("texture '{}': size {}x{} is empty", key, width, height));
  }
  auto it = textures_.find(key);
  if (it != textures_.end()) {
    Texture& t = *it->second;
    if (t.width == width && t.height == height && t.filter == filter) return t;
    // Frames in flight may still sample the old image: retire it, don't destroy it.
    retired_.push_back({{t.image, t.view, t.memory, t.descriptor_set, t.descriptor_pool},
                        current_serial_});
    std::erase_if(pending_, [&](const Pending& p) { return p.texture == &t; });
    t.width = width;
    t.height = height;
    t.filter = filter;
    t.layout = VK_IMAGE_LAYOUT_UNDEFINED;
    t.image = VK_NULL_HANDLE;
    t.view = VK_NULL_HANDLE;
    t.memory = VK_NULL_HANDLE;
    t.descriptor_set = VK_NULL_HANDLE;
    t.descriptor_pool = VK_NULL_HANDLE;
    create_handles(t);
    pending_.push_back({&t, nullptr});
    return t;
  }
  auto t = std::make_unique<Texture>();
  t->key = key;
  t->width = width;
  t->height = height;
  t->filter = filter;
  create_handles(*t);
  Texture& ref = *t;
  textures_.emplace(key, std::move(t));
  pending_.push_back({&ref, nullptr});
  return ref;
}

void TextureRegistry::create_handles(Texture& t) {
  VkDevice dev = device_.handle();
  Handles h;
  try {
    VkImageCreateInfo ii{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ii.imageType = VK_IMAGE_TYPE_2D;
    ii.format = VK_FORMAT_R8G8B8A8_UNORM;
    ii.extent = {static_cast<std::uint32_t>(t.width), static_cast<std::uint32_t>(t.height), 1};
    ii.mipLevels = 1;
    ii.arrayLayers = 1;
    ii.samples = VK_SAMPLE_COUNT_1_BIT;
    ii.tiling = VK_IMAGE_TILING_OPTIMAL;
    ii.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT |
               VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    ii.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    VkResult r = vkCreateImage(dev, &ii, nullptr, &h.image);
    if (r != VK_SUCCESS) {
      throw std::runtime_error(fmt::format("texture '{}' ({}x{}): vkCreateImage failed ({})", t.key,
                                           t.width, t.height, gpu::to_string(r)));
    }
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev, h.image, &req);
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex =
        find_memory_type(device_, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    check(vkAllocateMemory(dev, &ai, nullptr, &h.memory), "vkAllocateMemory (texture)");
    check(vkBindImageMemory(dev, h.image, h.memory, 0), "vkBindImageMemory (texture)");
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = h.image;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = VK_FORMAT_R8G8B8A8_UNORM;
    vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    check(vkCreateImageView(dev, &vi, nullptr, &h.view), "vkCreateImageView (texture)");

    // A descriptor set from the newest pool with room, else from a new pool.
    VkDescriptorSetAllocateInfo si{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    si.descriptorSetCount = 1;
    si.pSetLayouts = &set_layout_;
    r = VK_ERROR_OUT_OF_POOL_MEMORY;
    if (!pools_.empty()) {
      si.descriptorPool = pools_.back();
      r = vkAllocateDescriptorSets(dev, &si, &h.descriptor_set);
    }
    if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, kSetsPerPool};
      VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
      pi.maxSets = kSetsPerPool;
      pi.poolSizeCount = 1;
      pi.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(vkCreateDescriptorPool(dev, &pi, nullptr, &pool), "vkCreateDescriptorPool (textures)");
      pools_.push_back(pool);
      si.descriptorPool = pool;
      r = vkAllocateDescriptorSets(dev, &si, &h.descriptor_set);
    }
    check(r, "vkAllocateDescriptorSets (texture)");
    h.descriptor_pool = si.descriptorPool;

    VkDescriptorImageInfo di{t.filter == TextureFilter::nearest ? nearest_ : linear_, h.view,
                             VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = h.descriptor_set;
    w.dstBinding = 0;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    w.pImageInfo = &di;
    vkUpdateDescriptorSets(dev, 1, &w, 0, nullptr);
  } catch (...) {
    destroy_handles(h);
    throw;
  }
  device_.set_debug_name(VK_OBJECT_TYPE_IMAGE, reinterpret_cast<std::uint64_t>(h.image),
                         "texture " + t.key);
  t.image = h.image;
  t.view = h.view;
  t.memory = h.memory;
  t.descriptor_set = h.descriptor_set;
  t.descriptor_pool = h.descriptor_pool;
}

void TextureRegistry::destroy_handles(const Handles& h) {
  VkDevice dev = device_.handle();
  if (h.descriptor_set) vkFreeDescriptorSets(dev, h.descriptor_pool, 1, &h.descriptor_set);
  if (h.view) vkDestroyImageView(dev, h.view, nullptr);
  if (h.image) vkDestroyImage(dev, h.image, nullptr);
  if (h.memory) vkFreeMemory(dev, h.memory, nullptr);
}

void TextureRegistry::upload_from_buffer(Texture& texture, std::shared_ptr<gpu::Buffer> rgba8) {
  const std::uint64_t bytes = std::uint64_t(texture.width) * texture.height * 4;
  if (!rgba8 || !rgba8->valid() || rgba8->size() < bytes) {
    throw std::invalid_argument(fmt::format(
        "texture '{}' ({}x{}) needs {} bytes of RGBA8; the buffer holds {}", texture.key,
        texture.width, texture.height, bytes, rgba8 && rgba8->valid() ? rgba8->size() : 0));
  }
  // The latest upload wins; an initialising clear is pointless before a full upload.
  std::erase_if(pending_, [&](const Pending& p) { return p.texture == &texture; });
  pending_.push_back({&texture, std::move(rgba8)});
}

void TextureRegistry::record_uploads(VkCommandBuffer cmd, std::uint64_t serial) {
  for (Pending& p : pending_) {
    Texture& t = *p.texture;
    const VkAccessFlags prior_access =
        t.layout == VK_IMAGE_LAYOUT_UNDEFINED ? 0 : VK_ACCESS_SHADER_READ_BIT;
    VkImageMemoryBarrier to_dst = image_barrier(t.image, VK_IMAGE_LAYOUT_UNDEFINED,
                                                VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, prior_access,
                                                VK_ACCESS_TRANSFER_WRITE_BIT);
    // The old contents are replaced whole: UNDEFINED as the old layout discards them.
    VkMemoryBarrier written{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    written.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    written.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(cmd,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                             VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, p.buffer ? 1 : 0, &written, 0, nullptr,
                         1, &to_dst);
    if (p.buffer) {
      VkBufferImageCopy region{};
      region.bufferOffset = p.buffer->offset();
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageExtent = {static_cast<std::uint32_t>(t.width), static_cast<std::uint32_t>(t.height), 1};
      vkCmdCopyBufferToImage(cmd, p.buffer->handle(), t.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                             1, &region);
      held_.push_back({std::move(p.buffer), serial});
    } else {
      VkClearColorValue clear{};
      VkImageSubresourceRange range{VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
      vkCmdClearColorImage(cmd, t.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &clear, 1, &range);
    }
    VkImageMemoryBarrier to_read = image_barrier(
        t.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
        VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT);
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                         0, 0, nullptr, 0, nullptr, 1, &to_read);
    t.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  }
  pending_.clear();
}

void TextureRegistry::collect(std::uint64_t completed_serial) {
  std::erase_if(held_, [&](const Held& h) { return h.serial <= completed_serial; });
  std::erase_if(retired_, [&](const Retired& r) {
    if (r.after_serial > completed_serial) return false;
    destroy_handles(r.handles);
    return true;
  });
}

std::vector<std::uint8_t> TextureRegistry::read_back(const Texture& t) {
  if (t.layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL) {
    throw std::logic_error(fmt::format(
        "texture '{}' has no contents on the GPU yet: no frame has recorded its upload", t.key));
  }
  const std::uint64_t bytes = std::uint64_t(t.width) * t.height * 4;
  gpu::Device::Staging staging = device_.create_staging(bytes);
  std::vector<std::uint8_t> out(bytes);
  try {
    // A barrier's first scope is every command submitted before it, frames included, so this
    // copy sees the last recorded upload once it has run.
    device_.submit_and_wait([&](VkCommandBuffer cmd) {
      VkImageMemoryBarrier to_src = image_barrier(
          t.image, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
          VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT, VK_ACCESS_TRANSFER_READ_BIT);
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                           0, 0, nullptr, 0, nullptr, 1, &to_src);
      VkBufferImageCopy region{};
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageExtent = {static_cast<std::uint32_t>(t.width), static_cast<std::uint32_t>(t.height), 1};
      vkCmdCopyImageToBuffer(cmd, t.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, staging.buffer, 1,
                             &region);
      VkImageMemoryBarrier back = image_barrier(
          t.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
          VK_ACCESS_TRANSFER_READ_BIT, VK_ACCESS_SHADER_READ_BIT);
      VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                           &host, 0, nullptr, 1, &back);
    });
    std::memcpy(out.data(), staging.mapped, bytes);
  } catch (...) {
    device_.destroy_staging(staging);
    throw;
  }
  device_.destroy_staging(staging);
  return out;
}

}  // namespace fusescope::app
