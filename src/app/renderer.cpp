#include "app/renderer.hpp"

#include <GLFW/glfw3.h>
#include <fmt/format.h>
#include <backends/imgui_impl_glfw.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <stdexcept>

#include "app/imgui_renderer.hpp"
#include "app/style.hpp"
#include "app/vk_memory.hpp"
#include "gpu/error.hpp"
#include "io/atomic_file.hpp"
#include "io/image.hpp"

namespace fusescope::app {

using gpu::check;

namespace {

constexpr const char* kUiFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
constexpr const char* kMonoFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
constexpr float kFontPixels = 16.0f;

}  // namespace

Renderer::Renderer(gpu::Device& device, Window& window, RendererOptions options)
    : device_(device), window_(window), options_(std::move(options)) {
  if (!device_.can_present()) {
    throw std::logic_error(
        "Renderer needs a device made to present: set DeviceOptions::instance_extensions and "
        "present_support from Window");
  }
  VkDevice dev = device_.handle();
  try {
    surface_ = window_.create_surface(device_.instance());
    VkBool32 supported = VK_FALSE;
    check(vkGetPhysicalDeviceSurfaceSupportKHR(device_.physical(), device_.queue_family(), surface_,
                                               &supported),
          "vkGetPhysicalDeviceSurfaceSupportKHR");
    if (!supported) {
      throw std::runtime_error(fmt::format("{}: queue family {} cannot present to this window",
                                           device_.info().name, device_.queue_family()));
    }

    // Pick the format first: the render pass depends on it and outlives swapchains.
    std::uint32_t count = 0;
    check(vkGetPhysicalDeviceSurfaceFormatsKHR(device_.physical(), surface_, &count, nullptr),
          "vkGetPhysicalDeviceSurfaceFormatsKHR");
    std::vector<VkSurfaceFormatKHR> formats(count);
    check(vkGetPhysicalDeviceSurfaceFormatsKHR(device_.physical(), surface_, &count, formats.data()),
          "vkGetPhysicalDeviceSurfaceFormatsKHR");
    if (formats.empty()) throw std::runtime_error("the window's surface offers no formats");
    // UNORM, not SRGB: ImGui's colours (and a tensor texture's bytes) reach the screen as
    // written, which is what ImGui's style expects and what the tests check pixel for pixel.
    format_ = formats[0].format;
    for (VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM}) {
      auto it = std::find_if(formats.begin(), formats.end(),
                             [&](const VkSurfaceFormatKHR& f) { return f.format == want; });
      if (it != formats.end()) {
        format_ = want;
        break;
      }
    }

    VkAttachmentDescription color{};
    color.format = format_;
    color.samples = VK_SAMPLE_COUNT_1_BIT;
    color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
    color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    color.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription subpass{};
    subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
    subpass.colorAttachmentCount = 1;
    subpass.pColorAttachments = &ref;
    // The acquire semaphore is waited on at COLOR_ATTACHMENT_OUTPUT: the layout transition
    // must wait for it too.
    VkSubpassDependency dep{};
    dep.srcSubpass = VK_SUBPASS_EXTERNAL;
    dep.dstSubpass = 0;
    dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    dep.srcAccessMask = 0;
    dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    VkRenderPassCreateInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
    rp.attachmentCount = 1;
    rp.pAttachments = &color;
    rp.subpassCount = 1;
    rp.pSubpasses = &subpass;
    rp.dependencyCount = 1;
    rp.pDependencies = &dep;
    check(vkCreateRenderPass(dev, &rp, nullptr, &render_pass_), "vkCreateRenderPass");

    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = device_.queue_family();
    check(vkCreateCommandPool(dev, &pi, nullptr, &command_pool_), "vkCreateCommandPool (renderer)");
    for (Frame& f : frames_) {
      VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
      ai.commandPool = command_pool_;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      check(vkAllocateCommandBuffers(dev, &ai, &f.cmd), "vkAllocateCommandBuffers (renderer)");
      device_.set_debug_name(VK_OBJECT_TYPE_COMMAND_BUFFER, reinterpret_cast<std::uint64_t>(f.cmd),
                             "frame");
      VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      fi.flags = VK_FENCE_CREATE_SIGNALED_BIT;
      check(vkCreateFence(dev, &fi, nullptr, &f.fence), "vkCreateFence (renderer)");
      VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
      check(vkCreateSemaphore(dev, &si, nullptr, &f.image_available), "vkCreateSemaphore");
    }

    create_swapchain();

    textures_ = std::make_unique<TextureRegistry>(device_);
    imgui_ = std::make_unique<ImGuiRenderer>(device_, render_pass_,
                                             textures_->descriptor_set_layout(), kFramesInFlight);

    IMGUI_CHECKVERSION();
    context_ = ImGui::CreateContext();
    ImGui::SetCurrentContext(context_);
    ImGuiIO& io = ImGui::GetIO();
    ini_path_ = options_.ini_path;
    // ImGui would write imgui.ini itself with fopen, in place: a crash mid-write tears it. It
    // reads it from here, and save_layout() writes it whole (io/atomic_file.hpp).
    io.IniFilename = nullptr;
    if (!ini_path_.empty() && std::filesystem::exists(ini_path_)) ImGui::LoadIniSettingsFromDisk(ini_path_.c_str());
    io.BackendRendererName = "fusescope";
    io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;
    if (!ImGui_ImplGlfw_InitForVulkan(window_.handle(), true)) {
      throw std::runtime_error("ImGui_ImplGlfw_InitForVulkan failed");
    }
    glfw_backend_ = true;
    scale_ = options_.font_scale > 0 ? options_.font_scale : window_.content_scale();
    style::apply_dark_style(scale_);
    load_fonts();
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

Renderer::~Renderer() { release(); }

void Renderer::release() {
  VkDevice dev = device_.handle();
  // No throwing here (destructor): wait on whatever fences exist, ignoring a lost device.
  for (Frame& f : frames_) {
    if (f.fence) vkWaitForFences(dev, 1, &f.fence, VK_TRUE, UINT64_MAX);
  }
  // Fences cover our submits, not the presentation engine's use of the semaphores a present
  // waits on: only an idle queue says those are free to destroy.
  if (device_.queue() != VK_NULL_HANDLE) {
    const auto lock = device_.lock_queue();
    vkQueueWaitIdle(device_.queue());
  }
  if (context_) {
    ImGui::SetCurrentContext(context_);
    save_layout();
  }
  if (glfw_backend_) ImGui_ImplGlfw_Shutdown();
  glfw_backend_ = false;
  if (context_) ImGui::DestroyContext(context_);
  context_ = nullptr;
  imgui_.reset();
  textures_.reset();
  font_texture_ = nullptr;
  destroy_host_buffer(device_, capture_buffer_);
  destroy_swapchain_objects();
  if (swapchain_) vkDestroySwapchainKHR(dev, swapchain_, nullptr);
  swapchain_ = VK_NULL_HANDLE;
  for (VkSemaphore s : render_finished_) vkDestroySemaphore(dev, s, nullptr);
  render_finished_.clear();
  for (Frame& f : frames_) {
    if (f.fence) vkDestroyFence(dev, f.fence, nullptr);
    if (f.image_available) vkDestroySemaphore(dev, f.image_available, nullptr);
    f = {};
  }
  if (command_pool_) vkDestroyCommandPool(dev, command_pool_, nullptr);  // frees the buffers
  command_pool_ = VK_NULL_HANDLE;
  if (render_pass_) vkDestroyRenderPass(dev, render_pass_, nullptr);
  render_pass_ = VK_NULL_HANDLE;
  if (surface_) vkDestroySurfaceKHR(device_.instance(), surface_, nullptr);
  surface_ = VK_NULL_HANDLE;
}

void Renderer::wait_frames() {
  for (Frame& f : frames_) {
    if (f.fence) check(vkWaitForFences(device_.handle(), 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  }
  if (textures_) textures_->collect(serial_);
}

void Renderer::load_fonts() {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  const float pixels = std::round(kFontPixels * scale_);
  auto add = [&](const char* path) -> ImFont* {
    if (!std::filesystem::exists(path)) {
      std::cerr << "fusescope: font " << path
                << " not found (apt-get install fonts-dejavu-core); using ImGui's built-in font\n";
      ImFontConfig config;
      config.SizePixels = std::max(13.0f, std::round(13.0f * scale_));
      return io.Fonts->AddFontDefault(&config);
    }
    // Latin-1 plus the few symbols the panels write: … · − → ↓ ≤ ≥ ▶.
    static const ImWchar ranges[] = {0x0020, 0x00FF, 0x2026, 0x2026, 0x2190, 0x2193, 0x2212, 0x2212,
                                     0x2264, 0x2265, 0x25B6, 0x25B6, 0};
    return io.Fonts->AddFontFromFileTTF(path, pixels, nullptr, ranges);
  };
  ui_font_ = add(kUiFont);  // the first font added is ImGui's default
  mono_font_ = add(kMonoFont);
  if (ui_font_ == nullptr || mono_font_ == nullptr) {
    std::cerr << "fusescope: a font could not be loaded; using ImGui's built-in font\n";
    io.Fonts->Clear();
    ui_font_ = mono_font_ = io.Fonts->AddFontDefault();
  }

  unsigned char* pixels_rgba = nullptr;
  int w = 0, h = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels_rgba, &w, &h);
  const std::uint64_t bytes = std::uint64_t(w) * h * 4;
  auto buffer = std::make_shared<gpu::Buffer>(device_.allocate(bytes, "imgui font atlas"));
  device_.upload(buffer->view(), {reinterpret_cast<const std::byte*>(pixels_rgba), bytes});
  font_texture_ = &textures_->get("imgui.font", w, h, TextureFilter::linear);
  textures_->upload_from_buffer(*font_texture_, std::move(buffer));
  io.Fonts->SetTexID(static_cast<ImTextureID>(font_texture_));
  io.Fonts->ClearTexData();
}

void Renderer::destroy_swapchain_objects() {
  VkDevice dev = device_.handle();
  for (VkFramebuffer fb : framebuffers_) vkDestroyFramebuffer(dev, fb, nullptr);
  framebuffers_.clear();
  for (VkImageView v : views_) vkDestroyImageView(dev, v, nullptr);
  views_.clear();
  images_.clear();
}

void Renderer::create_swapchain() {
  VkDevice dev = device_.handle();
  VkSurfaceCapabilitiesKHR caps;
  check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(device_.physical(), surface_, &caps),
        "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
  VkExtent2D extent = caps.currentExtent;
  if (extent.width == std::numeric_limits<std::uint32_t>::max()) {
    extent = window_.framebuffer_size();
    extent.width = std::clamp(extent.width, caps.minImageExtent.width, caps.maxImageExtent.width);
    extent.height = std::clamp(extent.height, caps.minImageExtent.height, caps.maxImageExtent.height);
  }
  if (extent.width == 0 || extent.height == 0) {  // minimised: keep the old one
    needs_recreate_ = true;
    return;
  }
  std::uint32_t image_count = caps.minImageCount + 1;
  if (caps.maxImageCount > 0) image_count = std::min(image_count, caps.maxImageCount);
  if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT)) {
    throw std::runtime_error("the window's swapchain images cannot be copied (no TRANSFER_SRC usage), "
                             "so screenshots are impossible on this device");
  }
  VkCompositeAlphaFlagBitsKHR alpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
  if (!(caps.supportedCompositeAlpha & alpha)) {
    for (VkCompositeAlphaFlagBitsKHR a :
         {VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR, VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR,
          VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR}) {
      if (caps.supportedCompositeAlpha & a) {
        alpha = a;
        break;
      }
    }
  }

  VkSwapchainCreateInfoKHR ci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  ci.surface = surface_;
  ci.minImageCount = image_count;
  ci.imageFormat = format_;
  ci.imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
  ci.imageExtent = extent;
  ci.imageArrayLayers = 1;
  ci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  ci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  ci.preTransform = caps.currentTransform;
  ci.compositeAlpha = alpha;
  ci.presentMode = VK_PRESENT_MODE_FIFO_KHR;  // always supported; no tearing, paced by the display
  ci.clipped = VK_TRUE;
  ci.oldSwapchain = swapchain_;
  VkSwapchainKHR swapchain = VK_NULL_HANDLE;
  check(vkCreateSwapchainKHR(dev, &ci, nullptr, &swapchain), "vkCreateSwapchainKHR");
  destroy_swapchain_objects();
  if (swapchain_) vkDestroySwapchainKHR(dev, swapchain_, nullptr);
  swapchain_ = swapchain;
  extent_ = extent;

  std::uint32_t count = 0;
  check(vkGetSwapchainImagesKHR(dev, swapchain_, &count, nullptr), "vkGetSwapchainImagesKHR");
  images_.resize(count);
  check(vkGetSwapchainImagesKHR(dev, swapchain_, &count, images_.data()), "vkGetSwapchainImagesKHR");
  for (VkImage image : images_) {
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = image;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = format_;
    vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view = VK_NULL_HANDLE;
    check(vkCreateImageView(dev, &vi, nullptr, &view), "vkCreateImageView (swapchain)");
    views_.push_back(view);
    VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fi.renderPass = render_pass_;
    fi.attachmentCount = 1;
    fi.pAttachments = &view;
    fi.width = extent.width;
    fi.height = extent.height;
    fi.layers = 1;
    VkFramebuffer fb = VK_NULL_HANDLE;
    check(vkCreateFramebuffer(dev, &fi, nullptr, &fb), "vkCreateFramebuffer");
    framebuffers_.push_back(fb);
  }
  // One "render finished" semaphore per image (a present may still wait on the previous one of
  // another image). Grow-only: after our fences, the old presents have consumed theirs.
  while (render_finished_.size() < images_.size()) {
    VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore s = VK_NULL_HANDLE;
    check(vkCreateSemaphore(dev, &si, nullptr, &s), "vkCreateSemaphore");
    render_finished_.push_back(s);
  }
  needs_recreate_ = false;
}

void Renderer::recreate_swapchain() {
  // Only our own frames must be done (their fences); the queue may be busy with compute.
  wait_frames();
  create_swapchain();
}

bool Renderer::begin_frame(double wait_seconds) {
  if (wait_seconds > 0)
    glfwWaitEventsTimeout(wait_seconds);
  else
    glfwPollEvents();
  if (window_.should_close()) return false;
  VkExtent2D size = window_.framebuffer_size();
  while (size.width == 0 || size.height == 0) {  // minimised: nothing to draw into
    glfwWaitEvents();
    if (window_.should_close()) return false;
    size = window_.framebuffer_size();
  }
  if (window_.take_resized() || needs_recreate_ || size.width != extent_.width ||
      size.height != extent_.height) {
    recreate_swapchain();
  }
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  frame_started_ = true;
  return true;
}

void Renderer::save_layout() noexcept {
  ImGuiIO& io = ImGui::GetIO();
  if (ini_path_.empty()) return;
  std::size_t size = 0;
  const char* text = ImGui::SaveIniSettingsToMemory(&size);
  io.WantSaveIniSettings = false;
  try {
    io::write_file_atomically(ini_path_, std::string(text, size));
  } catch (const std::exception& e) {
    std::cerr << "fusescope gui: window layout not saved: " << e.what() << "\n";
  }
}

void Renderer::end_frame() {
  if (!frame_started_) throw std::logic_error("Renderer::end_frame without begin_frame");
  frame_started_ = false;
  ImGui::Render();
  if (ImGui::GetIO().WantSaveIniSettings) save_layout();  // ImGui asks every few seconds after a change
  render(ImGui::GetDrawData(), false);
}

bool Renderer::render(ImDrawData* draw_data, bool capture) {
  VkDevice dev = device_.handle();
  if (needs_recreate_) recreate_swapchain();
  if (needs_recreate_) return false;  // still minimised
  Frame& f = frames_[frame_];
  check(vkWaitForFences(dev, 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences (frame)");
  // Every frame up to the oldest serial a slot has been waited for is done.
  std::uint64_t completed = f.serial;
  for (const Frame& other : frames_) completed = std::min(completed, other.serial);
  textures_->collect(completed);

  std::uint32_t index = 0;
  VkResult r = vkAcquireNextImageKHR(dev, swapchain_, UINT64_MAX, f.image_available,
                                     VK_NULL_HANDLE, &index);
  if (r == VK_ERROR_OUT_OF_DATE_KHR) {
    needs_recreate_ = true;
    return false;
  }
  if (r == VK_SUBOPTIMAL_KHR) {
    needs_recreate_ = true;  // draw this one, recreate before the next
  } else {
    check(r, "vkAcquireNextImageKHR");
  }

  const std::uint64_t serial = serial_ + 1;
  textures_->set_current_serial(serial);
  check(vkResetFences(dev, 1, &f.fence), "vkResetFences");
  check(vkResetCommandBuffer(f.cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(f.cmd, &bi), "vkBeginCommandBuffer (frame)");
  textures_->record_uploads(f.cmd, serial);

  VkClearValue clear{};
  clear.color = {{style::kBackground.x, style::kBackground.y, style::kBackground.z, 1.0f}};
  VkRenderPassBeginInfo rb{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rb.renderPass = render_pass_;
  rb.framebuffer = framebuffers_[index];
  rb.renderArea = {{0, 0}, extent_};
  rb.clearValueCount = 1;
  rb.pClearValues = &clear;
  vkCmdBeginRenderPass(f.cmd, &rb, VK_SUBPASS_CONTENTS_INLINE);
  imgui_->draw(f.cmd, draw_data, frame_, extent_);
  vkCmdEndRenderPass(f.cmd);

  if (capture) {
    const VkDeviceSize bytes = VkDeviceSize(extent_.width) * extent_.height * 4;
    if (capture_buffer_.size < bytes) {
      destroy_host_buffer(device_, capture_buffer_);  // no frame uses it: captures wait
      capture_buffer_ = create_host_buffer(device_, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                           "screenshot");
    }
    VkImage image = images_[index];
    VkImageMemoryBarrier to_src = image_barrier(
        image, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
        VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr, 1, &to_src);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent_.width, extent_.height, 1};
    vkCmdCopyImageToBuffer(f.cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, capture_buffer_.buffer,
                           1, &region);
    VkImageMemoryBarrier back = image_barrier(image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                                  VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                                                  VK_ACCESS_TRANSFER_READ_BIT, 0);
    VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &host, 0, nullptr, 1, &back);
    captured_extent_ = extent_;
  }
  check(vkEndCommandBuffer(f.cmd), "vkEndCommandBuffer (frame)");

  VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &f.image_available;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &f.cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &render_finished_[index];
  device_.queue_submit(si, f.fence, "vkQueueSubmit (frame)");
  f.serial = serial;
  serial_ = serial;
  textures_->set_current_serial(serial_ + 1);

  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &render_finished_[index];
  pi.swapchainCount = 1;
  pi.pSwapchains = &swapchain_;
  pi.pImageIndices = &index;
  {
    auto queue_lock = device_.lock_queue();
    r = vkQueuePresentKHR(device_.queue(), &pi);
  }
  if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) {
    needs_recreate_ = true;
  } else {
    check(r, "vkQueuePresentKHR");
  }
  frame_ = (frame_ + 1) % kFramesInFlight;
  if (capture) {
    check(vkWaitForFences(dev, 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences (screenshot)");
  }
  return true;
}

void Renderer::save_screenshot(const std::string& png_path) {
  if (frame_started_) {
    throw std::logic_error("Renderer::save_screenshot inside a frame: call it after end_frame");
  }
  ImDrawData* data = ImGui::GetDrawData();
  if (data == nullptr || !data->Valid) {
    throw std::logic_error("Renderer::save_screenshot before the first end_frame: nothing was presented");
  }
  bool done = false;
  for (int attempt = 0; attempt < 3 && !done; ++attempt) done = render(data, true);
  if (!done) throw std::runtime_error("screenshot: the swapchain kept going out of date");

  const std::uint32_t w = captured_extent_.width, h = captured_extent_.height;
  std::vector<std::uint8_t> rgba(std::size_t(w) * h * 4);
  const auto* src = static_cast<const std::uint8_t*>(capture_buffer_.mapped);
  const bool bgra = format_ == VK_FORMAT_B8G8R8A8_UNORM || format_ == VK_FORMAT_B8G8R8A8_SRGB;
  for (std::size_t i = 0; i < std::size_t(w) * h; ++i) {
    rgba[4 * i + 0] = src[4 * i + (bgra ? 2 : 0)];
    rgba[4 * i + 1] = src[4 * i + 1];
    rgba[4 * i + 2] = src[4 * i + (bgra ? 0 : 2)];
    rgba[4 * i + 3] = 255;  // the window is opaque; the swapchain's alpha means nothing
  }
  io::Image image;
  image.width = static_cast<int>(w);
  image.height = static_cast<int>(h);
  image.channels = 4;
  image.pixels = std::move(rgba);
  io::write_file_atomically(png_path, io::encode_png(image));
}

}  // namespace fusescope::app
