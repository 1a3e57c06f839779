// isolate_nodes: a graph in which every node of `g` reads its activation inputs as graph inputs
// (named like the values they stand for) instead of from the node before it. Fed with the
// reference graph's tensors, it measures each node's own error ("local drift") apart from the
// error that the layers before it accumulated. Outputs are named "<value>@local".
#pragma once
#include "graph/graph.hpp"

namespace fusescope::graph {

inline constexpr const char* kLocalSuffix = "@local";

Graph isolate_nodes(const Graph& g);

}  // namespace fusescope::graph
