// `fusescope export`: a zoo model or an .onnx file, fused or not, written as an ONNX model that
// other runtimes (ONNX Runtime, TensorRT, OpenVINO) load — so the fused network fusescope
// measured is the one that gets deployed, under the original model's tensor names.
#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "workbench/export_model.hpp"

namespace fusescope::cli {

namespace {

struct ExportOptions {
  ModelSource source;
  std::string fuse = "none";
  std::string fold = "float64";
  std::string output;
};

int run_export(const GlobalOptions& global, const ExportOptions& o) {
  // Flags and the destination are checked before the (possibly slow) model build.
  const FuseMode fuse_mode = parse_fuse_mode(o.fuse);
  const fusion::FoldPrecision fold = parse_fold_precision(o.fold);
  const std::filesystem::path out(o.output);
  workbench::check_export_path(out);
  ProgressLine progress(global);
  const graph::Graph g = load_model(o.source, progress.callback());
  progress.clear();
  fusion::FusionReport report;
  const graph::Graph f = fused_copy(g, fuse_mode, fold, &report);

  workbench::export_model(f, o.source.model, fuse_mode, fold, out);
  fmt::print("wrote {}: {} graph nodes{}, input {}, opset 13, checked with onnx::checker\n", o.output, f.nodes().size(),
             fuse_mode == FuseMode::none ? "" : fmt::format(" (fused from {}, --fuse {})", g.nodes().size(), o.fuse),
             ops::to_string(f.value(f.inputs()[0]).shape));
  return 0;
}

}  // namespace

void add_export_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a network (fused or not) as an ONNX model (opset 13)");
  add_model_source_options(cmd, o->source);
  cmd->add_option("--fuse", o->fuse, "none, bn, all or runtime (BN in conv epilogues, weights untouched)")->capture_default_str();
  cmd->add_option("--fold", o->fold, "float64 or float32 (PyTorch's order) BN folding")->capture_default_str();
  add_output_option(cmd, o->output, "The .onnx file to write (written whole or not at all)");
  cmd->callback([&global, &exit_code, o] {
    require_output(o->output);
    exit_code = run_export(global, *o);
  });
}

}  // namespace fusescope::cli
