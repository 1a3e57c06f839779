#include "workbench/kernel_override_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gpu/device.hpp"
#include "gpu/shader_override.hpp"
#include "graph/oracle_runner.hpp"

namespace fusescope::workbench {

namespace {

// `g`'s node `name` alone: its activation inputs become graph inputs named like the values they
// stand for, its constants stay, its output keeps its name (graph::isolate_nodes, for one node).
graph::Graph single_node_graph(const graph::Graph& g, const graph::Node& node) {
  graph::Graph one(g.name() + ":" + node.name);
  std::vector<graph::ValueId> inputs;
  for (graph::ValueId in : node.inputs) {
    if (in == graph::kNoValue) {
      inputs.push_back(graph::kNoValue);
      continue;
    }
    const graph::Value& v = g.value(in);
    inputs.push_back(v.constant ? one.add_constant(v.name, v.shape, v.data) : one.add_input(v.name, v.shape));
  }
  one.mark_output(one.add_node(node.name, node.scope, node.attrs, inputs, g.value(node.output).name));
  return one;
}

std::vector<std::int64_t> unflatten(std::int64_t flat, const ops::Shape& shape) {
  std::vector<std::int64_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

double node_gpu_ms(const graph::Executor& e, const std::string& node) {
  double ms = 0;
  for (const graph::NodeTiming& t : e.node_timings()) {
    if (t.node == node) ms += t.gpu_ms;
  }
  return ms;
}

}  // namespace

double node_oracle_tolerance(ops::Precision precision) {
  switch (precision) {
    case ops::Precision::fp16s: return 1.0 / 2048.0 + 2e-5;
    case ops::Precision::fp16: return 5e-2;
    case ops::Precision::fp32: break;
  }
  return 1e-5;
}

std::vector<KernelOverrideCheck> check_kernel_overrides(gpu::Device& device, const graph::Graph& g,
                                                        const std::vector<float>& input,
                                                        const graph::ExecutorOptions& options) {
  // Both runs keep each overridden node's inputs and output and the network's outputs readable.
  graph::ExecutorOptions edited_options = options;
  std::vector<const graph::Node*> nodes;
  for (const auto& [name, source] : options.kernel_overrides) {
    const graph::NodeId id = g.find_node(name);
    if (id < 0) continue;  // the executor refuses it, naming it
    const graph::Node& node = g.node(id);
    nodes.push_back(&node);
    edited_options.taps.push_back(g.value(node.output).name);
    for (graph::ValueId in : node.inputs) {
      if (in != graph::kNoValue && !g.value(in).constant && g.find_value(g.value(in).name) != graph::kNoValue)
        edited_options.taps.push_back(g.value(in).name);
    }
  }
  for (graph::ValueId out : g.outputs()) edited_options.taps.push_back(g.value(out).name);
  std::sort(edited_options.taps.begin(), edited_options.taps.end());
  edited_options.taps.erase(std::unique(edited_options.taps.begin(), edited_options.taps.end()), edited_options.taps.end());
  // Graph inputs are always readable and are not tap targets of their own.
  std::erase_if(edited_options.taps, [&](const std::string& t) {
    const graph::Value& v = g.value(g.require_value(t));
    return v.producer < 0;
  });
  graph::ExecutorOptions builtin_options = edited_options;
  builtin_options.kernel_overrides.clear();

  graph::Executor edited(device, g, edited_options);
  graph::Executor builtin(device, g, builtin_options);
  edited.set_input(input);
  builtin.set_input(input);
  // Twice, timing the second: a driver may compile a pipeline at its first dispatch (lavapipe
  // does), which would be read as the kernel's time.
  for (int i = 0; i < 2; ++i) {
    edited.run();
    builtin.run();
  }

  const std::string network_output = g.value(g.outputs().at(0)).name;
  const numerics::ErrorStats end_to_end = numerics::measure_error(edited.read(network_output), builtin.read(network_output));

  std::vector<KernelOverrideCheck> out;
  for (const graph::Node* node : nodes) {
    KernelOverrideCheck c;
    c.node = node->name;
    c.file = options.kernel_overrides.at(node->name)->file_name();
    c.output = g.value(node->output).name;
    graph::Graph one = single_node_graph(g, *node);
    std::map<std::string, std::vector<float>> feeds;
    for (graph::ValueId in : one.inputs()) feeds[one.value(in).name] = edited.read(one.value(in).name);
    graph::Graph oracle_graph = one;
    const auto oracle = graph::run_oracle(oracle_graph, feeds);
    const reference::HostTensor& expected = oracle.at(c.output);
    const std::vector<float> got = edited.read(c.output);
    const ops::Shape& shape = g.value(node->output).shape;
    c.vs_oracle = numerics::compare_tensors(got, expected.data, shape);
    // The five largest differences, for a user to look at the indices an indexing bug hits.
    std::vector<std::size_t> order(got.size());
    std::iota(order.begin(), order.end(), 0);
    auto diff = [&](std::size_t i) {
      const double d = std::abs(static_cast<double>(got[i]) - expected.data[i]);
      return std::isnan(d) ? INFINITY : d;
    };
    const std::size_t n = std::min<std::size_t>(5, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                      [&](std::size_t a, std::size_t b) { return diff(a) > diff(b); });
    for (std::size_t k = 0; k < n && diff(order[k]) > 0; ++k)
      c.worst.push_back({unflatten(static_cast<std::int64_t>(order[k]), shape), got[order[k]], expected.data[order[k]]});
    c.tolerance_rel_l2 = node_oracle_tolerance(options.precision);
    c.within_tolerance = c.vs_oracle.non_finite == 0 && c.vs_oracle.rel_l2 <= c.tolerance_rel_l2;
    c.gpu_ms = node_gpu_ms(edited, node->name);
    c.builtin_gpu_ms = node_gpu_ms(builtin, node->name);
    c.network_output = network_output;
    c.network_output_vs_builtin = end_to_end;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace fusescope::workbench
