// Small graph-surgery helpers the fusion passes share.
#pragma once
#include <vector>

#include "graph/graph.hpp"

namespace fusescope::fusion {

// The node that alone reads `value`, or -1 when several do, none does, or it is a graph output
// (then its contents must survive, and fusing it away would lose them).
graph::NodeId sole_consumer(const graph::Graph& g, graph::ValueId value);

// When node `conv` is a conv with a bare epilogue whose output only a BatchNorm reads: that
// BatchNorm node (what folding and run-time fusion both take in); else -1.
graph::NodeId batchnorm_after_conv(const graph::Graph& g, graph::NodeId conv);

// `node` now produces `absorbed`'s output value (so the name users know survives), computes
// everything `absorbed` did (provenance), and `absorbed` is marked dead.
void absorb(graph::Graph& g, graph::NodeId node, graph::NodeId absorbed, std::vector<bool>& dead);

// Removes the nodes marked dead and every value nobody reads any more; keeps order.
void erase_dead_nodes(graph::Graph& g, const std::vector<bool>& dead);

// The single value of a constant with one element, or NaN when `v` is not one.
float scalar_constant(const graph::Graph& g, graph::ValueId v);

// The other input of a two-input node, when one of them is `x`; else kNoValue.
graph::ValueId other_input(const graph::Node& n, graph::ValueId x);

// Whether `n` is the elementwise binary `op`.
bool is_binary(const graph::Node& n, ops::BinaryOp op);

// The node producing `v` when that node is `op` (a chain pattern's previous link), else -1.
graph::NodeId producer_if_binary(const graph::Graph& g, graph::ValueId v, ops::BinaryOp op);

// A fresh constant (name made unique with a suffix when taken).
graph::ValueId add_unique_constant(graph::Graph& g, const std::string& name, const ops::Shape& shape,
                                   std::vector<float> data);

}  // namespace fusescope::fusion
