// What the [gui] tests share: a window + presenting device (validation on) + renderer torn down
// in the right order, PNG reading, where test output goes and where fetched models lie.
#pragma once
#include <catch2/catch.hpp>
#include <stb/stb_image.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/panels.hpp"
#include "app/renderer.hpp"
#include "app/session.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"

namespace fusescope::testing_gui {

inline std::string out_path(const std::string& name) {
  const char* dir = std::getenv("FUSESCOPE_GUI_OUT");
  std::filesystem::path p = dir && *dir ? dir : std::filesystem::temp_directory_path().string();
  std::filesystem::create_directories(p);
  return (p / name).string();
}

inline gpu::DeviceOptions present_options(std::optional<std::uint64_t> memory_cap = {}) {
  gpu::DeviceOptions o;
  o.memory_cap = memory_cap;
  o.validation = true;
  o.instance_extensions = app::Window::required_instance_extensions();
  o.present_support = app::Window::can_present;
  return o;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Window, device and renderer in the order they must be torn down (renderer first).
struct Gui {
  app::Window window;
  gpu::Device device;
  std::unique_ptr<app::Renderer> renderer;

  // memory_cap: the device memory fusescope may reserve (gpu::DeviceOptions::memory_cap).
  explicit Gui(app::WindowOptions w, std::optional<std::uint64_t> memory_cap = {})
      : window(w), device(present_options(memory_cap)) {
    app::RendererOptions ro;
    ro.font_scale = 1.0f;  // Xvfb reports 1 anyway; fixed so pixel positions are known
    REQUIRE(device.validation_enabled());  // the checks below would prove nothing without it
    renderer = std::make_unique<app::Renderer>(device, window, ro);
  }
  // All validation messages so far, after the renderer released everything it made.
  std::vector<std::string> finish() {
    renderer.reset();
    return device.validation_messages();
  }
};

struct Png {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgba;
  const std::uint8_t* at(int x, int y) const { return &rgba[(std::size_t(y) * width + x) * 4]; }
};

inline Png read_png(const std::string& path) {
  Png png;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &png.width, &png.height, &channels, 4);
  REQUIRE(data != nullptr);
  png.rgba.assign(data, data + std::size_t(png.width) * png.height * 4);
  stbi_image_free(data);
  return png;
}

inline std::size_t distinct_colours(const Png& png) {
  std::set<std::uint32_t> colours;
  for (std::size_t i = 0; i + 3 < png.rgba.size(); i += 4) {
    colours.insert(png.rgba[i] | png.rgba[i + 1] << 8 | png.rgba[i + 2] << 16);
  }
  return colours.size();
}

// A model fetched by scripts/fetch-models.sh; empty when absent (the CTest entry of a test that
// needs one checks for the file first and reports SKIPPED).
inline std::filesystem::path fetched_model(const std::filesystem::path& relative) {
  const std::filesystem::path path = std::filesystem::path(FUSESCOPE_SOURCE_DIR) / "assets" / "models" / relative;
  return std::filesystem::exists(path) ? path : std::filesystem::path{};
}

// Renders frames (panels and all) until the session is idle and its pictures are uploaded.
inline void settle(Gui& gui, app::Session& session, app::UiState& ui, int extra_frames = 2) {
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(gui.renderer->begin_frame());
    const app::Snapshot s = session.snapshot();
    app::upload_pictures(s, ui, gui.renderer->textures());
    app::draw_window(session, s, ui, gui.renderer->textures(), gui.renderer->mono_font());
    gui.renderer->end_frame();
    if (!s.busy && s.pending == 0 && session.snapshot().version == s.version && extra_frames-- <= 0) return;
  }
  FAIL("the session never became idle");
}

inline app::LoadRequest zoo(const std::string& model, const std::string& size, const std::string& candidate) {
  app::LoadRequest r;
  r.source.model = model;
  r.source.size = size;
  r.candidate = candidate;
  return r;
}

inline void require_no_validation_messages(Gui& gui) {
  const std::vector<std::string> messages = gui.finish();
  INFO(joined(messages));
  REQUIRE(messages.empty());
}

}  // namespace fusescope::testing_gui
