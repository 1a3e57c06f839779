// `fusescope bench`: warm-up, then N timed runs of the recorded network; medians of total GPU
// time (timestamp queries) and wall time, per-layer GPU medians, dispatch count and memory.
// Without --fuse, the unfused and the fully fused network side by side, with their ratio.
// Each candidate and layer also shows GFLOP/s (graph::Graph::flops: a multiply-add is 2), and
// with --peak its share of the device's measured fma peak (workbench/peak_flops.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "gpu/recorder.hpp"
#include "gpu/shader_override.hpp"
#include "graph/conv_autotune.hpp"
#include "workbench/node_label.hpp"
#include "workbench/peak_flops.hpp"

namespace fusescope::cli {

namespace {

struct BenchOptions {
  ModelSource source;
  std::string fuse;  // empty: none and all side by side
  ExecutionOptions execution;
  std::string algorithms;  // empty: execution.algorithm only; else each, interleaved
  int iters = 5;
  int warmup = 1;
  int top = 12;
  bool peak = false;
  std::string json;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Candidate {
  std::string label;
  std::size_t nodes = 0, dispatches = 0;
  double gpu_ms = 0, wall_ms = 0;
  double prepare_ms = 0;  // fusing (fused candidates) + building the executor: pipelines, plan, weights upload
  // Pipelines built for this candidate (not already built for an earlier one) and their driver
  // time summed over the device's build threads: prepare_ms is less when they overlap.
  std::size_t pipelines = 0;
  double pipeline_driver_ms = 0;
  // The first run after prepare: some drivers (lavapipe) compile a pipeline's machine code at
  // its first dispatch, so this is what a user waits for beyond prepare on a cold shader cache.
  double first_run_ms = 0;
  std::uint64_t peak_bytes = 0, weight_bytes = 0, largest_node_io_bytes = 0;
  double flops = 0;  // the whole network's
  struct Layer {
    std::string node;
    double gpu_ms = 0;  // median
    double flops = 0;
    std::string op;      // graph::op_name: "Conv", "Add", ...
    std::string conv;    // a conv's shape (graph::describe_conv_shape), else empty
    std::string kernel;  // the shader its first dispatch ran ("conv2d_winograd"), empty for a view
    std::string algorithm;  // a conv's algorithm ("winograd", "depthwise"), else empty
  };
  std::vector<Layer> layers;
};

// GFLOP/s of `flops` done in `ms`; 0 when nothing was timed.
double gflops(double flops, double ms) { return ms > 0 ? flops / (ms * 1e6) : 0.0; }

// The candidates' runs are interleaved, so load from other processes on a shared machine hits
// them alike and the ratio of their medians stays meaningful; the order rotates each round (A B C,
// B C A, C A B, ...) because a fixed one biased by position on lavapipe: two candidates running
// the very same kernels came out 0.67x apart, and reordering three candidates moved each by up to
// 1.5x (README, Conv algorithms).
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<Candidate> bench_interleaved(gpu::Device& device, const std::vector<graph::Graph>& graphs,
                                         const std::vector<std::string>& labels, const std::vector<float>& x,
                                         const std::vector<double>& fuse_ms,
                                         const std::vector<graph::ExecutorOptions>& options, const BenchOptions& o,
                                         ProgressLine& progress) {
  std::vector<std::unique_ptr<graph::Executor>> execs;
  std::vector<double> prepare_ms, first_run_ms(graphs.size(), 0.0);
  std::vector<gpu::Device::PipelineStats> pipelines;
  for (std::size_t c = 0; c < graphs.size(); ++c) {
    const gpu::Device::PipelineStats before = device.pipeline_stats();
    const auto t0 = std::chrono::steady_clock::now();
    graph::ExecutorOptions eo = options[c];
    eo.progress = [&progress, stage = fmt::format("{}: creating pipelines", labels[c])](std::string_view, double f) {
      progress.update(stage, f);
    };
    execs.push_back(std::make_unique<graph::Executor>(device, graphs[c], eo));
    prepare_ms.push_back(fuse_ms[c] + ms_since(t0));
    const gpu::Device::PipelineStats after = device.pipeline_stats();
    pipelines.push_back({after.built - before.built, after.driver_ms - before.driver_ms, after.threads});
    execs.back()->set_input(x);
  }
  for (int i = 0; i < o.warmup; ++i) {
    progress.update(fmt::format("warm-up run {} of {}", i + 1, o.warmup), static_cast<double>(i) / o.warmup);
    for (std::size_t c = 0; c < execs.size(); ++c) {
      const auto t0 = std::chrono::steady_clock::now();
      execs[c]->run();
      if (i == 0) first_run_ms[c] = ms_since(t0);
    }
  }
  const std::size_t n = graphs.size();
  std::vector<std::vector<double>> gpu(n), wall(n);
  std::vector<std::vector<std::vector<double>>> per_node(n);
  for (std::size_t c = 0; c < n; ++c) per_node[c].resize(graphs[c].nodes().size());
  for (int i = 0; i < o.iters; ++i) {
    progress.update(fmt::format("timed run {} of {}", i + 1, o.iters), static_cast<double>(i) / o.iters);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t c = (j + static_cast<std::size_t>(i)) % n;
      const auto t0 = std::chrono::steady_clock::now();
      execs[c]->run();
      wall[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (o.warmup == 0 && i == 0) first_run_ms[c] = wall[c].back();
      double total = 0;
      const auto timings = execs[c]->node_timings();
      for (std::size_t k = 0; k < timings.size(); ++k) {
        per_node[c][k].push_back(timings[k].gpu_ms);
        total += timings[k].gpu_ms;
      }
      gpu[c].push_back(total);
    }
  }
  progress.clear();
  std::vector<Candidate> out;
  for (std::size_t c = 0; c < n; ++c) {
    Candidate r;
    r.label = labels[c];
    r.nodes = graphs[c].nodes().size();
    r.dispatches = execs[c]->dispatch_count();
    r.gpu_ms = median(gpu[c]);
    r.wall_ms = median(wall[c]);
    r.prepare_ms = prepare_ms[c];
    r.pipelines = pipelines[c].built;
    r.pipeline_driver_ms = pipelines[c].driver_ms;
    r.first_run_ms = first_run_ms[c];
    r.peak_bytes = execs[c]->memory_plan().peak_bytes;
    r.weight_bytes = execs[c]->memory_plan().weight_bytes;
    r.largest_node_io_bytes = execs[c]->memory_plan().largest_node_io_bytes;
    r.flops = static_cast<double>(graphs[c].total_flops());
    for (std::size_t k = 0; k < graphs[c].nodes().size(); ++k) {
      const graph::Node& node = graphs[c].nodes()[k];
      Candidate::Layer l{node.name, median(per_node[c][k]), static_cast<double>(graphs[c].flops(node)),
                         graph::op_name(node.attrs), {}, {}};
      if (const auto* conv = node.as<graph::ConvAttrs>()) {
        l.conv = graph::describe_conv_shape(conv->params, graphs[c].value(node.inputs.at(0)).shape);
        l.algorithm = ops::to_string(execs[c]->conv_algorithms().at(k));
      }
      if (const auto dispatches = execs[c]->node_dispatches(node.name); !dispatches.empty())
        l.kernel = dispatches.front().spec.shader;
      r.layers.push_back(std::move(l));
    }
    out.push_back(std::move(r));
  }
  return out;
}

int run_bench(const GlobalOptions& global, const BenchOptions& o) {
  const graph::ExecutorOptions eo = executor_options(o.execution);  // flags are checked before the (possibly slow) model build
  if (!o.fuse.empty()) parse_fuse_mode(o.fuse);
  // --algorithms: every fuse mode once per algorithm, so their speeds come from one run.
  std::vector<ops::ConvAlgorithm> algorithms;
  for (std::size_t at = 0; at < o.algorithms.size();) {
    const std::size_t comma = std::min(o.algorithms.find(',', at), o.algorithms.size());
    algorithms.push_back(ops::parse_conv_algorithm(o.algorithms.substr(at, comma - at)));
    at = comma + 1;
  }
  ProgressLine progress(global);
  // The device first: a tensor it cannot bind is refused before the model is calibrated.
  gpu::Device device(device_options(global));
  workbench::ModelSource source = o.source;
  workbench::check_against_device(source, device.info(), workbench::parse_precision(o.execution.precision));
  const auto t_import = std::chrono::steady_clock::now();
  graph::Graph g = load_model(source, progress.callback());
  const double import_ms = ms_since(t_import);
  const std::vector<float> x = load_input(source, g);
  std::vector<FuseMode> modes;
  if (o.fuse.empty()) {
    modes = {FuseMode::none, FuseMode::all};
  } else {
    modes = {parse_fuse_mode(o.fuse)};
  }
  // Measured before the candidates, on an idle device: the ceiling their GFLOP/s are read against.
  std::optional<workbench::PeakFlops> peak;
  if (o.peak) peak = workbench::measure_peak_flops(device, workbench::parse_precision(o.execution.precision));
  std::vector<graph::Graph> graphs;
  std::vector<std::string> labels;
  std::vector<double> fuse_ms;
  std::vector<graph::ExecutorOptions> options;
  // --kernel-override: each candidate runs the edits for the nodes its graph has (a node fusion
  // removed has nothing to run), beside a twin with the built-in kernels, so each edited node's
  // GPU time is read against the built-in kernel's from the same interleaved runs.
  std::set<std::string> overridden_somewhere;
  std::vector<std::pair<std::size_t, std::size_t>> edited_vs_builtin;  // candidate indices
  auto add_candidate = [&](const graph::Graph& fused, double ms, const std::string& label, graph::ExecutorOptions eo_c) {
    std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> here;
    for (const auto& [node, source] : eo_c.kernel_overrides) {
      if (fused.find_node(node) < 0) continue;
      here[node] = source;
      overridden_somewhere.insert(node);
    }
    eo_c.kernel_overrides = here;
    graphs.push_back(fused);
    fuse_ms.push_back(ms);
    labels.push_back(label);
    options.push_back(eo_c);
    if (here.empty()) return;
    graphs.push_back(fused);
    fuse_ms.push_back(ms);
    labels.push_back(label + " built-in");
    options.push_back(eo_c);
    options.back().kernel_overrides.clear();
    edited_vs_builtin.emplace_back(graphs.size() - 2, graphs.size() - 1);
  };
  for (FuseMode m : modes) {
    const auto t0 = std::chrono::steady_clock::now();
    graph::Graph fused = fused_copy(g, m, fusion::FoldPrecision::float64);
    const double ms = ms_since(t0);
    if (algorithms.empty()) {
      add_candidate(fused, ms, fmt::format("fuse {}{}", to_string(m), eo.autotune ? " autotune" : ""), eo);
      continue;
    }
    // With --autotune, "auto" stays auto's rule and the tuned network is one more candidate,
    // so the two are timed in the same interleaved runs.
    for (ops::ConvAlgorithm a : algorithms) {
      graph::ExecutorOptions eo_a = eo;
      eo_a.conv_algorithm = a;
      eo_a.autotune = false;
      add_candidate(fused, ms, fmt::format("{} {}", to_string(m), ops::to_string(a)), eo_a);
    }
    if (eo.autotune) add_candidate(fused, ms, fmt::format("{} autotune", to_string(m)), eo);
  }
  for (const auto& [node, source] : eo.kernel_overrides) {
    if (!overridden_somewhere.contains(node))
      throw ops::InvalidArgument(fmt::format("--kernel-override {}={}: no benchmarked graph of {} has a node '{}'",
                                             node, source->file_name(), g.name(), node));
  }
  const std::vector<Candidate> results = bench_interleaved(device, graphs, labels, x, fuse_ms, options, o, progress);
  fmt::print("model {}, input {}, precision {}, layout {}, algorithm {}, device {}; {} warm-up + {} timed runs, "
             "medians\n\n",
             g.name(), ops::to_string(g.value(g.inputs()[0]).shape), o.execution.precision, o.execution.layout,
             o.algorithms.empty() ? (eo.autotune ? "autotune" : o.execution.algorithm)
                                  : o.algorithms + (eo.autotune ? ",autotune" : ""),
             device.info().name, o.warmup, o.iters);
  if (peak)
    fmt::print("device fma peak ({} arithmetic): {:.1f} GFLOP/s (shaders/peak_fma.comp, {} invocations, {:.2f} ms)\n\n",
               o.execution.precision == "fp16" ? "fp16" : "fp32", peak->gflops, peak->invocations, peak->dispatch_ms);
  auto share = [&](double g) { return peak && peak->gflops > 0 ? fmt::format(" {:>6.1f}%", 100.0 * g / peak->gflops) : std::string(); };
  std::size_t label_width = 16;  // wider for "fuse none built-in" (--kernel-override's twins)
  for (const Candidate& c : results) label_width = std::max(label_width, c.label.size());
  fmt::print("{:<{}} {:>6} {:>10} {:>12} {:>12} {:>9}{} {:>14} {:>16} {:>12}\n", "candidate", label_width, "nodes", "dispatches",
             "GPU ms", "wall ms", "GFLOP/s", peak ? "  % peak" : "", "activations", "largest layer", "weights");
  for (const Candidate& c : results) {
    fmt::print("{:<{}} {:>6} {:>10} {:>12.3f} {:>12.3f} {:>9.2f}{} {:>10.2f} MiB {:>12.2f} MiB {:>8.2f} MiB\n", c.label, label_width,
               c.nodes, c.dispatches, c.gpu_ms, c.wall_ms, gflops(c.flops, c.gpu_ms), share(gflops(c.flops, c.gpu_ms)),
               c.peak_bytes / 1048576.0, c.largest_node_io_bytes / 1048576.0, c.weight_bytes / 1048576.0);
  }
  fmt::print("(activations: the planned shared buffer; largest layer: the one node whose inputs + output\n"
             " are largest, the floor any plan must reach)\n");
  fmt::print("load: model {:.1f} ms", import_ms);
  for (const Candidate& c : results) {
    fmt::print("; {} prepare {:.1f} ms ({} new pipelines, {:.1f} ms of driver time), first run {:.1f} ms", c.label,
               c.prepare_ms, c.pipelines, c.pipeline_driver_ms, c.first_run_ms);
  }
  fmt::print("\n(prepare: fusion + executor: pipelines built on {} threads, memory plan, weight upload; first run:\n"
             " the first inference after it, where a driver may still compile machine code)\n",
             device.pipeline_stats().threads);
  if (!algorithms.empty()) {
    fmt::print("\nspeed-up over {} (GPU, wall):", results[0].label);
    for (const Candidate& c : results)
      fmt::print("  {} {:.2f}x {:.2f}x;", c.label, results[0].gpu_ms / c.gpu_ms, results[0].wall_ms / c.wall_ms);
    fmt::print("\n");
  } else if (results.size() == 2 && results[1].gpu_ms > 0) {
    fmt::print("\nfused speed-up: GPU {:.2f}x, wall {:.2f}x; dispatches {} -> {} ({:.0f}%)\n",
               results[0].gpu_ms / results[1].gpu_ms, results[0].wall_ms / results[1].wall_ms,
               results[0].dispatches, results[1].dispatches, 100.0 * results[1].dispatches / results[0].dispatches);
  }
  if (!edited_vs_builtin.empty()) fmt::print("\n");
  for (const auto& [edited, builtin] : edited_vs_builtin) {
    for (std::size_t k = 0; k < results[edited].layers.size(); ++k) {
      const std::string& node = results[edited].layers[k].node;
      if (!options[edited].kernel_overrides.contains(node)) continue;
      const double ms = results[edited].layers[k].gpu_ms, builtin_ms = results[builtin].layers[k].gpu_ms;
      fmt::print("kernel override {} <- {} ({}): GPU {:.3f} ms, built-in kernel {:.3f} ms ({:.2f}x)\n", node,
                 options[edited].kernel_overrides.at(node)->file_name(), results[edited].label, ms, builtin_ms,
                 ms > 0 ? builtin_ms / ms : 0.0);
    }
  }
  for (const Candidate& c : results) {
    auto layers = c.layers;
    std::stable_sort(layers.begin(), layers.end(), [](const auto& a, const auto& b) { return a.gpu_ms > b.gpu_ms; });
    layers.resize(std::min(layers.size(), static_cast<std::size_t>(std::max(o.top, 0))));
    // The name column is as wide as the longest name shown, up to kNameWidth; a longer one keeps
    // its end (workbench/node_label.hpp).
    constexpr std::size_t kNameWidth = 48;
    std::size_t name_width = 4;
    for (const Candidate::Layer& l : layers) name_width = std::max(name_width, std::min(l.node.size(), kNameWidth));
    auto shown = [&](const std::string& name) { return workbench::keep_name_end(name, name_width); };
    fmt::print("\nslowest layers, {} (median GPU ms, GFLOP/s{}):\n", c.label, peak ? ", % of peak" : "");
    for (const Candidate::Layer& l : layers) {
      fmt::print("  {:<{}} {:>10.3f} {:>9.2f}{}  {}{}{}\n", shown(l.node), name_width, l.gpu_ms, gflops(l.flops, l.gpu_ms),
                 share(gflops(l.flops, l.gpu_ms)), l.conv.empty() ? l.op : l.conv,
                 l.kernel.empty() ? "" : " on ", l.algorithm.empty() ? l.kernel : l.algorithm);
    }
  }
  if (validation_failed(global, device, "bench")) return 1;
  if (!o.json.empty()) {
    nlohmann::json j;
    j["model"] = g.name();
    j["device"] = device.info().name;
    j["precision"] = o.execution.precision;
    j["layout"] = o.execution.layout;
    j["iters"] = o.iters;
    j["import_ms"] = import_ms;
    j["pipeline_threads"] = device.pipeline_stats().threads;
    if (peak) j["peak_gflops"] = peak->gflops;
    for (const Candidate& c : results) {
      nlohmann::json jc{{"candidate", c.label},     {"nodes", c.nodes},           {"dispatches", c.dispatches},
                        {"median_gpu_ms", c.gpu_ms}, {"median_wall_ms", c.wall_ms}, {"prepare_ms", c.prepare_ms},
                        {"pipelines_built", c.pipelines},  {"pipeline_driver_ms", c.pipeline_driver_ms},
                        {"first_run_ms", c.first_run_ms},
                        {"flops", c.flops},          {"gflops", gflops(c.flops, c.gpu_ms)},
                        {"peak_activation_bytes", c.peak_bytes},
                        {"weight_bytes", c.weight_bytes}, {"largest_node_io_bytes", c.largest_node_io_bytes}};
      for (const Candidate::Layer& l : c.layers)
        jc["layers"].push_back({{"node", l.node}, {"op", l.op}, {"conv", l.conv}, {"algorithm", l.algorithm}, {"kernel", l.kernel},
                                {"median_gpu_ms", l.gpu_ms}, {"flops", l.flops}, {"gflops", gflops(l.flops, l.gpu_ms)}});
      j["candidates"].push_back(jc);
    }
    write_file_atomically(o.json, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a network: unfused and fused side by side unless --fuse is given");
  add_model_source_options(cmd, o->source);
  cmd->add_option("--fuse", o->fuse, "none, bn, all or runtime (default: none and all side by side)");
  add_execution_options(cmd, o->execution);
  cmd->add_option("--algorithms", o->algorithms,
                  "Comma-separated conv algorithms (auto, direct, gemm, subgroup, depthwise, winograd, winograd4): each fuse mode "
                  "runs once per algorithm, interleaved, with speed-ups over the first candidate; with --autotune, the "
                  "tuned network runs beside them as one more candidate");
  cmd->add_option("--iters", o->iters, "Timed runs")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 100))->capture_default_str();
  cmd->add_option("--top", o->top, "Slowest layers to list")->check(CLI::Range(0, 10000))->capture_default_str();
  cmd->add_flag("--peak", o->peak,
                 "Measure the device's fma peak first (shaders/peak_fma.comp) and show each GFLOP/s as a share of it");
  cmd->add_option("--json", o->json, "Write the results as JSON");
  cmd->callback([&global, &exit_code, o] { exit_code = run_bench(global, *o); });
}

}  // namespace fusescope::cli
