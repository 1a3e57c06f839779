// Window: a GLFW window for Vulkan (GLFW_CLIENT_API = GLFW_NO_API), with RAII over
// glfwInit/glfwTerminate (reference-counted, so the static queries below work before and while
// a window exists). No display is a clear exception, not a crash.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

struct GLFWwindow;

namespace fusescope::app {

struct WindowOptions {
  int width = 1280, height = 800;
  std::string title = "fusescope";
  bool visible = true;
};

class Window {
 public:
  explicit Window(const WindowOptions& options = {});
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // The instance extensions a surface needs (gpu::DeviceOptions::instance_extensions).
  static std::vector<std::string> required_instance_extensions();
  // Whether the queue family can present on this display (gpu::DeviceOptions::present_support);
  // needs no surface.
  static bool can_present(VkInstance instance, VkPhysicalDevice physical, std::uint32_t family);

  // Ends a Renderer::begin_frame wait early; safe from any thread (the worker calls it when a
  // request is done, so its result is drawn at once).
  static void wake();

  GLFWwindow* handle() { return window_; }
  bool should_close();
  // The monitor's content scale (HiDPI: 2 on a 200% display; 1 under Xvfb).
  float content_scale();
  // Framebuffer size in pixels (0x0 while minimised).
  VkExtent2D framebuffer_size();
  // True once after the framebuffer changed size (set by GLFW's callback).
  bool take_resized();
  // Paths dropped on the window since the last call, in drop order.
  std::vector<std::string> take_dropped_paths();

  VkSurfaceKHR create_surface(VkInstance instance);

 private:
  static void on_drop(GLFWwindow* window, int count, const char** paths);
  static void on_framebuffer_size(GLFWwindow* window, int width, int height);

  void* glfw_ = nullptr;  // this window's reference to the GLFW library (GlfwLibrary*)
  GLFWwindow* window_ = nullptr;
  std::mutex dropped_mutex_;
  std::vector<std::string> dropped_;
  bool resized_ = false;
};

}  // namespace fusescope::app
