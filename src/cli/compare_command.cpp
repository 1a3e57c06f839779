// `fusescope compare`: prints a workbench::Study — the unfused graph, the fused graph and the
// float64 oracle on the same input — as a per-layer table in network order with the original layer names: how far the fused
// network drifts from the unfused one, and each from the oracle. Fused-away intermediates (a
// conv's output before its folded BN) have no fused counterpart and say where they went.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "workbench/study.hpp"

namespace fusescope::cli {

namespace {

struct CompareOptions {
  ModelSource source;
  std::string fuse = "all";
  ExecutionOptions execution;
  std::string fold = "float64";
  std::string candidate_algorithm;
  std::string json;
  double fail_above = -1;
  bool no_oracle = false;
  bool all_rows = false;
};

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.2e}", v) : fmt::format("{}", v); }

int run_compare(const GlobalOptions& global, const CompareOptions& o) {
  workbench::StudyOptions so;
  so.candidate.fuse = parse_fuse_mode(o.fuse);
  if (!o.candidate_algorithm.empty()) {
    try {
      so.candidate.algorithm = ops::parse_conv_algorithm(o.candidate_algorithm);
    } catch (const ops::InvalidArgument& e) {
      throw ops::InvalidArgument(fmt::format("--candidate-algorithm: {}", e.what()));
    }
  }
  if (so.candidate.fuse == FuseMode::none && !so.candidate.algorithm) {
    throw ops::InvalidArgument("--fuse none: compare needs bn, all or runtime (or --candidate-algorithm, "
                               "to compare conv algorithms on the unfused network)");
  }
  // compare runs both networks at one precision and layout: fusion's drift is what it measures.
  so.reference = executor_options(o.execution);
  so.candidate.precision = so.reference.precision;
  so.candidate.layout = so.reference.layout;
  // An edited kernel (--kernel-override) runs in the candidate only: the reference keeps the
  // built-in kernels, so 'local' and 'fus/orac' show the edit's own error and its effect.
  so.candidate.kernel_overrides = std::move(so.reference.kernel_overrides);
  so.reference.kernel_overrides.clear();
  so.candidate.fold = parse_fold_precision(o.fold);
  so.oracle = !o.no_oracle;

  ProgressLine progress(global);
  so.progress = progress.callback();
  // The device first: a tensor it cannot bind is refused before the model is calibrated.
  gpu::Device device(device_options(global));
  workbench::ModelSource source = o.source;
  workbench::check_against_device(source, device.info(), so.reference.precision);
  graph::Graph g = load_model(source, progress.callback());
  std::vector<float> x = load_input(source, g);
  workbench::Study study(device, std::move(g), std::move(x), so);
  study.run();
  progress.clear();
  const workbench::StudyReport& r = study.report();
  const fusion::FusionReport& report = r.fusion;

  const std::string algorithms =
      r.candidate.algorithm && *r.candidate.algorithm != r.reference_algorithm
          ? fmt::format("conv algorithm {} (unfused) vs {} (fused)", ops::to_string(r.reference_algorithm),
                        ops::to_string(*r.candidate.algorithm))
          : fmt::format("conv algorithm {}", ops::to_string(r.reference_algorithm));
  fmt::print("model {} on {}, input {}, precision {}, layout {}, fuse {} (folding in {}), {}\n", r.model, r.device,
             ops::to_string(r.input_shape), ops::to_string(r.candidate.precision),
             ops::to_string(r.candidate.layout), to_string(r.candidate.fuse), fusion::to_string(r.candidate.fold),
             algorithms);
  fmt::print("fusion: {} nodes -> {} nodes ({} folds, {} constant scale/shift folds, {} hardswish chains, {} scale/shift steps after a hardswish, {} GELU chains, {} LayerNorm chains, {} gemm biases, {} activation fusions, {} residual fusions, {} "
             "RepVGG re-parameterisations, {} standalone BN scale-shifts, {} BN and {} bias Adds folded "
             "into ConvTranspose, {} BNs applied in conv epilogues)\n",
             report.nodes_before, report.nodes_after, report.count("fold_batchnorm"),
             report.count("fold_affine_into_conv"), report.count("fuse_hard_swish_pattern"),
             report.count("fuse_post_activation_affine"), report.count("fuse_gelu_pattern"), report.count("fuse_layer_norm_pattern"),
             report.count("fold_bias_into_gemm"), report.count("fuse_activation"), report.count("fuse_residual_add"),
             report.count("reparameterize_repvgg"), report.count("fold_standalone_batchnorm"),
             report.count("fold_batchnorm_into_conv_transpose"), report.count("fold_bias_into_conv_transpose"),
             report.count("fuse_batchnorm_into_epilogue"));
  if (r.has_oracle) fmt::print("oracle: float64 on the CPU ({:.1f} s)\n", r.oracle_seconds);
  fmt::print("\nrel-L2 per layer: 'local' = the fused node on the unfused network's own inputs (its own\n"
             "error); 'fused/unf' = both networks end to end (earlier layers' drift included).\n");
  fmt::print("\n{:<34} {:<10} {:<16} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", "layer", "op", "shape",
             "local", "fused/unf", "max-abs", "unf/orac", "fus/orac", "fused as");
  for (const workbench::LayerRow& row : r.layers) {
    if (!row.fused_present && !o.all_rows) continue;
    fmt::print("{:<34} {:<10} {:<16} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", row.layer, row.op, row.shape,
               row.fused_present ? num(row.local.rel_l2) : "-",
               row.fused_present ? num(row.fused_vs_unfused.rel_l2) : "-",
               row.fused_present ? num(row.fused_vs_unfused.max_abs) : "-",
               r.has_oracle ? num(row.unfused_vs_oracle.rel_l2) : "-",
               !r.has_oracle || !row.fused_present ? "-" : num(row.fused_vs_oracle.rel_l2), row.fused_as);
  }
  if (!o.all_rows) {
    fmt::print("({} intermediates fused away are not listed; --all-rows shows them with their unfused error)\n",
               std::count_if(r.layers.begin(), r.layers.end(),
                             [](const workbench::LayerRow& row) { return !row.fused_present; }));
  }
  const auto& cmp = r.output;
  fmt::print("\noutput '{}': fused vs unfused {}\n", r.output_name, numerics::format_comparison(cmp));
  fmt::print("  |error| histogram 1e{:g} .. 1e{:g}: [{}]  ({} exact)\n", cmp.histogram.log10_lo,
             cmp.histogram.log10_hi, numerics::histogram_bar(cmp.histogram, 28), cmp.histogram.exact_zero);
  if (cmp.channels.size() > 1) {
    fmt::print("  worst channels:");
    for (const auto& c : numerics::worst_channels(cmp, 4))
      fmt::print("  {} rel-L2 {} max-abs {}", c.channel, num(c.rel_l2), num(c.max_abs));
    fmt::print("\n");
  }
  if (r.has_oracle) {
    const auto& last = r.layers.back();
    fmt::print("              vs float64 oracle: unfused rel-L2 {}, fused rel-L2 {}\n",
               num(last.unfused_vs_oracle.rel_l2), num(last.fused_vs_oracle.rel_l2));
  }
  if (r.topk_vs_unfused) {
    fmt::print("top-1 agreement fused/unfused {:.1f}%, top-5 {:.1f}%", 100 * r.topk_vs_unfused->top1,
               100 * r.topk_vs_unfused->top5);
    if (r.topk_vs_oracle) {
      fmt::print("; fused/oracle top-1 {:.1f}%, top-5 {:.1f}%", 100 * r.topk_vs_oracle->top1,
                 100 * r.topk_vs_oracle->top5);
    }
    fmt::print("\n");
  }
  fmt::print("worst layer, local: {} rel-L2 {}; end to end: {} rel-L2 {}\n",
             r.worst_local_layer.empty() ? "-" : r.worst_local_layer, num(r.worst_local),
             r.worst_layer.empty() ? "-" : r.worst_layer, num(r.worst_end_to_end));
  if (!r.at_risk.empty()) {
    fmt::print("\nat-risk channels for fp16 ({}; scale = gamma/sqrt(var+eps)):\n", r.at_risk.size());
    for (std::size_t i = 0; i < r.at_risk.size() && i < 20; ++i) {
      const auto& a = r.at_risk[i];
      fmt::print("  {:<30} channel {:>4}  scale {:>10.3g}  var {:>9.2e}  max|W'| {:>9.3g}  {}\n",
                 a.batchnorm, a.channel, a.scale, a.running_var, a.max_folded_weight, a.reasons);
    }
    if (r.at_risk.size() > 20) fmt::print("  … {} more (all in --json)\n", r.at_risk.size() - 20);
  } else {
    fmt::print("at-risk channels for fp16: none\n");
  }

  if (validation_failed(global, device, "compare")) return 1;
  if (!o.json.empty()) write_file_atomically(o.json, workbench::study_json(r));
  if (o.fail_above >= 0 && !(r.worst_end_to_end <= o.fail_above)) {
    fmt::print(stderr, "fusescope compare: {} drifts by rel-L2 {} > --fail-above {}\n", r.worst_layer,
               num(r.worst_end_to_end), o.fail_above);
    return 1;
  }
  return 0;
}

}  // namespace

