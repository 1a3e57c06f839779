// The window's renderer on a real display (Xvfb under CTest, see run_gui_tests.sh), with the
// Khronos validation layer on: any validation message fails the test that caused it.
#include <GLFW/glfw3.h>
#include <catch2/catch.hpp>
#include <imgui.h>
#include <stb/stb_image.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <atomic>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "app/renderer.hpp"
#include "app/style.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"
#include "gui_support.hpp"

using namespace fusescope;
using namespace fusescope::testing_gui;

namespace {

void draw_some_ui() {
  ImGui::SetNextWindowPos(ImVec2(20, 20), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(420, 220), ImGuiCond_Always);
  ImGui::Begin("fusescope renderer");
  ImGui::TextUnformatted("DejaVu Sans: the quick brown fox, rel-L2 3.1e-07");
  ImGui::PushFont(ImGui::GetIO().Fonts->Fonts[1]);
  ImGui::TextUnformatted("DejaVu Sans Mono   1234567.890");
  ImGui::PopFont();
  ImGui::TextColored(app::style::kAccent, "selected: conv2_block1_1_conv");
  ImGui::TextColored(app::style::kWarning, "over threshold: 2.4e-03");
  ImGui::Button("Step");
  ImGui::SameLine();
  static bool check = true;
  ImGui::Checkbox("fused", &check);
  ImGui::End();
}

}  // namespace

TEST_CASE("a window opens, renders frames and writes a screenshot of its size", "[gui][screenshot]") {
  Gui gui(app::WindowOptions{800, 500, "fusescope test", true});
  app::Renderer& r = *gui.renderer;
  REQUIRE(r.ui_font() != nullptr);
  REQUIRE(r.mono_font() != nullptr);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(r.begin_frame());
    draw_some_ui();
    r.end_frame();
  }
  const std::string path = out_path("gui-screenshot.png");
  std::filesystem::remove(path);
  r.save_screenshot(path);
  REQUIRE(std::filesystem::exists(path));
  REQUIRE_FALSE(std::filesystem::exists(path + ".tmp"));
  Png png = read_png(path);
  CHECK(png.width == 800);
  CHECK(png.height == 500);
  CHECK(static_cast<std::uint32_t>(png.width) == r.framebuffer_extent().width);
  // Background, window body and title, text (anti-aliased: many greys), accent and warning.
  CHECK(distinct_colours(png) >= 16);
  auto messages = gui.finish();
  INFO(joined(messages));
  CHECK(messages.empty());
}

TEST_CASE("a texture filled from a gpu::Buffer shows its exact pattern", "[gui][texture_upload]") {
  Gui gui(app::WindowOptions{640, 400, "fusescope texture test", true});
  app::Renderer& r = *gui.renderer;
  // A pattern with a different colour in every texel, alpha 255 so the screen shows it as is.
  const int w = 37, h = 23;
  std::vector<std::uint32_t> words(std::size_t(w) * h);
  std::vector<std::uint8_t> bytes(words.size() * 4);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const std::uint8_t R = static_cast<std::uint8_t>(x * 7), G = static_cast<std::uint8_t>(y * 11),
                         B = static_cast<std::uint8_t>((x * 13 + y * 29) & 255), A = 255;
      words[std::size_t(y) * w + x] = R | G << 8 | B << 16 | std::uint32_t(A) << 24;
      std::uint8_t* p = &bytes[(std::size_t(y) * w + x) * 4];
      p[0] = R, p[1] = G, p[2] = B, p[3] = A;  // what "bytes R,G,B,A in memory" means
    }
  }
  auto buffer = std::make_shared<gpu::Buffer>(gui.device.allocate(words.size() * 4, "test pattern"));
  gui.device.upload(buffer->view(), std::as_bytes(std::span<const std::uint32_t>(words)));

  app::Texture& tex = r.textures().get("test:pattern", w, h);
  r.textures().upload_from_buffer(tex, buffer);
  buffer.reset();  // the registry keeps it alive until the frame that copies it is done

  const int zoom = 3, x0 = 100, y0 = 120;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(r.begin_frame());
    ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_Always);
    ImGui::SetNextWindowSize(ImVec2(400, 300), ImGuiCond_Always);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
    ImGui::Begin("image", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoBackground);
    ImGui::SetCursorScreenPos(ImVec2(x0, y0));
    ImGui::Image(static_cast<ImTextureID>(&tex), ImVec2(float(w * zoom), float(h * zoom)));
    ImGui::End();
    ImGui::PopStyleVar();
    r.end_frame();
  }
  std::vector<std::uint8_t> back = r.textures().read_back(tex);
  REQUIRE(back.size() == bytes.size());
  CHECK(back == bytes);

  const std::string path = out_path("gui-texture.png");
  r.save_screenshot(path);
  Png png = read_png(path);
  int wrong = 0;
  for (int y = 0; y < h * zoom; ++y) {
    for (int x = 0; x < w * zoom; ++x) {
      const std::uint8_t* got = png.at(x0 + x, y0 + y);
      const std::uint8_t* want = &bytes[(std::size_t(y / zoom) * w + x / zoom) * 4];
      if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2]) {
        if (wrong++ < 5) {
          UNSCOPED_INFO("screen (" << x0 + x << "," << y0 + y << ") = " << int(got[0]) << ","
                                   << int(got[1]) << "," << int(got[2]) << " want texel ("
                                   << x / zoom << "," << y / zoom << ") " << int(want[0]) << ","
                                   << int(want[1]) << "," << int(want[2]));
        }
      }
    }
  }
  CHECK(wrong == 0);
  // Just outside the image: the background, not the pattern.
  const std::uint8_t* outside = png.at(x0 - 1, y0 - 1);
  CHECK((outside[0] != bytes[0] || outside[1] != bytes[1] || outside[2] != bytes[2]));

  // A new size recreates the image (the old one retired until no frame uses it).
  app::Texture& again = r.textures().get("test:pattern", 8, 8);
  CHECK(&again == &tex);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(r.begin_frame());
    ImGui::GetForegroundDrawList()->AddImage(static_cast<ImTextureID>(&again), ImVec2(10, 10),
                                             ImVec2(26, 26));
    r.end_frame();
  }
  std::vector<std::uint8_t> cleared = r.textures().read_back(again);
  CHECK(cleared == std::vector<std::uint8_t>(8 * 8 * 4, 0));

  auto messages = gui.finish();
  INFO(joined(messages));
  CHECK(messages.empty());
}

