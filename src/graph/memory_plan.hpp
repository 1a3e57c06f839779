// Memory planning by liveness: every activation gets an offset in one shared buffer, and two
// activations share bytes only when their lifetimes (producer .. last reader) do not overlap.
// Placement is greedy by size, largest first, at the lowest offset that fits — the classic
// heuristic that lands close to the lower bound (the largest set of simultaneously live tensors)
// on chain-like CNNs. Flatten and Reshape outputs alias their input (same bytes, longer
// lifetime), and so do the outputs of the nodes the caller runs as views (`runs_as_view`: the
// executor's Transposes that move no element).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace fusescope::graph {

struct MemoryPlan {
  static constexpr std::uint64_t kUnplaced = ~std::uint64_t{0};
  std::vector<std::uint64_t> offset;  // per ValueId; kUnplaced for constants
  std::vector<std::uint64_t> bytes;   // per ValueId
  std::vector<int> first_step, last_step;  // lifetime in node indices (inputs start at -1)
  std::vector<ValueId> alias_of;      // the value whose bytes this one uses (itself if none)
  std::uint64_t peak_bytes = 0;       // size of the shared activation buffer
  std::uint64_t sum_of_activation_bytes = 0;  // what no sharing would cost
  std::uint64_t weight_bytes = 0;
  // The single node whose inputs + output are largest: the floor any plan must reach.
  std::uint64_t largest_node_io_bytes = 0;
  std::string largest_node;
};

// `value_bytes(id)` gives each value's size in bytes for the chosen precision; values listed in
// `keep_alive` (outputs, taps) live to the end. Offsets are multiples of `alignment`.
MemoryPlan plan_memory(const Graph& graph, const std::function<std::uint64_t(ValueId)>& value_bytes,
                       const std::vector<ValueId>& keep_alive, std::uint64_t alignment,
                       const std::function<bool(NodeId)>& runs_as_view = {});

}  // namespace fusescope::graph
