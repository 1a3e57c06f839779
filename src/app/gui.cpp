#include "app/gui.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cstdlib>
#include <imgui.h>
#include <filesystem>

#include "app/panels.hpp"
#include "app/renderer.hpp"
#include "app/settings.hpp"
#include "app/texture_registry.hpp"
#include "app/window.hpp"
#include "gpu/device.hpp"
#include "gpu/error.hpp"

namespace fusescope::app {

namespace {

Settings settings_of(const Snapshot& s, float font_zoom) {
  Settings out;
  out.model = s.model->source.model;
  out.input = s.model->source.input;
  out.size = s.model->source.size;
  out.shape = s.model->source.shape;
  out.candidate = s.model->candidate_name;
  out.font_zoom = font_zoom;
  return out;
}

void fill_form(UiState& ui, const workbench::ModelSource& src, const std::string& candidate) {
  std::snprintf(ui.model_path, sizeof ui.model_path, "%s", src.model.c_str());
  std::snprintf(ui.input_path, sizeof ui.input_path, "%s", src.input.c_str());
  std::snprintf(ui.size_text, sizeof ui.size_text, "%s", src.size.c_str());
  const auto all = workbench::standard_candidates();
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].name == candidate) ui.candidate = static_cast<int>(i);
}

// The reference value a --select names: a value, or a node (its output).
std::string value_named(const ModelSnapshot& m, const std::string& name) {
  for (const NodeRow& n : m.reference)
    if (n.output == name || n.name == name) return n.output;
  throw ops::InvalidArgument(fmt::format("--select {}: {} has no node or tensor of that name", name, m.name));
}

// What to load on a new device so the user finds what they had: the model, its input, the
// candidate, layout, precision, conv algorithm and oracle choice as they were.
LoadRequest reload_of(const ModelSnapshot& model, const workbench::StudyReport* report) {
  LoadRequest again;
  again.source = model.source;
  again.candidate = model.candidate_name;
  again.layout = model.candidate_choice.layout;
  if (report) {
    again.reference_precision = report->reference_precision;
    again.conv_algorithm = report->reference_algorithm;
    again.autotune = report->reference_autotune;
    again.oracle = report->has_oracle;
  }
  return again;
}

}  // namespace

