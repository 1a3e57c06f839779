// The window in play mode, unattended, for bench/soak.sh (issue 12 §6; a benchmark, not a test):
// a model loaded, the tensor where play stands selected, and play on (what the space key does) at a high speed;
// when play reaches the last node it starts over (Home, then space), for SECONDS. Every step
// makes new pictures of the selected tensor on the device and uploads them as textures: the
// paths a long session runs most. soak.sh samples this process' RSS from outside.
// Exits 1 when a request failed or the validation layer spoke (it runs with validation on, unless
// --no-validation: the layer's own bookkeeping grows by ~2 MiB/s in this loop on lavapipe with
// Mesa 22.3 and the 1.3.239 layer, so RSS says what fusescope does only without it).
//   fusescope_gui_play MODEL SECONDS [NODES_PER_SECOND=30] [--no-validation]   (under xvfb-run without a display)
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

int main(int argc, char** argv) try {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool validation = std::erase(args, std::string("--no-validation")) == 0;
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: fusescope_gui_play MODEL SECONDS [NODES_PER_SECOND] [--no-validation]\n");
    return 2;
  }
  const std::string model = args[0];
  const double seconds = std::atof(args[1].c_str());
  const float speed = args.size() > 2 ? static_cast<float>(std::atof(args[2].c_str())) : 30.0f;
  app::Window window(app::WindowOptions{1280, 800, "fusescope play soak", true});
  gpu::DeviceOptions o;
  o.validation = validation;
  o.instance_extensions = app::Window::required_instance_extensions();
  o.present_support = app::Window::can_present;
  gpu::Device device(o);
  app::RendererOptions ro;
  ro.font_scale = 1.0f;
  std::size_t frames = 0, rounds = 0;
  {
    app::Renderer renderer(device, window, ro);
    app::Session session(device);
    app::UiState ui;
    ui.play_nodes_per_second = speed;
    app::LoadRequest load;
    load.source.model = model;
    session.post(load);
    const auto start = std::chrono::steady_clock::now();
    std::size_t looked_at = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
      if (!renderer.begin_frame()) break;
      session.await_selection();
      const app::Snapshot s = session.snapshot();
      if (s.requests_failed > 0) {
        std::fprintf(stderr, "gui_play: a request failed: %s\n", s.log.empty() ? "?" : s.log.back().text.c_str());
        return 1;
      }
      // Idle and not playing (just loaded, or play stopped at the end): at the end, back to the
      // start (Home); then play (space). Decided on an idle snapshot only, so a stale position
      // never stops play again (handle_keys_and_play stops it at the end).
      if (s.model && !s.busy && s.pending == 0 && !ui.playing) {
        if (s.position >= s.model->reference.size()) {
          session.post(app::ResetRequest{});
        } else {
          ui.playing = true;
          ui.last_play_step = 0;
          if (s.position == 0) ++rounds;
        }
      }
      // Look at where play is, as a user following along does: a new picture every step.
      if (s.model && s.position > 0 && s.position != looked_at && s.pending == 0) {
        looked_at = s.position;
        app::select_value(session, ui, s.model->reference[s.position - 1].output);
      }
      app::upload_pictures(s, ui, renderer.textures());
      app::handle_keys_and_play(session, s, ui);
      app::draw_window(session, s, ui, renderer.textures(), renderer.mono_font());
      renderer.end_frame();
      ++frames;
    }
    session.wait_idle();
  }
  std::printf("gui_play: %s, %zu frames, %zu rounds through the network in %.0f s\n", model.c_str(), frames, rounds,
              seconds);
  if (!device.validation_messages().empty()) {
    for (const auto& m : device.validation_messages()) std::fprintf(stderr, "%s\n", m.c_str());
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gui_play: %s\n", e.what());
  return 1;
}
