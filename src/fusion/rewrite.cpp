#include "fusion/rewrite.hpp"

#include <algorithm>
#include <cmath>

namespace fusescope::fusion {

graph::NodeId sole_consumer(const graph::Graph& g, graph::ValueId value) {
  const auto& outs = g.outputs();
  if (std::find(outs.begin(), outs.end(), value) != outs.end()) return -1;
  const auto users = g.consumers(value);
  if (users.size() != 1) return -1;
  // A node reading the value twice (x + x) is not a chain link either.
  const auto& ins = g.node(users[0]).inputs;
  if (std::count(ins.begin(), ins.end(), value) != 1) return -1;
  return users[0];
}

void absorb(graph::Graph& g, graph::NodeId node, graph::NodeId absorbed, std::vector<bool>& dead) {
  auto& nodes = g.nodes();
  graph::Node& keep = nodes[static_cast<std::size_t>(node)];
  graph::Node& gone = nodes[static_cast<std::size_t>(absorbed)];
  const graph::ValueId old_output = keep.output;
  keep.output = gone.output;
  g.value(keep.output).producer = node;
  g.value(old_output).producer = -1;  // orphaned: erase_dead_nodes drops it
  keep.provenance.insert(keep.provenance.end(), gone.provenance.begin(), gone.provenance.end());
  gone.output = graph::kNoValue;
  dead[static_cast<std::size_t>(absorbed)] = true;
}

void erase_dead_nodes(graph::Graph& g, const std::vector<bool>& dead) {
  std::vector<graph::Node> kept;
  auto& nodes = g.nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);
  for (auto& v : g.values()) v.producer = -1;
  for (std::size_t i = 0; i < nodes.size(); ++i) g.value(nodes[i].output).producer = static_cast<graph::NodeId>(i);
  g.remove_dead_nodes();
}

graph::ValueId add_unique_constant(graph::Graph& g, const std::string& name, const ops::Shape& shape,
                                   std::vector<float> data) {
  std::string unique = name;
  for (int i = 2; g.find_value(unique) != graph::kNoValue; ++i) unique = name + "." + std::to_string(i);
  return g.add_constant(unique, shape, std::move(data));
}

graph::NodeId batchnorm_after_conv(const graph::Graph& g, graph::NodeId conv_id) {
  const graph::Node& node = g.node(conv_id);
  const auto* conv = node.as<graph::ConvAttrs>();
  if (conv == nullptr || conv->epilogue.batchnorm || conv->epilogue.residual ||
      conv->epilogue.activation.kind != ops::ActivationKind::none)
    return -1;
  const graph::NodeId bn_id = sole_consumer(g, node.output);
  if (bn_id < 0) return -1;
  const graph::Node& bn_node = g.node(bn_id);
  if (bn_node.as<graph::BatchNormAttrs>() == nullptr || bn_node.inputs[0] != node.output) return -1;
  return bn_id;
}

float scalar_constant(const graph::Graph& g, graph::ValueId v) {
  const graph::Value& value = g.value(v);
  return value.constant && value.data.size() == 1 ? value.data[0] : std::nanf("");
}

graph::ValueId other_input(const graph::Node& n, graph::ValueId x) {
  if (n.inputs.size() != 2) return graph::kNoValue;
  if (n.inputs[0] == x) return n.inputs[1];
  if (n.inputs[1] == x) return n.inputs[0];
  return graph::kNoValue;
}

bool is_binary(const graph::Node& n, ops::BinaryOp op) {
  const auto* b = n.as<graph::BinaryAttrs>();
  return b != nullptr && b->op == op;
}

graph::NodeId producer_if_binary(const graph::Graph& g, graph::ValueId v, ops::BinaryOp op) {
  const graph::NodeId p = g.value(v).producer;
  return p >= 0 && is_binary(g.node(p), op) ? p : -1;
}

}  // namespace fusescope::fusion
