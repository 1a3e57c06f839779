// The window's frame times on whatever device and display there is (lavapipe under Xvfb here):
//   1. an empty frame (the renderer's own cost: acquire, record, submit, present);
//   2. the whole window with a model loaded, idle (every panel drawn, pictures on screen);
//   3. the same while the worker runs the whole network again and again in the background
//      (compute and UI share one queue: this is what the queue lock costs the UI);
//   4. selecting a tensor: from the click until its picture is on screen, in ms and frames.
// A benchmark, not a test: it prints a table of medians and p99s. Targets (issue 9): >= 30
// frames per second idle at 1280x800 with ResNet50 loaded; p99 <= 50 ms during a run.
//   bench/gui_frames.sh [MODEL] [SIZE] [FRAMES]   (runs this under xvfb-run when needed)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "app/panels.hpp"
#include "app/renderer.hpp"
#include "app/session.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"

using namespace fusescope;
using clock_type = std::chrono::steady_clock;

namespace {

struct Stats {
  double median = 0, p99 = 0, max = 0;
  std::size_t n = 0;
};

Stats stats_of(std::vector<double> ms) {
  Stats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.n = ms.size();
  s.median = ms[ms.size() / 2];
  s.p99 = ms[std::min(ms.size() - 1, static_cast<std::size_t>(static_cast<double>(ms.size()) * 0.99))];
  s.max = ms.back();
  return s;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string model = argc > 1 ? argv[1] : "resnet50-keras";
  const std::string size = argc > 2 ? argv[2] : "224";
  const int frames = argc > 3 ? std::atoi(argv[3]) : 200;
  app::Window window(app::WindowOptions{1280, 800, "fusescope frame times", true});
  gpu::DeviceOptions o;
  o.instance_extensions = app::Window::required_instance_extensions();
  o.present_support = app::Window::can_present;
  gpu::Device device(o);
  app::RendererOptions ro;
  ro.font_scale = 1.0f;
  app::Renderer renderer(device, window, ro);
  app::Session session(device);
  app::UiState ui;

  auto frame = [&](bool panels) {
    const auto t0 = clock_type::now();
    if (!renderer.begin_frame()) std::exit(1);
    if (panels) {
      session.await_selection();  // as the window does
      const app::Snapshot s = session.snapshot();
      app::upload_pictures(s, ui, renderer.textures());
      app::draw_window(session, s, ui, renderer.textures(), renderer.mono_font());
    }
    renderer.end_frame();
    return ms_since(t0);
  };

  for (int i = 0; i < 10; ++i) frame(false);
  std::vector<double> empty;
  for (int i = 0; i < frames; ++i) empty.push_back(frame(false));

  // Load (no oracle: its float64 pass is not what this measures), keep drawing meanwhile.
  app::LoadRequest load;
  load.source.model = model;
  load.source.size = size;
  load.oracle = false;
  ui.tab = app::Tab::compare;
  const auto load_start = clock_type::now();
  session.post(load);
  std::vector<double> loading;
  while (true) {
    loading.push_back(frame(true));
    const app::Snapshot s = session.snapshot();
    if (!s.busy && s.pending == 0 && s.requests_done > 0) break;
  }
  const double load_ms = ms_since(load_start);
  if (session.snapshot().requests_failed > 0) {
    std::fprintf(stderr, "gui_frames: loading %s failed: %s\n", model.c_str(), session.snapshot().log.back().text.c_str());
    return 1;
  }
  for (int i = 0; i < 10; ++i) frame(true);
  std::vector<double> idle;
  for (int i = 0; i < frames; ++i) idle.push_back(frame(true));

  // Frames while the whole network runs in the background, over and over.
  std::vector<double> busy;
  std::size_t runs = 0;
  const auto busy_start = clock_type::now();
  while (busy.size() < static_cast<std::size_t>(frames) || runs < 2) {
    const app::Snapshot s = session.snapshot();
    if (!s.busy && s.pending == 0) {
      session.post(app::RunAllRequest{});
      ++runs;
    }
    busy.push_back(frame(true));
  }
  const double busy_ms = ms_since(busy_start);
  session.wait_idle();

  // Selecting a tensor: click to picture, for a few layers across the network.
  const auto rows = session.snapshot().model->reference;
  std::vector<double> select_ms, select_frames;
  for (std::size_t k = 1; k <= 8; ++k) {
    const std::string value = rows[k * (rows.size() - 1) / 8].output;
    const auto t0 = clock_type::now();
    session.post(app::SelectRequest{value, -1, 0});
    int n = 0;
    while (true) {
      frame(true);
      ++n;
      const app::Snapshot s = session.snapshot();
      // The frame that uploaded and drew this tensor's picture has just been submitted.
      if (s.tensor && s.tensor->layer == value && ui.uploaded["tensor.reference"] == s.tensor->reference.id) break;
    }
    select_ms.push_back(ms_since(t0));
    select_frames.push_back(n);
  }

  const Stats e = stats_of(empty), l = stats_of(loading), i = stats_of(idle), b = stats_of(busy);
  const Stats sm = stats_of(select_ms), sf = stats_of(select_frames);
  std::printf("device %s, window %ux%u, model %s at %s\n\n", device.info().name.c_str(),
              renderer.framebuffer_extent().width, renderer.framebuffer_extent().height, model.c_str(), size.c_str());
  std::printf("%-44s %7s %10s %10s %10s %8s\n", "scenario", "frames", "median ms", "p99 ms", "max ms", "fps");
  auto row = [](const char* name, const Stats& s) {
    std::printf("%-44s %7zu %10.2f %10.2f %10.2f %8.1f\n", name, s.n, s.median, s.p99, s.max,
                s.median > 0 ? 1000.0 / s.median : 0.0);
  };
  row("empty frame", e);
  row("all panels, model loading (worker busy)", l);
  row("all panels, model loaded, idle", i);
  row("all panels, full network runs in background", b);
  std::printf("\nload (reference + candidate, no oracle): %.1f s; %zu background runs in %.1f s\n", load_ms / 1000,
              runs, busy_ms / 1000);
  std::printf("select a tensor -> picture on screen: median %.1f ms (%.0f frames), max %.1f ms (%.0f frames)\n",
              sm.median, sf.median, sm.max, sf.max);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gui_frames: %s\n", e.what());
  return 1;
}
