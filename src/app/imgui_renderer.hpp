// ImGuiRenderer: draws ImGui's draw data with our own Vulkan graphics pipeline.
//
// Why not Dear ImGui's own imgui_impl_vulkan: Debian 12's libimgui-dev is 1.86, whose Vulkan
// backend binds one descriptor set (the font) for everything — its header says user texture
// binding isn't supported, and ImGui_ImplVulkan_AddTexture does not exist yet — while the
// window's whole point is tensor textures. Vendoring a newer backend is not allowed (Debian
// packages only), so this file is the backend: one pipeline (vertex pos/uv/colour, push constants
// scale + translate; fragment texture x colour), per-frame host-visible vertex and index
// buffers that grow as needed, a scissor per draw command, and `ImTextureID` = `Texture*`, each
// Texture carrying its own descriptor set (texture_registry.hpp). The platform side (input,
// time, cursor) is ImGui's GLFW backend from libimgui.a, which is fine as it is.
#pragma once
#include <imgui.h>
#include <vulkan/vulkan.h>

#include <vector>

#include "app/vk_memory.hpp"
#include "gpu/device.hpp"

namespace fusescope::app {

class ImGuiRenderer {
 public:
  // render_pass: the pass draw() records into (subpass 0); texture_layout: the descriptor set
  // layout every Texture's set has (binding 0: combined image sampler).
  ImGuiRenderer(gpu::Device& device, VkRenderPass render_pass,
                VkDescriptorSetLayout texture_layout, int frames_in_flight);
  ~ImGuiRenderer();
  ImGuiRenderer(const ImGuiRenderer&) = delete;
  ImGuiRenderer& operator=(const ImGuiRenderer&) = delete;

  // Records draw_data into cmd, inside the render pass, for frame slot `frame` (its vertex and
  // index buffers must not be in use by the GPU: the caller has waited on that slot's fence).
  void draw(VkCommandBuffer cmd, ImDrawData* draw_data, int frame, VkExtent2D framebuffer);

 private:
  void ensure_capacity(HostBuffer& buffer, VkDeviceSize bytes, VkBufferUsageFlags usage,
                       const char* name);

  gpu::Device& device_;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  struct FrameBuffers {
    HostBuffer vertices;
    HostBuffer indices;
  };
  std::vector<FrameBuffers> frames_;
};

}  // namespace fusescope::app