int run_gui(const GuiOptions& o) {
  const bool scripted = !o.screenshot.empty();
  const bool remember = o.remember && !scripted;
  const std::string dir = settings_directory();
  Settings saved = remember ? read_settings(dir) : Settings{};
  // Checked before anything opens: a wrong --panel is a usage error, not a blank window, and a
  // screenshot that could not be written is known before the work, not after it.
  if (!o.panel.empty()) parse_tab(o.panel);
  if (scripted) {
    const std::filesystem::path parent = std::filesystem::absolute(o.screenshot).parent_path();
    if (!std::filesystem::is_directory(parent)) {
      throw ops::InvalidArgument(fmt::format("--screenshot {}: the directory {} does not exist", o.screenshot,
                                             parent.string()));
    }
  }

  WindowOptions wo;
  wo.width = o.width;
  wo.height = o.height;
  wo.title = "fusescope";
  Window window(wo);
  UiState ui;
  if (!o.source.empty()) {
    ui.tab = Tab::camera;
    std::snprintf(ui.camera_source, sizeof ui.camera_source, "%s", o.source.c_str());
    if (o.load) std::snprintf(ui.camera_model, sizeof ui.camera_model, "%s", o.load->source.model.c_str());
  }
  if (!o.panel.empty()) ui.tab = parse_tab(o.panel);
  for (const gpu::DeviceInfo& d : gpu::Device::enumerate()) ui.devices.push_back(d.name);
  std::optional<std::uint32_t> device_index = o.device;
  std::optional<LoadRequest> load = o.load;
  if (!load && remember && !saved.model.empty()) {
    LoadRequest r;
    r.source.model = saved.model;
    r.source.input = saved.input;
    r.source.size = saved.size;
    r.source.shape = saved.shape;
    if (!saved.candidate.empty()) r.candidate = saved.candidate;
    load = r;
  }
  if (load) {
    fill_form(ui, load->source, load->candidate);
    ui.nhwc = load->layout == graph::Layout::nhwc;
  }
  float font_zoom = saved.font_zoom;
  bool reopen_once = o.reopen_device_after_load;
  bool lose_once = o.lose_device_after_load;
  int exit_code = 0;
  int device_losses = 0;
  std::string device_lost_reason;  // set between a loss and the log line of the rebuilt session

  // One pass per device: switching devices tears down the session, the renderer and the device
  // (in that order) and builds them again on the same window, reloading what was loaded.
  for (;;) {
    gpu::DeviceOptions dopt;
    dopt.index = device_index;
    dopt.validation = o.validation;
    dopt.instance_extensions = Window::required_instance_extensions();
    dopt.present_support = Window::can_present;
    gpu::Device device(dopt);
    ui.device = static_cast<int>(device.info().index);
    RendererOptions ro;
    ro.font_scale = o.font_scale;
    if (remember) {
      std::filesystem::create_directories(dir);
      ro.ini_path = dir + "/imgui.ini";
    }
    Renderer renderer(device, window, ro);
    ImGui::GetIO().FontGlobalScale = font_zoom;
    ui.uploaded.clear();  // new device, new textures
    Session session(device);
    session.set_on_done(&Window::wake);  // its results drawn at once, not at the next idle tick
    if (!device_lost_reason.empty()) {
      const std::string what = fmt::format(
          "the device was lost ({}); recreated it{}, settings kept", device_lost_reason,
          load ? " and reloaded " + load->source.model : "");
      session.note(LogLine::Level::error, what);
      fmt::print("fusescope gui: {}\n", what);
      if (o.on_device_rebuilt) o.on_device_rebuilt(what, load ? &*load : nullptr);
      device_lost_reason.clear();
    }
    if (load) session.post(*load);
    CameraSession camera(device);
    const bool camera_scripted = scripted && !o.source.empty();
    if (!o.source.empty()) {
      CameraOpenRequest cr;
      cr.source = ui.camera_source;
      cr.model = ui.camera_model;
      camera.open(cr);
    }
    // The scripted steps wait for the load: they need the model's names.
    bool script_posted = !load;
    int frames_after_idle = 0;
    bool closed = true;
    std::shared_ptr<const ModelSnapshot> last_model;  // what to reload should the device be lost
    std::shared_ptr<const workbench::StudyReport> last_report;

    // How long the next frame may wait for an event (Renderer::begin_frame): on a CPU Vulkan
    // driver a frame drawn for nobody is CPU time the worker does not get (a scripted resnet45
    // load and kernel edit took 98-101 s under frames drawn flat out, 56-57 s without).
    double wait_for_events = 0;
    try {
    while (renderer.begin_frame(wait_for_events)) {
      // A scripted picture shows the state, not wherever the display's pointer happens to rest
      // (Xvfb parks it mid-screen, which would hover a plot and open a tooltip).
      if (scripted) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      session.await_selection();  // a click's picture on the next frame (bounded; see session.hpp)
      const Snapshot s = session.snapshot();
      const CameraSnapshot cs = camera.snapshot();
      // Something moving (play, live frames, a drag or an edit in progress) wants every frame;
      // the worker's progress ten a second; an idle window only input and the worker's "done".
      const bool moving = ui.playing || (cs.open && !cs.paused) || ImGui::IsAnyMouseDown() || ImGui::IsAnyItemActive();
      wait_for_events = moving ? 0.0 : s.busy || s.pending > 0 ? 0.1 : scripted ? 0.0 : 0.25;
      if (s.model) last_model = s.model, last_report = s.report;
      if (device.lost()) break;  // a worker found it so: rebuilt below
      if (lose_once && s.model && !s.busy && s.pending == 0) {
        lose_once = false;
        device.lose_at_next_submit();
        session.post(RunAllRequest{});
      }
      // Scripted: the picture shows a settled frame — paused after a few, or the source's last.
      if (camera_scripted && cs.open && !cs.paused && (cs.frames_done >= 3 || cs.ended)) camera.set_paused(true);
      if (reopen_once && s.model && !s.busy && s.pending == 0) {
        // The test seam for the device switch (one device here): the same device, reopened.
        reopen_once = false;
        ui.switch_device = ui.device;
      }
      if (!script_posted && !s.busy && s.pending == 0 && s.requests_done > 0) {
        script_posted = true;
        if (s.model) {
          // Each request counted, so "done" below means these ran, not an older snapshot's idle.
          auto post = [&](Request r) {
            session.post(std::move(r));
            ++ui.script_requests;
          };
          ui.script_requests = s.requests_done;
          for (const KernelEditRequest& edit : o.kernel_edits) post(edit);
          if (o.step || o.run_block) post(ResetRequest{});
          if (o.step) post(StepRequest{*o.step});
          if (o.run_block)
            for (std::size_t i = 0; i < *o.run_block; ++i) post(BlockRequest{});
          if (!o.run_to.empty()) post(RunToRequest{o.run_to});
          std::string select = o.select;
          if (select.empty() && (o.step || o.run_block || !o.run_to.empty())) {
            // Look at where the stepping stopped: resolved after it ran (see below).
            select = "@position";
          }
          if (!select.empty() && select != "@position") {
            try {
              select_value(session, ui, value_named(*s.model, select));
            } catch (const std::exception& e) {
              fmt::print(stderr, "fusescope gui: {}\n", e.what());
              exit_code = 2;
            }
          } else if (select == "@position") {
            ui.select_position_when_idle = true;
          }
        }
      }
      if (ui.select_position_when_idle && s.requests_done >= ui.script_requests && s.model && s.position > 0) {
        ui.select_position_when_idle = false;
        select_value(session, ui, s.model->reference[s.position - 1].output);
      }
      for (const std::string& path : window.take_dropped_paths()) {
        const std::string ext = std::filesystem::path(path).extension().string();
        char* dst = ext == ".onnx" ? ui.model_path : ui.input_path;
        std::snprintf(dst, 512, "%s", path.c_str());
        session.post(load_request_from_form(s, ui));
      }
      upload_pictures(s, ui, renderer.textures());
      upload_camera_frame(cs, ui, renderer.textures());
      handle_keys_and_play(session, s, ui);
      draw_window(session, s, ui, renderer.textures(), renderer.mono_font(), &camera, &cs);
      renderer.end_frame();

      if (ui.switch_device) {
        // Reload on the new device what this one had loaded (or was asked to load).
        device_index = static_cast<std::uint32_t>(*ui.switch_device);
        ui.switch_device.reset();
        if (s.model) load = reload_of(*s.model, s.report.get());
        font_zoom = ImGui::GetIO().FontGlobalScale;
        ui.script_requests = 0;
        closed = false;
        fmt::print("fusescope gui: switching to device {}\n", *device_index);
        break;
      }
      if (scripted) {
        const bool camera_idle = !camera_scripted ||
                                 (!cs.opening && (!cs.error.empty() || (cs.frames_done > 0 && (cs.paused || cs.ended) &&
                                                                        !cs.running &&
                                                                        camera.snapshot().version == cs.version)));
        const bool idle = script_posted && !s.busy && s.pending == 0 && !ui.select_position_when_idle &&
                          !reopen_once && !lose_once && s.requests_done >= ui.script_requests &&
                          session.snapshot().version == s.version && camera_idle;
        frames_after_idle = idle ? frames_after_idle + 1 : 0;
        if (frames_after_idle >= std::max(1, o.frames)) {
          renderer.save_screenshot(o.screenshot);
          if (s.requests_failed > 0) {
            // As every subcommand: 2 when what it was given is wrong, 1 for anything else.
            for (const LogLine& l : s.log)
              if (l.level != LogLine::Level::info) fmt::print(stderr, "fusescope: gui: {}\n", l.text);
            exit_code = s.requests_bad_input == s.requests_failed ? 2 : 1;
          }
          if (camera_scripted && !cs.error.empty()) {
            fmt::print(stderr, "fusescope: gui: camera: {}\n", cs.error);
            bool bad_input = false;
            for (const LogLine& l : cs.log) bad_input |= l.level == LogLine::Level::bad_input;
            if (exit_code == 0) exit_code = bad_input ? 2 : 1;
          }
          fmt::print("wrote {} ({}x{})\n", o.screenshot, renderer.framebuffer_extent().width,
                     renderer.framebuffer_extent().height);
          break;
        }
      }
    }
    } catch (const gpu::DeviceLost& e) {
      // The renderer's own submit (or fence) found it: the same rebuild as a worker's loss.
      device.mark_lost();
      device_lost_reason = e.what();
    }
    if (device.lost()) {
      if (device_lost_reason.empty()) {
        device_lost_reason = "a computation on it failed with VK_ERROR_DEVICE_LOST";
        for (const LogLine& l : session.snapshot().log)
          if (l.text.rfind("the device was lost: ", 0) == 0) device_lost_reason = l.text.substr(21);
      }
      if (++device_losses > kMaxDeviceLosses) {
        throw gpu::DeviceLost(fmt::format("the device was lost {} times in this window, last: {}; giving up",
                                          device_losses, device_lost_reason),
                              VK_ERROR_DEVICE_LOST);
      }
      fmt::print(stderr, "fusescope gui: the device was lost: {}; recreating it\n", device_lost_reason);
      if (last_model) load = reload_of(*last_model, last_report.get());
      device_index = static_cast<std::uint32_t>(ui.device);
      font_zoom = ImGui::GetIO().FontGlobalScale;
      ui.script_requests = 0;
      ui.select_position_when_idle = false;
      continue;  // session, camera, renderer and device are destroyed in reverse order here
    }
    if (closed && remember) {
      const Snapshot last = session.snapshot();
      if (last.model) {
        try {
          write_settings(dir, settings_of(last, ImGui::GetIO().FontGlobalScale));
        } catch (const std::exception& e) {
          fmt::print(stderr, "fusescope gui: settings not saved: {}\n", e.what());
        }
      }
    }
    if (o.validation && !device.validation_messages().empty()) {
      for (const auto& m : device.validation_messages()) fmt::print(stderr, "{}\n", m);
      return 1;
    }
    if (closed) return exit_code;
  }
}

}  // namespace fusescope::app