TEST_CASE("resizing the window keeps rendering", "[gui][resize]") {
  Gui gui(app::WindowOptions{640, 400, "fusescope resize test", true});
  app::Renderer& r = *gui.renderer;
  auto frames_until = [&](std::uint32_t w, std::uint32_t h) {
    for (int i = 0; i < 60; ++i) {
      REQUIRE(r.begin_frame());
      draw_some_ui();
      r.end_frame();
      if (r.framebuffer_extent().width == w && r.framebuffer_extent().height == h && i >= 2) return true;
    }
    return false;
  };
  REQUIRE(frames_until(640, 400));
  glfwSetWindowSize(gui.window.handle(), 960, 600);
  CHECK(frames_until(960, 600));
  glfwSetWindowSize(gui.window.handle(), 500, 320);
  CHECK(frames_until(500, 320));
  const std::string path = out_path("gui-resized.png");
  r.save_screenshot(path);
  Png png = read_png(path);
  CHECK(png.width == 500);
  CHECK(png.height == 320);
  auto messages = gui.finish();
  INFO(joined(messages));
  CHECK(messages.empty());
}

// Compute and the UI share one VkQueue from two threads: the validation layer's thread checks
// report any submit, wait-idle or present made without Device::lock_queue(), and any use of a
// command pool from two threads at once.
TEST_CASE("compute on a worker thread while the UI thread renders", "[gui][threads]") {
  Gui gui(app::WindowOptions{640, 400, "fusescope threads test", true});
  app::Renderer& r = *gui.renderer;
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0}, mismatches{0};
  std::thread worker([&] {
    std::vector<std::uint32_t> words(64 * 1024), back(words.size());
    gpu::Buffer buffer = gui.device.allocate(words.size() * 4, "worker");
    for (std::uint32_t round = 0; !stop.load() || round < 5; ++round) {
      for (std::size_t i = 0; i < words.size(); ++i) words[i] = std::uint32_t(i * 2654435761u) ^ round;
      gui.device.upload(buffer.view(), std::as_bytes(std::span<const std::uint32_t>(words)));
      gui.device.download(buffer.view(), std::as_writable_bytes(std::span<std::uint32_t>(back)));
      if (back != words) ++mismatches;
      ++rounds;
    }
  });
  for (int i = 0; i < 30; ++i) {
    REQUIRE(r.begin_frame());
    draw_some_ui();
    r.end_frame();
  }
  stop = true;
  worker.join();
  CHECK(rounds.load() >= 5);
  CHECK(mismatches.load() == 0);
  auto messages = gui.finish();
  INFO(joined(messages));
  CHECK(messages.empty());
}