void add_compare_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Run the unfused graph, the fused graph and the float64 oracle on one input and "
                 "print per-layer drift in network order");
  add_model_source_options(cmd, o->source);
  cmd->add_option("--fuse", o->fuse, "bn (fold BatchNorms), all (also activations, residual adds, RepVGG) or runtime (BN, adds and activations in conv epilogues, no weight folded); none only with --candidate-algorithm")
      ->capture_default_str();
  add_execution_options(cmd, o->execution);
  cmd->add_option("--candidate-algorithm", o->candidate_algorithm,
                  "Conv algorithm of the fused network only (default: --algorithm's); with --fuse none the "
                  "table shows that algorithm's own error against the unfused network on --algorithm and "
                  "the oracle");
  cmd->add_option("--fold", o->fold, "Folding arithmetic: float64 (round once) or float32 (PyTorch's order)")
      ->capture_default_str();
  cmd->add_option("--json", o->json, "Write the full report (every layer, fusions, at-risk channels) as JSON");
  cmd->add_option("--fail-above", o->fail_above,
                  "Exit 1 when any layer's fused-vs-unfused rel-L2 exceeds this");
  cmd->add_flag("--no-oracle", o->no_oracle, "Skip the float64 oracle (faster on big inputs)");
  cmd->add_flag("--all-rows", o->all_rows, "Also list intermediates that fusion removed");
  cmd->callback([&global, &exit_code, o] { exit_code = run_compare(global, *o); });
}

}  // namespace fusescope::cli
