#include "workbench/study.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "gpu/device.hpp"
#include "graph/isolate.hpp"
#include "graph/oracle_runner.hpp"

namespace fusescope::workbench {

namespace {

void say(const StudyOptions& o, std::string_view stage, double fraction) { graph::report(o.progress, stage, fraction); }

// Runs every node of `e` from the start: in one submission, or piece by piece when the study
// shares its queue (o.piece_macs), reporting progress between pieces over [from, to).
void run_all(graph::Executor& e, const StudyOptions& o, std::string_view stage, double from, double to) {
  e.reset();
  const std::size_t n = e.graph().nodes().size();
  if (o.piece_macs == 0) {
    say(o, stage, from);
    e.run();
    return;
  }
  while (e.position() < n) {
    say(o, stage, from + (to - from) * static_cast<double>(e.position()) / static_cast<double>(n));
    e.step_piece();
  }
}

}  // namespace

Study::Study(gpu::Device& device, graph::Graph reference, std::vector<float> input, StudyOptions options)
    : device_(device), options_(std::move(options)), input_(std::move(input)) {
  say(options_, "fusing", 0.0);
  report_.fusion = {};
  graph::Graph candidate = fused_copy(reference, options_.candidate.fuse, options_.candidate.fold, &report_.fusion);
  report_.at_risk = fusion::find_at_risk_channels(reference);
  report_.model = reference.name();
  report_.device = device.info().name;
  report_.input_shape = reference.value(reference.inputs().at(0)).shape;
  report_.candidate = options_.candidate;
  report_.reference_precision = options_.reference.precision;
  report_.reference_algorithm = options_.reference.conv_algorithm;
  report_.reference_autotune = options_.reference.autotune;

  say(options_, "recording", 0.05);
  // Every layer is compared (and the window looks at any tensor), so every value must survive.
  graph::ExecutorOptions ro = options_.reference;
  ro.tap_all = true;
  ro.max_dispatch_macs = options_.piece_macs;
  graph::ExecutorOptions co = candidate_options();
  co.tap_all = true;
  // Pipeline creation (seconds on a cold cache) within this stage's share of the study.
  ro.progress = [this](std::string_view stage, double f) { say(options_, stage, 0.05 + 0.025 * f); };
  co.progress = [this](std::string_view stage, double f) { say(options_, stage, 0.075 + 0.025 * f); };
  reference_ = std::make_unique<graph::Executor>(device, std::move(reference), ro);
  candidate_ = std::make_unique<graph::Executor>(device, std::move(candidate), co);
  reference_->set_input(input_);
  candidate_->set_input(input_);
}

Study::~Study() = default;

graph::ExecutorOptions Study::candidate_options() const {
  graph::ExecutorOptions o = options_.candidate.executor_options();
  o.max_dispatch_macs = options_.piece_macs;
  // --algorithm names every conv's algorithm, the candidate's too (a kernel override is an edit
  // of that algorithm's kernel, and must meet the same one in both networks), unless the
  // candidate names its own.
  // --autotune likewise: the candidate's convs run what won on this device for their shapes
  // (fusion changes few conv shapes, so most come from the reference's tuning, via the cache).
  if (!options_.candidate.algorithm) {
    o.conv_algorithm = options_.reference.conv_algorithm;
    o.autotune = options_.reference.autotune;
    o.autotune_log = options_.reference.autotune_log;
  }
  return o;
}

void Study::set_kernel_overrides(std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> overrides) {
  candidate_->set_kernel_overrides(overrides);
  options_.candidate.kernel_overrides = std::move(overrides);
  report_.candidate = options_.candidate;
}

const reference::HostTensor* Study::oracle(const std::string& value) const {
  const auto it = oracle_.find(value);
  return it == oracle_.end() ? nullptr : &it->second;
}

bool Study::candidate_has(const std::string& layer) const {
  return candidate_->graph().find_value(layer) != graph::kNoValue;
}

void Study::run() {
  using clock = std::chrono::steady_clock;
  const graph::Graph& g = reference_->graph();
  const graph::Graph& f = candidate_->graph();

  // The reference runs again only when it has not run through since (the window steps it): its
  // graph, kernels and input never change, and every value is kept.
  if (reference_->position() < g.nodes().size()) run_all(*reference_, options_, "running the reference", 0.1, 0.2);
  run_all(*candidate_, options_, "running the candidate", 0.2, 0.3);

  // Local drift: every candidate node on the reference's tensors. read() and set_input() are
  // NCHW under either layout, so these tensors, the oracle's and the comparisons need no
  // conversion.
  graph::Graph local_graph = graph::isolate_nodes(f);
  graph::Executor local(device_, local_graph, candidate_options());
  for (graph::ValueId in : local_graph.inputs()) {
    const std::string& name = local_graph.value(in).name;
    local.set_input(name, reference_->read(name));
  }
  run_all(local, options_, "running each fused node on the reference's inputs", 0.3, 0.4);

  report_.has_oracle = options_.oracle;
  if (options_.oracle && oracle_.empty()) {
    const auto t0 = clock::now();
    graph::OracleOptions oo;
    oo.keep_all = true;
    std::size_t done = 0;
    const double total = static_cast<double>(g.nodes().size());
    oo.before_node = [&](graph::Graph&, const graph::Node&, const std::vector<const reference::HostTensor*>&) {
      say(options_, "float64 oracle on the CPU", 0.4 + 0.5 * static_cast<double>(done++) / total);
    };
    graph::Graph g_oracle = g;
    oracle_ = graph::run_oracle(g_oracle, {{g.value(g.inputs()[0]).name, input_}}, oo);
    report_.oracle_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  }

  say(options_, "comparing", 0.9);
  report_.layers.clear();
  report_.worst_end_to_end = report_.worst_local = 0;
  report_.worst_layer.clear();
  report_.worst_local_layer.clear();
  for (const graph::Node& node : g.nodes()) {
    const graph::Value& v = g.value(node.output);
    LayerRow r;
    r.layer = v.name;
    r.node = node.name;
    r.op = graph::op_name(node.attrs);
    r.shape = ops::to_string(v.shape);
    const std::vector<float> u = reference_->read(v.name);
    const graph::ValueId fv = f.find_value(v.name);
    if (fv != graph::kNoValue) {
      r.fused_present = true;
      const graph::Node& fn = f.node(f.value(fv).producer);
      r.fused_as = fn.provenance.size() > 1 ? fmt::format("{} (+{})", fn.name, fn.provenance.size() - 1) : fn.name;
      const std::vector<float> fvals = candidate_->read(v.name);
      r.fused_vs_unfused = numerics::measure_error(fvals, u);
      r.local = numerics::measure_error(local.read(v.name + graph::kLocalSuffix), u);
      if (!(r.local.rel_l2 <= report_.worst_local)) {
        report_.worst_local = r.local.rel_l2;
        report_.worst_local_layer = v.name;
      }
      if (!(r.fused_vs_unfused.rel_l2 <= report_.worst_end_to_end)) {
        report_.worst_end_to_end = r.fused_vs_unfused.rel_l2;
        report_.worst_layer = v.name;
      }
      if (options_.oracle) r.fused_vs_oracle = numerics::measure_error(fvals, oracle_.at(v.name).data);
    } else {
      // Which fused node swallowed it: the one whose provenance lists this node.
      for (const graph::Node& fn : f.nodes())
        for (const auto& p : fn.provenance)
          if (p == node.name) r.fused_as = "inside " + fn.name;
    }
    if (options_.oracle) r.unfused_vs_oracle = numerics::measure_error(u, oracle_.at(v.name).data);
    report_.layers.push_back(std::move(r));
  }

  // The output, in full detail.
  report_.output_name = g.value(g.outputs()[0]).name;
  report_.output_shape = g.value(g.outputs()[0]).shape;
  const std::vector<float> u_out = reference_->read(report_.output_name);
  const std::vector<float> f_out = candidate_->read(report_.output_name);
  report_.output = numerics::compare_tensors(f_out, u_out, report_.output_shape);
  report_.topk_vs_unfused.reset();
  report_.topk_vs_oracle.reset();
  const ops::Shape& os = report_.output_shape;
  if (os.size() == 2 && os[1] >= 5) {
    report_.topk_vs_unfused = numerics::topk_agreement(f_out, u_out, os[0], os[1]);
    if (options_.oracle) {
      const auto& od = oracle_.at(report_.output_name).data;
      const std::vector<float> of(od.begin(), od.end());
      report_.topk_vs_oracle = numerics::topk_agreement(f_out, of, os[0], os[1]);
    }
  }
  say(options_, "done", 1.0);
}

LayerDetail Study::detail(const std::string& layer) const {
  reference_->graph().require_value(layer);
  const bool have_u = reference_->can_read(layer);
  const bool have_f = candidate_has(layer) && candidate_->can_read(layer);
  const std::vector<float> u = have_u ? reference_->read(layer) : std::vector<float>{};
  const std::vector<float> f = have_f ? candidate_->read(layer) : std::vector<float>{};
  return detail(layer, u, f);
}

LayerDetail Study::detail(const std::string& layer, std::span<const float> u, std::span<const float> f) const {
  LayerDetail d;
  d.layer = layer;
  const graph::Graph& g = reference_->graph();
  d.shape = g.value(g.require_value(layer)).shape;
  const bool have_u = !u.empty(), have_f = !f.empty();
  numerics::ComparisonOptions co;
  if (d.shape.size() < 2) co.channel_axis = -1;
  if (have_u && have_f) d.fused_vs_unfused = numerics::compare_tensors(f, u, d.shape, co);
  if (const reference::HostTensor* o = oracle(layer)) {
    if (have_u) d.unfused_vs_oracle = numerics::compare_tensors(u, o->data, d.shape, co);
    if (have_f) d.fused_vs_oracle = numerics::compare_tensors(f, o->data, d.shape, co);
  }
  return d;
}

std::string study_json(const StudyReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["device"] = r.device;
  j["precision"] = ops::to_string(r.candidate.precision);
  j["reference_precision"] = ops::to_string(r.reference_precision);
  j["layout"] = ops::to_string(r.candidate.layout);
  j["fuse"] = to_string(r.candidate.fuse);
  j["fold_precision"] = fusion::to_string(r.candidate.fold);
  j["algorithm"] = ops::to_string(r.reference_algorithm);
  j["candidate_algorithm"] = ops::to_string(r.candidate.algorithm.value_or(r.reference_algorithm));
  j["nodes_before"] = r.fusion.nodes_before;
  j["nodes_after"] = r.fusion.nodes_after;
  auto finite = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  auto err = [&](const numerics::ErrorStats& e) {
    return nlohmann::json{{"rel_l2", finite(e.rel_l2)}, {"max_abs", finite(e.max_abs)}};
  };
  j["layers"] = nlohmann::json::array();
  for (const LayerRow& row : r.layers) {
    nlohmann::json jr{{"layer", row.layer}, {"op", row.op}, {"shape", row.shape}, {"fused_as", row.fused_as}};
    if (row.fused_present) {
      jr["local"] = err(row.local);
      jr["fused_vs_unfused"] = err(row.fused_vs_unfused);
    }
    if (r.has_oracle) {
      jr["unfused_vs_oracle"] = err(row.unfused_vs_oracle);
      if (row.fused_present) jr["fused_vs_oracle"] = err(row.fused_vs_oracle);
    }
    j["layers"].push_back(jr);
  }
  const auto& c = r.output;
  j["output"] = {{"name", r.output_name}, {"rel_l2", c.rel_l2}, {"max_abs", c.max_abs},
                 {"cosine", c.cosine}, {"snr_db", finite(c.snr_db)}, {"max_ulp", c.max_ulp}};
  if (r.topk_vs_unfused) {
    j["output"]["top1_agreement"] = r.topk_vs_unfused->top1;
    j["output"]["top5_agreement"] = r.topk_vs_unfused->top5;
  }
  j["fusions"] = nlohmann::json::array();
  for (const auto& ch : r.fusion.changes)
    j["fusions"].push_back({{"pass", ch.pass}, {"node", ch.node}, {"replaced", ch.replaced}, {"detail", ch.detail}});
  j["at_risk_channels"] = nlohmann::json::array();
  for (const auto& a : r.at_risk) {
    j["at_risk_channels"].push_back({{"conv", a.conv}, {"batchnorm", a.batchnorm}, {"channel", a.channel},
                                     {"scale", a.scale}, {"running_var", a.running_var},
                                     {"max_folded_weight", a.max_folded_weight}, {"reasons", a.reasons}});
  }
  return j.dump(2) + "\n";
}

}  // namespace fusescope::workbench
