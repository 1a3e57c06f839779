// Renderer: the window's frame loop on top of gpu::Device — surface, swapchain (FIFO, recreated
// on VK_ERROR_OUT_OF_DATE_KHR, suboptimal or a framebuffer resize), 2 frames in flight with
// their own fences and semaphores, ImGui (GLFW platform backend + our ImGuiRenderer), the
// fonts, the style, and the TextureRegistry the panels draw tensors with.
//
// Threads: the UI thread only. The queue is shared with compute running on a worker: every
// submit and present here takes device.lock_queue() for that call only, and the renderer
// records into its own command pool (see gpu/device.hpp).
//
// Typical loop:
//   Window window;
//   gpu::DeviceOptions o; o.instance_extensions = Window::required_instance_extensions();
//   o.present_support = Window::can_present;  gpu::Device device(o);
//   Renderer renderer(device, window);
//   while (renderer.begin_frame()) { panels(session); renderer.end_frame(); }
#pragma once
#include <imgui.h>
#include <vulkan/vulkan.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "app/texture_registry.hpp"
#include "app/vk_memory.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"

namespace fusescope::app {

class ImGuiRenderer;

struct RendererOptions {
  float font_scale = 0;  // 0: the window's content scale
  std::string ini_path;  // ImGui's ini; empty: none
};

class Renderer {
 public:
  static constexpr int kFramesInFlight = 2;

  Renderer(gpu::Device& device, Window& window, RendererOptions options = {});
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Takes events, handles a resize (and waits while minimised), starts an ImGui frame. False
  // when the window should close (then call neither end_frame nor ImGui). wait_seconds > 0:
  // first waits up to that long for an event (input, or Window::wake from another thread), so a
  // window with nothing moving does not draw frames for nobody — on a CPU Vulkan driver every
  // frame is CPU time the network's worker does not get. 0: polls (animations, scripts).
  bool begin_frame(double wait_seconds = 0);
  // ImGui::Render, records the queued texture uploads and the draw data, submits (under
  // device.lock_queue()) and presents.
  void end_frame();
  // The last presented frame as PNG (RGBA, the window's framebuffer size), written to a temp
  // name then renamed. It presents that frame's draw data once more into a fresh swapchain
  // image and copies it before presenting (a presented image may not be read back: it belongs
  // to the presentation engine), so call it after end_frame and before the next begin_frame.
  void save_screenshot(const std::string& png_path);

  TextureRegistry& textures() { return *textures_; }
  ImFont* ui_font() { return ui_font_; }
  ImFont* mono_font() { return mono_font_; }
  float scale() const { return scale_; }
  VkExtent2D framebuffer_extent() const { return extent_; }
  std::uint64_t frames_presented() const { return serial_; }

 private:
  struct Frame {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkSemaphore image_available = VK_NULL_HANDLE;
    std::uint64_t serial = 0;  // the frame serial its last submit carried
  };

  void release();
  void create_swapchain();
  void destroy_swapchain_objects();
  void recreate_swapchain();
  void wait_frames();
  void load_fonts();
  // Renders draw_data into the next swapchain image and presents it; with capture, also copies
  // the image into capture_buffer_ (waited for before returning). False when the frame was
  // skipped (swapchain out of date, or minimised).
  bool render(ImDrawData* draw_data, bool capture);

  gpu::Device& device_;
  Window& window_;
  RendererOptions options_;
  float scale_ = 1.0f;
  std::string ini_path_;
  void save_layout() noexcept;  // imgui.ini, whole or not at all

  VkSurfaceKHR surface_ = VK_NULL_HANDLE;
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkFormat format_ = VK_FORMAT_B8G8R8A8_UNORM;
  VkExtent2D extent_{0, 0};
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  std::vector<VkSemaphore> render_finished_;  // one per swapchain image
  bool needs_recreate_ = false;

  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  std::array<Frame, kFramesInFlight> frames_{};
  int frame_ = 0;
  std::uint64_t serial_ = 0;  // frames submitted so far

  std::unique_ptr<TextureRegistry> textures_;
  std::unique_ptr<ImGuiRenderer> imgui_;
  ImGuiContext* context_ = nullptr;
  bool glfw_backend_ = false;
  ImFont* ui_font_ = nullptr;
  ImFont* mono_font_ = nullptr;
  Texture* font_texture_ = nullptr;
  bool frame_started_ = false;

  HostBuffer capture_buffer_{};
  VkExtent2D captured_extent_{0, 0};
};

}  // namespace fusescope::app
