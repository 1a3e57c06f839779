#include "graph/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace fusescope::graph {

MemoryPlan plan_memory(const Graph& graph, const std::function<std::uint64_t(ValueId)>& value_bytes,
                       const std::vector<ValueId>& keep_alive, std::uint64_t alignment,
                       const std::function<bool(NodeId)>& runs_as_view) {
  const std::size_t nv = graph.values().size();
  const int end_of_graph = static_cast<int>(graph.nodes().size());
  MemoryPlan plan;
  plan.offset.assign(nv, MemoryPlan::kUnplaced);
  plan.bytes.assign(nv, 0);
  plan.first_step.assign(nv, -1);
  plan.last_step.assign(nv, -1);
  plan.alias_of.resize(nv);
  std::iota(plan.alias_of.begin(), plan.alias_of.end(), 0);

  for (std::size_t v = 0; v < nv; ++v) {
    plan.bytes[v] = value_bytes(static_cast<ValueId>(v));
    if (graph.values()[v].constant) plan.weight_bytes += plan.bytes[v];
  }
  auto root = [&](ValueId v) {
    while (plan.alias_of[static_cast<std::size_t>(v)] != v) v = plan.alias_of[static_cast<std::size_t>(v)];
    return v;
  };
  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    const auto out = static_cast<std::size_t>(node.output);
    const bool view = node.as<FlattenAttrs>() || node.as<ReshapeAttrs>() ||
                      (runs_as_view && runs_as_view(static_cast<NodeId>(n)));
    if (view) plan.alias_of[out] = root(node.inputs[0]);
    plan.first_step[out] = static_cast<int>(n);
    plan.last_step[out] = std::max(plan.last_step[out], static_cast<int>(n));
    std::uint64_t io = plan.bytes[out];
    for (ValueId in : node.inputs) {
      if (in == kNoValue || graph.value(in).constant) continue;
      io += plan.bytes[static_cast<std::size_t>(in)];
      auto& last = plan.last_step[static_cast<std::size_t>(in)];
      last = std::max(last, static_cast<int>(n));
    }
    if (io > plan.largest_node_io_bytes) {
      plan.largest_node_io_bytes = io;
      plan.largest_node = node.name;
    }
  }
  for (ValueId v : keep_alive) plan.last_step[static_cast<std::size_t>(v)] = end_of_graph;
  for (ValueId v : graph.inputs()) plan.first_step[static_cast<std::size_t>(v)] = -1;

  // Fold alias lifetimes into their roots.
  std::vector<int> first(nv), last(nv);
  for (std::size_t v = 0; v < nv; ++v) {
    first[v] = plan.first_step[v];
    last[v] = plan.last_step[v];
  }
  for (std::size_t v = 0; v < nv; ++v) {
    const auto r = static_cast<std::size_t>(root(static_cast<ValueId>(v)));
    if (r == v) continue;
    first[r] = std::min(first[r], first[v]);
    last[r] = std::max(last[r], last[v]);
  }

  std::vector<std::size_t> order;
  for (std::size_t v = 0; v < nv; ++v) {
    if (graph.values()[v].constant || root(static_cast<ValueId>(v)) != static_cast<ValueId>(v)) continue;
    plan.sum_of_activation_bytes += plan.bytes[v];
    order.push_back(v);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return plan.bytes[a] != plan.bytes[b] ? plan.bytes[a] > plan.bytes[b] : first[a] < first[b];
  });
  auto align_up = [&](std::uint64_t x) { return (x + alignment - 1) / alignment * alignment; };
  std::vector<std::size_t> placed;
  for (std::size_t v : order) {
    // Occupied ranges of already placed values whose lifetimes overlap v's, by offset.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> busy;
    for (std::size_t p : placed) {
      if (first[p] <= last[v] && first[v] <= last[p])
        busy.emplace_back(plan.offset[p], plan.offset[p] + align_up(plan.bytes[p]));
    }
    std::sort(busy.begin(), busy.end());
    std::uint64_t at = 0;
    const std::uint64_t need = align_up(plan.bytes[v]);
    for (const auto& [lo, hi] : busy) {
      if (at + need <= lo) break;
      at = std::max(at, hi);
    }
    plan.offset[v] = at;
    plan.peak_bytes = std::max(plan.peak_bytes, at + need);
    placed.push_back(v);
  }
  for (std::size_t v = 0; v < nv; ++v) {
    if (graph.values()[v].constant) continue;
    plan.offset[v] = plan.offset[static_cast<std::size_t>(root(static_cast<ValueId>(v)))];
  }
  return plan;
}

}  // namespace fusescope::graph
