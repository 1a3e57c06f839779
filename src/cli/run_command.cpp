// `fusescope run`: one network on the device; outputs (and taps) to a safetensors file whose
// tensor names are the graph's value names. With --oracle the same graph (after --fuse and
// --fold) runs on the float64 CPU oracle instead, so a third party's output (ONNX Runtime on the
// exported file) can be set against the exact arithmetic of the very weights it was given.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/progress_line.hpp"
#include "graph/oracle_runner.hpp"
#include "io/safetensors.hpp"
#include "workbench/kernel_override_check.hpp"

namespace fusescope::cli {

namespace {

struct RunOptions {
  ModelSource source;
  std::string fuse = "none";
  ExecutionOptions execution;
  std::string fold = "float64";
  std::string output;  // -o/--output (older: --dump)
  std::string taps;
  bool oracle = false;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

// The values --taps names ("all": every node's output), each checked to exist before any work.
std::vector<std::string> requested_taps(const std::string& spec, const graph::Graph& f) {
  std::vector<std::string> taps;
  if (spec == "all") {
    for (const auto& n : f.nodes()) taps.push_back(f.value(n.output).name);
  } else {
    taps = split(spec);
    for (const auto& t : taps) f.require_value(t);
  }
  return taps;
}

// Adds to `dump` each tap it does not hold yet (an output may be tapped too), read by `read`.
template <class Read>
void append_taps(std::vector<io::NamedTensor>& dump, const std::vector<std::string>& taps, const graph::Graph& f,
                 Read&& read) {
  for (const auto& t : taps) {
    if (std::any_of(dump.begin(), dump.end(), [&](const io::NamedTensor& d) { return d.name == t; })) continue;
    dump.push_back({t, f.value(f.require_value(t)).shape, read(t)});
  }
}

// --oracle: the graph `f` (the one the device would run, BN already folded by --fold) in float64
// on the CPU; outputs and taps rounded to float32 for the file (the round costs at most half an
// fp32 ulp per element, ~3e-8 relative: far below what any fp32 run differs by).
int run_oracle_dump(const RunOptions& o, const graph::Graph& g, graph::Graph& f,
                    const fusion::FusionReport& report, const std::vector<float>& x, ProgressLine& progress) {
  graph::OracleOptions oo;
  const std::vector<std::string> taps = requested_taps(o.taps, f);
  oo.keep_all = o.taps == "all";
  if (!oo.keep_all) oo.keep = taps;
  std::size_t done = 0;
  const double total = static_cast<double>(f.nodes().size());
  oo.before_node = [&](graph::Graph&, const graph::Node&, const std::vector<const reference::HostTensor*>&) {
    progress.update("float64 oracle on the CPU", static_cast<double>(done++) / total);
  };
  const auto t0 = std::chrono::steady_clock::now();
  const auto values = graph::run_oracle(f, {{f.value(f.inputs()[0]).name, x}}, oo);
  progress.clear();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("model {} ({} nodes{}), input {}, float64 oracle on the CPU, {:.1f} s\n", f.name(), f.nodes().size(),
             report.nodes_before ? fmt::format(", fused from {}", report.nodes_before) : "",
             ops::to_string(g.value(g.inputs()[0]).shape), wall_s);
  std::vector<io::NamedTensor> dump;
  auto as_float = [&](const std::string& name) {
    const auto& d = values.at(name).data;
    return std::vector<float>(d.begin(), d.end());
  };
  for (graph::ValueId out : f.outputs()) {
    const graph::Value& v = f.value(out);
    fmt::print("output {} {}\n", v.name, ops::to_string(v.shape));
    dump.push_back({v.name, v.shape, as_float(v.name)});
  }
  if (!o.output.empty()) {
    append_taps(dump, taps, f, as_float);
    io::write_safetensors(o.output, dump,
                          {{"model", f.name()}, {"fuse", o.fuse}, {"fold", o.fold}, {"precision", "float64 oracle, stored as F32"},
                           {"producer", "fusescope run --oracle"}});
    fmt::print("wrote {} tensor(s) to {}\n", dump.size(), o.output);
  }
  return 0;
}

void print_kernel_override_checks(const std::vector<workbench::KernelOverrideCheck>& checks) {
  for (const workbench::KernelOverrideCheck& c : checks) {
    const numerics::TensorComparison& e = c.vs_oracle;
    fmt::print("kernel override {} <- {}: vs float64 oracle on its inputs rel-L2 {:.3e}, max-abs {:.3e}, max ULP {}, "
               "tolerance rel-L2 {:.0e}: {}\n",
               c.node, c.file, e.rel_l2, e.max_abs, e.max_ulp, c.tolerance_rel_l2,
               c.within_tolerance ? "within" : "OVER TOLERANCE");
    for (const workbench::WorstElement& w : c.worst) {
      fmt::print("  {}[{}] = {:.7g}, oracle {:.7g} (off by {:.3e})\n", c.output, fmt::join(w.index, ","), w.got,
                 w.expected, std::abs(static_cast<double>(w.got) - w.expected));
    }
    fmt::print("  GPU {:.3f} ms (built-in kernel {:.3f} ms); output {} vs the built-in run: rel-L2 {:.3e}, max-abs {:.3e}\n",
               c.gpu_ms, c.builtin_gpu_ms, c.network_output, c.network_output_vs_builtin.rel_l2,
               c.network_output_vs_builtin.max_abs);
  }
}

int run_run(const GlobalOptions& global, const RunOptions& o) {
  // Flags are checked before the (possibly slow) model build.
  const FuseMode fuse_mode = parse_fuse_mode(o.fuse);
  if (o.oracle && (o.execution.precision != "fp32" || o.execution.layout != "nchw"))
    throw ops::InvalidArgument("--oracle runs in float64 on the CPU: --precision and --layout do not apply");
  if (o.oracle && !o.execution.kernel_overrides.empty())
    throw ops::InvalidArgument("--oracle runs in float64 on the CPU: --kernel-override does not apply (without "
                               "--oracle, run checks each edited kernel against the oracle itself)");
  const fusion::FoldPrecision fold = parse_fold_precision(o.fold);
  graph::ExecutorOptions eo = executor_options(o.execution);
  ProgressLine progress(global);
  // The device first (not for --oracle, which needs none): a tensor it cannot bind is refused
  // before the model is calibrated and fed.
  std::optional<gpu::Device> device;
  workbench::ModelSource source = o.source;
  if (!o.oracle) {
    device.emplace(device_options(global));
    workbench::check_against_device(source, device->info(), eo.precision);
  }
  graph::Graph g = load_model(source, progress.callback());
  const std::vector<float> x = load_input(source, g);
  fusion::FusionReport report;
  graph::Graph f = fused_copy(g, fuse_mode, fold, &report);
  if (o.oracle) return run_oracle_dump(o, g, f, report, x, progress);

  const std::vector<std::string> taps = requested_taps(o.taps, f);
  eo.tap_all = o.taps == "all";
  if (!eo.tap_all) eo.taps = taps;
  eo.progress = progress.callback();
  graph::Executor exec(*device, f, eo);
  exec.set_input(x);
  progress.update("running on the device", -1);
  const auto t0 = std::chrono::steady_clock::now();
  exec.run();
  progress.clear();
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  double gpu_ms = 0;
  for (const auto& t : exec.node_timings()) gpu_ms += t.gpu_ms;

  fmt::print("model {} ({} nodes{}), input {}, precision {}, layout {}, device {}\n", f.name(), f.nodes().size(),
             report.nodes_before ? fmt::format(", fused from {}", report.nodes_before) : "",
             ops::to_string(g.value(g.inputs()[0]).shape), o.execution.precision, o.execution.layout,
             device->info().name);
  fmt::print("{} dispatches, GPU {:.2f} ms, wall {:.2f} ms, activations {:.2f} MiB, weights {:.2f} MiB\n",
             exec.dispatch_count(), gpu_ms, wall_ms, exec.memory_plan().peak_bytes / 1048576.0,
             exec.memory_plan().weight_bytes / 1048576.0);
  std::vector<io::NamedTensor> dump;
  for (graph::ValueId out : f.outputs()) {
    const graph::Value& v = f.value(out);
    std::vector<float> y = exec.read(v.name);
    fmt::print("output {} {}", v.name, ops::to_string(v.shape));
    if (v.shape.size() == 2 && v.shape[1] >= 5) {
      // Classifier: the top-5 classes of the first row.
      std::vector<std::size_t> idx(static_cast<std::size_t>(v.shape[1]));
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](std::size_t a, std::size_t b) { return y[a] > y[b]; });
      fmt::print("  top-5:");
      for (int k = 0; k < 5; ++k) fmt::print(" {} ({:.4f})", idx[static_cast<std::size_t>(k)], y[idx[static_cast<std::size_t>(k)]]);
    }
    fmt::print("\n");
    dump.push_back({v.name, v.shape, std::move(y)});
  }
  if (!o.output.empty()) append_taps(dump, taps, f, [&](const std::string& t) { return exec.read(t); });
  // Edited kernels: each judged against the float64 oracle on its node's own inputs, timed
  // beside the built-in kernel, and its effect on the output measured (workbench's check).
  std::vector<workbench::KernelOverrideCheck> checks;
  if (!eo.kernel_overrides.empty()) {
    progress.update("checking the kernel overrides against the float64 oracle", -1);
    checks = workbench::check_kernel_overrides(*device, f, x, eo);
    progress.clear();
    print_kernel_override_checks(checks);
  }
  if (validation_failed(global, *device, "run")) return 1;
  if (!o.output.empty()) {
    io::write_safetensors(o.output, dump,
                          {{"model", f.name()}, {"fuse", o.fuse}, {"fold", o.fold}, {"precision", o.execution.precision},
                           {"layout", o.execution.layout}, {"producer", "fusescope run"}});
    fmt::print("wrote {} tensor(s) to {}\n", dump.size(), o.output);
  }
  std::string over;
  for (const auto& c : checks) {
    if (!c.within_tolerance) over += (over.empty() ? "" : ", ") + c.node;
  }
  if (!over.empty()) {
    fmt::print(stderr, "run: the edited kernel of {} is further from the float64 oracle than the tolerance\n", over);
    return 1;
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a network and write its outputs (and taps) to safetensors");
  add_model_source_options(cmd, o->source);
  cmd->add_option("--fuse", o->fuse, "none, bn, all or runtime (BN in conv epilogues, weights untouched)")->capture_default_str();
  add_execution_options(cmd, o->execution);
  cmd->add_option("--fold", o->fold, "float64 or float32 (PyTorch's order) BN folding")->capture_default_str();
  add_output_option(cmd, o->output, "Write outputs and taps to this .safetensors file", {"--dump"});
  cmd->add_option("--taps", o->taps, "all, or comma-separated tensor names to keep and dump");
  cmd->add_flag("--oracle", o->oracle,
                "Run the graph (after --fuse/--fold) on the float64 CPU oracle instead of the device; "
                "outputs and taps are rounded to float32 for -o");
  cmd->callback([&global, &exit_code, o] { exit_code = run_run(global, *o); });
}

}  // namespace fusescope::cli
