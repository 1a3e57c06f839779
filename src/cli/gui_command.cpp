// `fusescope gui [MODEL] [options]`: the window (app/gui.hpp). It takes the model, input and
// execution flags every model command takes, so `run resnet50-keras --size 64` and
// `gui resnet50-keras --size 64` open the same network on the same input.
#include <fmt/format.h>

#include "app/gui.hpp"
#include "gpu/shader_override.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace fusescope::cli {

namespace {

struct GuiCommandOptions {
  ModelSource source;
  ExecutionOptions execution;
  std::string candidate = "folded-float64";
  std::string select, run_to, panel, screenshot;
  std::string frames_from;  // --source: the camera panel's frames
  std::optional<std::size_t> step, run_block;
  int frames = 3;
  std::string window_size = "1280x800";
  float font_scale = 0;
  bool no_oracle = false;
};

int run_gui_command(const GlobalOptions& global, const GuiCommandOptions& o) {
  app::GuiOptions g;
  // Flags are checked before a window opens.
  const graph::ExecutorOptions eo = executor_options(o.execution);
  // Edits compiled here already (a file that does not compile is exit 2 before a window opens);
  // the window runs them on its candidate's nodes and its kernel panel shows their verdicts.
  for (const auto& [node, edit] : eo.kernel_overrides) g.kernel_edits.push_back({node, edit->source(), edit->file_name()});
  workbench::find_candidate(o.candidate);
  std::int64_t h = 800, w = 1280;
  workbench::parse_size(o.window_size, w, h);  // WIDTHxHEIGHT, as window sizes are written
  g.height = static_cast<int>(h);
  g.width = static_cast<int>(w);
  ModelSource model = o.source;
  // The camera panel needs a detector: without MODEL, --source runs BlazeFace front.
  if (!o.frames_from.empty() && model.model.empty()) model.model = "blazeface-front";
  if (!model.model.empty()) {
    app::LoadRequest r;
    r.source = model;
    r.candidate = o.candidate;
    r.layout = eo.layout;
    r.reference_precision = eo.precision;
    r.conv_algorithm = eo.conv_algorithm;
    r.autotune = eo.autotune;
    r.oracle = !o.no_oracle;
    g.load = r;
  } else if (!o.screenshot.empty()) {
    throw ops::InvalidArgument("--screenshot needs a MODEL to show");
  }
  g.select = o.select;
  g.step = o.step;
  g.run_block = o.run_block;
  g.run_to = o.run_to;
  g.panel = o.panel;
  g.source = o.frames_from;
  g.frames = o.frames;
  g.screenshot = o.screenshot;
  if (global.device) g.device = static_cast<std::uint32_t>(*global.device);
  g.validation = global.validation;
  g.font_scale = o.font_scale;
  return app::run_gui(g);
}

}  // namespace

void add_gui_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<GuiCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gui", "Open the window: step through the network, look inside every tensor, compare the unfused "
             "network with a fused candidate against the float64 oracle");
  add_model_source_options(cmd, o->source, /*required=*/false);
  add_execution_options(cmd, o->execution);
  cmd->add_option("--candidate", o->candidate,
                  "What to compare with the unfused network: folded-float64, folded-float32 (PyTorch's fold "
                  "order), runtime-fused, fp16s, fp16, or one conv algorithm on the unfused network: "
                  "algorithm-direct, algorithm-gemm, algorithm-subgroup, algorithm-depthwise, algorithm-winograd, "
                  "algorithm-winograd4")
      ->capture_default_str();
  cmd->add_flag("--no-oracle", o->no_oracle, "Skip the float64 oracle (faster on big inputs)");
  cmd->add_option("--select", o->select, "Select this node or tensor");
  cmd->add_option("--step", o->step, "From the start, run this many nodes");
  cmd->add_option("--run-block", o->run_block, "From the start, run this many blocks (a residual block is one)");
  cmd->add_option("--run-to", o->run_to, "Run up to and including this node");
  cmd->add_option("--panel", o->panel, "Show this panel: tensor, compare, fusion, timing, camera or kernel");
  cmd->add_option("--source", o->frames_from,
                  "Frames for the camera panel, as detect's --source (camera:N, URL, video, image, folder, "
                  "synthetic), through MODEL as the detector (e.g. blazeface-front)");
  cmd->add_option("--frames", o->frames, "With --screenshot: frames to render once the work is done")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--screenshot", o->screenshot,
                  "Scripted mode: render, write the window as a PNG (atomically) and exit");
  cmd->add_option("--window-size", o->window_size, "Window width x height, e.g. 1280x800")->capture_default_str();
  cmd->add_option("--font-scale", o->font_scale, "Font scale (default: the display's content scale)");
  cmd->callback([&global, &exit_code, o] { exit_code = run_gui_command(global, *o); });
}

}  // namespace fusescope::cli
