#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include "app/window.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace fusescope::app {

namespace {

std::mutex glfw_mutex;
int glfw_users = 0;
std::string glfw_last_error;

void on_glfw_error(int code, const char* text) {
  glfw_last_error = fmt::format("{} (GLFW error 0x{:x})", text ? text : "", code);
}

// One reference to the GLFW library: glfwInit on the first, glfwTerminate after the last.
class GlfwLibrary {
 public:
  GlfwLibrary() {
    std::lock_guard<std::mutex> lock(glfw_mutex);
    if (glfw_users == 0) {
      glfwSetErrorCallback(on_glfw_error);
      glfw_last_error.clear();
      if (glfwInit() != GLFW_TRUE) {
        throw std::runtime_error(fmt::format(
            "no display: set DISPLAY or run under xvfb-run ({})",
            glfw_last_error.empty() ? "glfwInit failed" : glfw_last_error));
      }
      if (glfwVulkanSupported() != GLFW_TRUE) {
        glfwTerminate();
        throw std::runtime_error(
            "GLFW found no Vulkan loader; on Debian: apt-get install libvulkan1 "
            "mesa-vulkan-drivers");
      }
    }
    ++glfw_users;
  }
  ~GlfwLibrary() {
    std::lock_guard<std::mutex> lock(glfw_mutex);
    if (--glfw_users == 0) glfwTerminate();
  }
  GlfwLibrary(const GlfwLibrary&) = delete;
  GlfwLibrary& operator=(const GlfwLibrary&) = delete;
};

}  // namespace

std::vector<std::string> Window::required_instance_extensions() {
  GlfwLibrary glfw;
  std::uint32_t count = 0;
  const char** names = glfwGetRequiredInstanceExtensions(&count);
  if (names == nullptr) {
    throw std::runtime_error(fmt::format("GLFW cannot make Vulkan surfaces here: {}", glfw_last_error));
  }
  return std::vector<std::string>(names, names + count);
}

bool Window::can_present(VkInstance instance, VkPhysicalDevice physical, std::uint32_t family) {
  GlfwLibrary glfw;
  return glfwGetPhysicalDevicePresentationSupport(instance, physical, family) == GLFW_TRUE;
}

Window::Window(const WindowOptions& options) {
  auto* glfw = new GlfwLibrary();  // released in the destructor (or below on failure)
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  glfwWindowHint(GLFW_VISIBLE, options.visible ? GLFW_TRUE : GLFW_FALSE);
  glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE);
  window_ = glfwCreateWindow(options.width, options.height, options.title.c_str(), nullptr, nullptr);
  if (window_ == nullptr) {
    std::string why = glfw_last_error;
    delete glfw;
    throw std::runtime_error(fmt::format("cannot open a {}x{} window: {}", options.width,
                                         options.height, why));
  }
  glfw_ = glfw;
  glfwSetWindowUserPointer(window_, this);
  glfwSetDropCallback(window_, on_drop);
  glfwSetFramebufferSizeCallback(window_, on_framebuffer_size);
}

Window::~Window() {
  if (window_) glfwDestroyWindow(window_);
  delete static_cast<GlfwLibrary*>(glfw_);
}

void Window::wake() { glfwPostEmptyEvent(); }

bool Window::should_close() { return glfwWindowShouldClose(window_) == GLFW_TRUE; }

float Window::content_scale() {
  float x = 1.0f, y = 1.0f;
  glfwGetWindowContentScale(window_, &x, &y);
  return x > 0 ? x : 1.0f;
}

VkExtent2D Window::framebuffer_size() {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  return {static_cast<std::uint32_t>(w > 0 ? w : 0), static_cast<std::uint32_t>(h > 0 ? h : 0)};
}

bool Window::take_resized() {
  bool r = resized_;
  resized_ = false;
  return r;
}

std::vector<std::string> Window::take_dropped_paths() {
  std::lock_guard<std::mutex> lock(dropped_mutex_);
  std::vector<std::string> out;
  out.swap(dropped_);
  return out;
}

VkSurfaceKHR Window::create_surface(VkInstance instance) {
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  VkResult r = glfwCreateWindowSurface(instance, window_, nullptr, &surface);
  if (r != VK_SUCCESS) {
    throw std::runtime_error(fmt::format("glfwCreateWindowSurface failed (VkResult {}): {}",
                                         static_cast<int>(r), glfw_last_error));
  }
  return surface;
}

void Window::on_drop(GLFWwindow* window, int count, const char** paths) {
  auto* self = static_cast<Window*>(glfwGetWindowUserPointer(window));
  if (self == nullptr) return;
  std::lock_guard<std::mutex> lock(self->dropped_mutex_);
  for (int i = 0; i < count; ++i) self->dropped_.emplace_back(paths[i]);
}

void Window::on_framebuffer_size(GLFWwindow* window, int, int) {
  auto* self = static_cast<Window*>(glfwGetWindowUserPointer(window));
  if (self) self->resized_ = true;
}

}  // namespace fusescope::app
