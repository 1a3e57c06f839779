// Run-time fusion of BatchNorm: the BN moves into the conv's epilogue and is applied there from
// its raw statistics; the weights are untouched. It saves the dispatch and the tensor round trip
// without changing a single rounding, which makes it the control group of every fold: any
// difference between this candidate and the unfused network is a bug, not numerics.
#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

FusionReport fuse_batchnorm_into_epilogue(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const graph::NodeId bn_id = batchnorm_after_conv(g, static_cast<graph::NodeId>(i));
    if (bn_id < 0) continue;
    const graph::Node& bn_node = g.node(bn_id);
    const auto* bn = bn_node.as<graph::BatchNormAttrs>();
    graph::Node& node = g.nodes()[i];
    auto* c = node.as<graph::ConvAttrs>();
    c->epilogue.batchnorm = true;
    c->epilogue.bn = bn->params;
    c->epilogue.activation = bn->activation;
    node.inputs.resize(5, graph::kNoValue);
    node.inputs[3] = bn_node.inputs[1];
    const std::string act = bn->activation.kind == ops::ActivationKind::none
                                ? std::string()
                                : ", " + ops::to_string(bn->activation) + " too";
    const std::vector<std::string> replaced = bn_node.provenance;
    absorb(g, static_cast<graph::NodeId>(i), bn_id, dead);
    report.changes.push_back({"fuse_batchnorm_into_epilogue", g.nodes()[i].name, replaced,
                              fmt::format("BN applied in the conv epilogue from its statistics{}", act)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
