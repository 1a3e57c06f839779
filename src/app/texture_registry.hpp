// TextureRegistry: the window's RGBA8 textures, by key ("tensor:conv1/ch3", "imgui.font"), each
// with its own descriptor set, so `ImTextureID` is simply `Texture*` (see imgui_renderer.hpp).
//
// Pixels arrive from the GPU, not the host: a colormap compute shader writes packed RGBA8 words
// into a gpu::Buffer, and upload_from_buffer queues a buffer -> image copy that the renderer
// records into the next frame's command buffer before its render pass. The Texture object's
// address is stable for its key's lifetime (a resize swaps its Vulkan objects, not the Texture);
// old Vulkan objects are destroyed only once no frame in flight can still use them.
//
// Threads: the UI thread only (the renderer's thread). A worker fills the gpu::Buffer and posts
// it back; the UI thread calls upload_from_buffer.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gpu/buffer.hpp"
#include "gpu/device.hpp"

namespace fusescope::app {

enum class TextureFilter { nearest, linear };

struct Texture {
  int width = 0, height = 0;
  VkImage image = VK_NULL_HANDLE;
  VkImageView view = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDescriptorSet descriptor_set = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;  // the set's pool
  std::string key;
  TextureFilter filter = TextureFilter::nearest;
  // The layout the image is in once the commands recorded so far have run.
  VkImageLayout layout = VK_IMAGE_LAYOUT_UNDEFINED;
};

class TextureRegistry {
 public:
  explicit TextureRegistry(gpu::Device& device);
  ~TextureRegistry();
  TextureRegistry(const TextureRegistry&) = delete;
  TextureRegistry& operator=(const TextureRegistry&) = delete;

  // The texture for key: created, or recreated when the size (or filter) changed, as an
  // RGBA8_UNORM image with usage SAMPLED|TRANSFER_DST|TRANSFER_SRC. A new image reads as
  // transparent black until its first upload. Nearest filtering by default, so single
  // activations show as squares when zoomed.
  Texture& get(const std::string& key, int width, int height,
               TextureFilter filter = TextureFilter::nearest);
  // nullptr when the key has no texture.
  Texture* find(const std::string& key);

  // Queues a copy of width*height packed RGBA8 words (bytes R,G,B,A in memory) from the start
  // of rgba8 (a gpu::Device::allocate buffer) into the texture; recorded into the next frame
  // before its render pass. The shared_ptr keeps the buffer alive until that frame's fence
  // signals. A later upload to the same texture in the same frame wins.
  void upload_from_buffer(Texture& texture, std::shared_ptr<gpu::Buffer> rgba8);

  // The texture's pixels as RGBA8 bytes (row-major, width*height*4), for tests: waits until
  // every frame submitted so far is done with it, then copies image -> host. Uploads still
  // queued (not yet recorded into a frame) are not in it.
  std::vector<std::uint8_t> read_back(const Texture& texture);

  // --- for the renderer ---
  VkDescriptorSetLayout descriptor_set_layout() const { return set_layout_; }
  // Records the queued initialisations and uploads (before the render pass) into cmd, as part
  // of frame `serial`; their source buffers are held until collect(serial or later).
  void record_uploads(VkCommandBuffer cmd, std::uint64_t serial);
  // Every frame up to and including `completed_serial` has finished on the GPU: releases the
  // buffers and destroys the retired Vulkan objects they could still use.
  void collect(std::uint64_t completed_serial);
  // Frame serial being built (retired objects wait for it to complete).
  void set_current_serial(std::uint64_t serial) { current_serial_ = serial; }

 private:
  struct Handles {
    VkImage image = VK_NULL_HANDLE;
    VkImageView view = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkDescriptorSet descriptor_set = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
  };
  struct Retired {
    Handles handles;
    std::uint64_t after_serial;  // destroy once this frame completed
  };
  struct Pending {
    Texture* texture;
    std::shared_ptr<gpu::Buffer> buffer;  // null: initialise (clear) only
  };
  struct Held {
    std::shared_ptr<gpu::Buffer> buffer;
    std::uint64_t serial;
  };

  void create_handles(Texture& t);
  void destroy_handles(const Handles& h);

  gpu::Device& device_;
  VkSampler nearest_ = VK_NULL_HANDLE;
  VkSampler linear_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> pools_;
  std::map<std::string, std::unique_ptr<Texture>> textures_;
  std::vector<Pending> pending_;
  std::vector<Held> held_;
  std::vector<Retired> retired_;
  std::uint64_t current_serial_ = 0;
};

}  // namespace fusescope::app
