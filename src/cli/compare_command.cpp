// `fusescope compare`: the unfused graph, the fused graph and the float64 oracle on the same
// input; a per-layer table in network order with the original layer names: how far the fused
// network drifts from the unfused one, and each from the oracle. Fused-away intermediates (a
// conv's output before its folded BN) have no fused counterpart and say where they went.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "fusion/at_risk.hpp"
#include "graph/isolate.hpp"
#include "graph/oracle_runner.hpp"
#include "numerics/error_metrics.hpp"
#include "numerics/tensor_comparison.hpp"

namespace fusescope::cli {

namespace {

struct CompareOptions {
  ModelSourceOptions source;
  std::string fuse = "all";
  ExecutionOptions execution;
  std::string fold = "float64";
  std::string json;
  double fail_above = -1;
  bool no_oracle = false;
  bool all_rows = false;
};

struct Row {
  std::string layer, op, shape, fused_as;
  bool fused_present = false;
  // local: the fused node fed the unfused network's own inputs (its own error only);
  // accumulated: both networks run end to end (every earlier layer's drift included).
  numerics::ErrorStats local, fused_vs_unfused, unfused_vs_oracle, fused_vs_oracle;
};

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.2e}", v) : fmt::format("{}", v); }

int run_compare(const GlobalOptions& global, const CompareOptions& o) {
  const FuseMode mode = parse_fuse_mode(o.fuse);
  if (mode == FuseMode::none) throw ops::InvalidArgument("--fuse none: compare needs bn or all");
  graph::ExecutorOptions eo = executor_options(o.execution);
  const ops::Precision precision = eo.precision;
  const fusion::FoldPrecision fold = parse_fold_precision(o.fold);
  using clock = std::chrono::steady_clock;

  graph::Graph g = load_model(o.source);
  const std::vector<float> x = load_input(o.source, g);
  fusion::FusionReport report;
  graph::Graph f = fused_copy(g, mode, fold, &report);
  const auto at_risk = fusion::find_at_risk_channels(g);

  gpu::Device device(device_options(global));
  eo.tap_all = true;  // every layer is compared, so every tensor must survive the run
  graph::Executor unfused(device, g, eo);
  graph::Executor fused(device, f, eo);
  unfused.set_input(x);
  fused.set_input(x);
  unfused.run();
  fused.run();

  // Local drift: every fused node on the unfused network's tensors. read() and set_input() are
  // NCHW under either layout, so these tensors, the oracle's and the comparisons below need no
  // conversion.
  graph::Graph local_graph = graph::isolate_nodes(f);
  graph::ExecutorOptions lo = executor_options(o.execution);
  graph::Executor local(device, local_graph, lo);
  for (graph::ValueId in : local_graph.inputs()) {
    const std::string& name = local_graph.value(in).name;
    local.set_input(name, unfused.read(name));
  }
  local.run();

  std::map<std::string, reference::HostTensor> oracle;
  double oracle_seconds = 0;
  if (!o.no_oracle) {
    const auto t0 = clock::now();
    graph::OracleOptions oo;
    oo.keep_all = true;
    graph::Graph g_oracle = g;
    oracle = graph::run_oracle(g_oracle, {{g.value(g.inputs()[0]).name, x}}, oo);
    oracle_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  }

  std::vector<Row> rows;
  double worst_fu = 0, worst_local = 0;
  std::string worst_layer, worst_local_layer;
  for (const graph::Node& node : g.nodes()) {
    const graph::Value& v = g.value(node.output);
    Row r;
    r.layer = v.name;
    r.op = graph::op_name(node.attrs);
    r.shape = ops::to_string(v.shape);
    const std::vector<float> u = unfused.read(v.name);
    const graph::ValueId fv = f.find_value(v.name);
    if (fv != graph::kNoValue) {
      r.fused_present = true;
      const graph::Node& fn = f.node(f.value(fv).producer);
      r.fused_as = fn.provenance.size() > 1 ? fmt::format("{} (+{})", fn.name, fn.provenance.size() - 1) : fn.name;
      const std::vector<float> fvals = fused.read(v.name);
      r.fused_vs_unfused = numerics::measure_error(fvals, u);
      r.local = numerics::measure_error(local.read(v.name + graph::kLocalSuffix), u);
      if (!(r.local.rel_l2 <= worst_local)) {
        worst_local = r.local.rel_l2;
        worst_local_layer = v.name;
      }
      if (!(r.fused_vs_unfused.rel_l2 <= worst_fu)) {
        worst_fu = r.fused_vs_unfused.rel_l2;
        worst_layer = v.name;
      }
      if (!o.no_oracle) r.fused_vs_oracle = numerics::measure_error(fvals, oracle.at(v.name).data);
    } else {
      // Which fused node swallowed it: the one whose provenance lists this node.
      for (const graph::Node& fn : f.nodes())
        for (const auto& p : fn.provenance)
          if (p == node.name) r.fused_as = "inside " + fn.name;
    }
    if (!o.no_oracle) r.unfused_vs_oracle = numerics::measure_error(u, oracle.at(v.name).data);
    rows.push_back(r);
  }

  // The output, in full detail.
  const std::string out_name = g.value(g.outputs()[0]).name;
  const ops::Shape out_shape = g.value(g.outputs()[0]).shape;
  const std::vector<float> u_out = unfused.read(out_name), f_out = fused.read(out_name);
  const auto cmp = numerics::compare_tensors(f_out, u_out, out_shape);
  std::optional<numerics::TopKAgreement> topk_fu, topk_fo;
  if (out_shape.size() == 2 && out_shape[1] >= 5) {
    topk_fu = numerics::topk_agreement(f_out, u_out, out_shape[0], out_shape[1]);
    if (!o.no_oracle) {
      const auto& od = oracle.at(out_name).data;
      std::vector<float> of(od.begin(), od.end());
      topk_fo = numerics::topk_agreement(f_out, of, out_shape[0], out_shape[1]);
    }
  }

  const gpu::DeviceInfo& info = device.info();
  fmt::print("model {} on {}, input {}, precision {}, layout {}, fuse {} (folding in {})\n", g.name(), info.name,
             ops::to_string(g.value(g.inputs()[0]).shape), ops::to_string(precision), ops::to_string(eo.layout),
             to_string(mode), fusion::to_string(fold));
  fmt::print("fusion: {} nodes -> {} nodes ({} folds, {} constant scale/shift folds, {} hardswish chains, {} activation fusions, {} residual fusions, {} "
             "RepVGG re-parameterisations, {} standalone BN scale-shifts, {} BN and {} bias Adds folded "
             "into ConvTranspose)\n",
             report.nodes_before, report.nodes_after, report.count("fold_batchnorm"),
             report.count("fold_affine_into_conv"), report.count("fuse_hard_swish_pattern"), report.count("fuse_activation"), report.count("fuse_residual_add"),
             report.count("reparameterize_repvgg"), report.count("fold_standalone_batchnorm"),
             report.count("fold_batchnorm_into_conv_transpose"), report.count("fold_bias_into_conv_transpose"));
  if (!o.no_oracle) fmt::print("oracle: float64 on the CPU ({:.1f} s)\n", oracle_seconds);
  fmt::print("\nrel-L2 per layer: 'local' = the fused node on the unfused network's own inputs (its own\n"
             "error); 'fused/unf' = both networks end to end (earlier layers' drift included).\n");
  fmt::print("\n{:<34} {:<10} {:<16} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", "layer", "op", "shape",
             "local", "fused/unf", "max-abs", "unf/orac", "fus/orac", "fused as");
  for (const Row& r : rows) {
    if (!r.fused_present && !o.all_rows) continue;
    fmt::print("{:<34} {:<10} {:<16} {:>10} {:>10} {:>10} {:>10} {:>10}  {}\n", r.layer, r.op, r.shape,
               r.fused_present ? num(r.local.rel_l2) : "-",
               r.fused_present ? num(r.fused_vs_unfused.rel_l2) : "-",
               r.fused_present ? num(r.fused_vs_unfused.max_abs) : "-",
               o.no_oracle ? "-" : num(r.unfused_vs_oracle.rel_l2),
               o.no_oracle || !r.fused_present ? "-" : num(r.fused_vs_oracle.rel_l2), r.fused_as);
  }
  if (!o.all_rows) {
    fmt::print("({} intermediates fused away are not listed; --all-rows shows them with their unfused error)\n",
               std::count_if(rows.begin(), rows.end(), [](const Row& r) { return !r.fused_present; }));
  }
  fmt::print("\noutput '{}': fused vs unfused {}\n", out_name, numerics::format_comparison(cmp));
  fmt::print("  |error| histogram 1e{:g} .. 1e{:g}: [{}]  ({} exact)\n", cmp.histogram.log10_lo,
             cmp.histogram.log10_hi, numerics::histogram_bar(cmp.histogram, 28), cmp.histogram.exact_zero);
  if (cmp.channels.size() > 1) {
    fmt::print("  worst channels:");
    for (const auto& c : numerics::worst_channels(cmp, 4))
      fmt::print("  {} rel-L2 {} max-abs {}", c.channel, num(c.rel_l2), num(c.max_abs));
    fmt::print("\n");
  }
  if (!o.no_oracle) {
    const auto& last = rows.back();
    fmt::print("              vs float64 oracle: unfused rel-L2 {}, fused rel-L2 {}\n",
               num(last.unfused_vs_oracle.rel_l2), num(last.fused_vs_oracle.rel_l2));
  }
  if (topk_fu) {
    fmt::print("top-1 agreement fused/unfused {:.1f}%, top-5 {:.1f}%", 100 * topk_fu->top1, 100 * topk_fu->top5);
    if (topk_fo) fmt::print("; fused/oracle top-1 {:.1f}%, top-5 {:.1f}%", 100 * topk_fo->top1, 100 * topk_fo->top5);
    fmt::print("\n");
  }
  fmt::print("worst layer, local: {} rel-L2 {}; end to end: {} rel-L2 {}\n",
             worst_local_layer.empty() ? "-" : worst_local_layer, num(worst_local),
             worst_layer.empty() ? "-" : worst_layer, num(worst_fu));
  if (!at_risk.empty()) {
    fmt::print("\nat-risk channels for fp16 ({}; scale = gamma/sqrt(var+eps)):\n", at_risk.size());
    for (std::size_t i = 0; i < at_risk.size() && i < 20; ++i) {
      const auto& a = at_risk[i];
      fmt::print("  {:<30} channel {:>4}  scale {:>10.3g}  var {:>9.2e}  max|W'| {:>9.3g}  {}\n",
                 a.batchnorm, a.channel, a.scale, a.running_var, a.max_folded_weight, a.reasons);
    }
    if (at_risk.size() > 20) fmt::print("  … {} more (all in --json)\n", at_risk.size() - 20);
  } else {
    fmt::print("at-risk channels for fp16: none\n");
  }

  if (!o.json.empty()) {
    nlohmann::json j;
    j["model"] = g.name();
    j["device"] = info.name;
    j["precision"] = ops::to_string(precision);
    j["layout"] = ops::to_string(eo.layout);
    j["fuse"] = to_string(mode);
    j["fold_precision"] = fusion::to_string(fold);
    j["nodes_before"] = report.nodes_before;
    j["nodes_after"] = report.nodes_after;
    auto err = [](const numerics::ErrorStats& e) {
      return nlohmann::json{{"rel_l2", std::isfinite(e.rel_l2) ? nlohmann::json(e.rel_l2) : nlohmann::json(nullptr)},
                            {"max_abs", std::isfinite(e.max_abs) ? nlohmann::json(e.max_abs) : nlohmann::json(nullptr)}};
    };
    for (const Row& r : rows) {
      nlohmann::json jr{{"layer", r.layer}, {"op", r.op}, {"shape", r.shape}, {"fused_as", r.fused_as}};
      if (r.fused_present) {
        jr["local"] = err(r.local);
        jr["fused_vs_unfused"] = err(r.fused_vs_unfused);
      }
      if (!o.no_oracle) {
        jr["unfused_vs_oracle"] = err(r.unfused_vs_oracle);
        if (r.fused_present) jr["fused_vs_oracle"] = err(r.fused_vs_oracle);
      }
      j["layers"].push_back(jr);
    }
    j["output"] = {{"name", out_name}, {"rel_l2", cmp.rel_l2}, {"max_abs", cmp.max_abs},
                   {"cosine", cmp.cosine}, {"snr_db", std::isfinite(cmp.snr_db) ? nlohmann::json(cmp.snr_db) : nlohmann::json(nullptr)},
                   {"max_ulp", cmp.max_ulp}};
    if (topk_fu) j["output"]["top1_agreement"] = topk_fu->top1, j["output"]["top5_agreement"] = topk_fu->top5;
    for (const auto& c : report.changes)
      j["fusions"].push_back({{"pass", c.pass}, {"node", c.node}, {"replaced", c.replaced}, {"detail", c.detail}});
    j["at_risk_channels"] = nlohmann::json::array();
    for (const auto& a : at_risk) {
      j["at_risk_channels"].push_back({{"conv", a.conv}, {"batchnorm", a.batchnorm}, {"channel", a.channel},
                                       {"scale", a.scale}, {"running_var", a.running_var},
                                       {"max_folded_weight", a.max_folded_weight}, {"reasons", a.reasons}});
    }
    write_file_atomically(o.json, j.dump(2) + "\n");
  }

  if (global.validation && !device.validation_messages().empty()) {
    for (const auto& m : device.validation_messages()) fmt::print(stderr, "{}\n", m);
    return 1;
  }
  if (o.fail_above >= 0 && !(worst_fu <= o.fail_above)) {
    fmt::print(stderr, "fusescope compare: {} drifts by rel-L2 {} > --fail-above {}\n", worst_layer, num(worst_fu),
               o.fail_above);
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
  cmd->add_option("--fuse", o->fuse, "bn (fold BatchNorms) or all (also activations, residual adds, RepVGG)")
      ->capture_default_str();
  add_execution_options(cmd, o->execution);
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
