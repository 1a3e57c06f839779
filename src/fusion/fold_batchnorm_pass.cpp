#include <fmt/format.h>

#include <cmath>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

BatchNormStatistics statistics(const graph::Graph& g, graph::ValueId stats_id, float epsilon) {
  const auto& data = g.value(stats_id).data;
  const std::size_t c = data.size() / 4;
  BatchNormStatistics bn;
  bn.epsilon = epsilon;
  bn.gamma.assign(data.begin(), data.begin() + c);
  bn.beta.assign(data.begin() + c, data.begin() + 2 * c);
  bn.mean.assign(data.begin() + 2 * c, data.begin() + 3 * c);
  bn.var.assign(data.begin() + 3 * c, data.end());
  return bn;
}

}  // namespace

FusionReport fold_batchnorm(graph::Graph& g, FoldPrecision precision) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const graph::NodeId bn_id = batchnorm_after_conv(g, static_cast<graph::NodeId>(i));
    if (bn_id < 0) continue;
    const graph::Node& bn_node = g.node(bn_id);
    const auto* bn = bn_node.as<graph::BatchNormAttrs>();
    const auto* conv = g.nodes()[i].as<graph::ConvAttrs>();
    graph::Node& node = g.nodes()[i];
    const graph::Value& w = g.value(node.inputs[1]);
    std::span<const float> bias;
    if (node.inputs[2] != graph::kNoValue) bias = g.value(node.inputs[2]).data;
    const FoldedConv folded = fold_batchnorm_into_conv(
        conv->params, w.data, bias, statistics(g, bn_node.inputs[1], bn->params.epsilon), precision);
    const ops::Shape w_shape = w.shape;
    const std::string base = node.name;
    node.inputs[1] = add_unique_constant(g, base + ".weight.folded", w_shape, folded.weight);
    node.inputs[2] = add_unique_constant(g, base + ".bias.folded", {conv->params.out_channels}, folded.bias);
    // `conv` may dangle after add_constant grew the vectors? No: values, not nodes, grew.
    auto* c = g.nodes()[i].as<graph::ConvAttrs>();
    c->params.has_bias = true;
    c->epilogue.activation = bn->activation;
    const std::string act = bn->activation.kind == ops::ActivationKind::none
                                ? std::string()
                                : ", " + ops::to_string(bn->activation) + " in epilogue";
    const std::vector<std::string> replaced = g.node(bn_id).provenance;
    absorb(g, static_cast<graph::NodeId>(i), bn_id, dead);
    report.changes.push_back({"fold_batchnorm", g.nodes()[i].name, replaced,
                              fmt::format("BN folded into weights ({}){}", to_string(precision), act)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

FusionReport fold_standalone_batchnorm(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    graph::Node& node = g.nodes()[i];
    const auto* bn = node.as<graph::BatchNormAttrs>();
    if (bn == nullptr || g.value(node.inputs[0]).shape.size() != 4) continue;
    const std::int64_t c = bn->params.channels;
    const BatchNormStatistics st = statistics(g, node.inputs[1], bn->params.epsilon);
    std::vector<float> scale(static_cast<std::size_t>(c)), shift(static_cast<std::size_t>(c));
    for (std::size_t k = 0; k < scale.size(); ++k) {
      const double s = static_cast<double>(st.gamma[k]) /
                       std::sqrt(static_cast<double>(st.var[k]) + static_cast<double>(st.epsilon));
      scale[k] = static_cast<float>(s);
      shift[k] = static_cast<float>(static_cast<double>(st.beta[k]) - static_cast<double>(st.mean[k]) * s);
    }
    graph::ConvAttrs attrs;
    attrs.params.in_channels = attrs.params.out_channels = attrs.params.groups = c;
    attrs.params.has_bias = true;
    attrs.epilogue.activation = bn->activation;
    const graph::ValueId x = node.inputs[0];
    const graph::ValueId w = add_unique_constant(g, node.name + ".scale", {c, 1, 1, 1}, std::move(scale));
    const graph::ValueId b = add_unique_constant(g, node.name + ".shift", {c}, std::move(shift));
    graph::Node& n = g.nodes()[i];
    n.attrs = attrs;
    n.inputs = {x, w, b, graph::kNoValue, graph::kNoValue};
    report.changes.push_back({"fold_standalone_batchnorm", n.name, {},
                              "BN without a conv before it: per-channel scale-shift (depthwise 1x1)"});
  }
  std::vector<bool> none(g.nodes().size(), false);
  erase_dead_nodes(g, none);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
