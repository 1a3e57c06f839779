#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

FusionReport fuse_activation(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    graph::Node& producer = g.nodes()[i];
    ops::Activation* slot = nullptr;
    if (auto* c = producer.as<graph::ConvAttrs>()) slot = &c->epilogue.activation;
    if (auto* b = producer.as<graph::BatchNormAttrs>()) slot = &b->activation;
    if (slot == nullptr || slot->kind != ops::ActivationKind::none) continue;
    const graph::NodeId act_id = sole_consumer(g, producer.output);
    if (act_id < 0) continue;
    const auto* act = g.node(act_id).as<graph::ActivationAttrs>();
    if (act == nullptr) continue;
    *slot = act->activation;
    const std::vector<std::string> replaced = g.node(act_id).provenance;
    absorb(g, static_cast<graph::NodeId>(i), act_id, dead);
    report.changes.push_back({"fuse_activation", g.nodes()[i].name, replaced,
                              fmt::format("{} in the {} epilogue", ops::to_string(act->activation),
                                          graph::op_name(g.nodes()[i].attrs))});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

FusionReport fuse_residual_add(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t a = 0; a < g.nodes().size(); ++a) {
    if (dead[a]) continue;
    const graph::Node& add = g.nodes()[a];
    const auto* bin = add.as<graph::BinaryAttrs>();
    if (bin == nullptr || bin->op != ops::BinaryOp::add) continue;
    const graph::ValueId x = add.inputs[0], y = add.inputs[1];
    if (x == y || g.value(x).shape != g.value(y).shape) continue;  // no broadcasting residuals
    // The conv that absorbs the add must come after the other operand's producer, so the
    // residual is ready when the conv runs: try the later producer first.
    graph::NodeId best = -1;
    graph::ValueId residual = graph::kNoValue;
    for (auto [mine, other] : {std::pair{x, y}, std::pair{y, x}}) {
      const graph::NodeId p = g.value(mine).producer;
      if (p < 0 || dead[static_cast<std::size_t>(p)]) continue;
      const auto* conv = g.node(p).as<graph::ConvAttrs>();
      if (conv == nullptr || conv->epilogue.residual ||
          conv->epilogue.activation.kind != ops::ActivationKind::none)
        continue;
      if (sole_consumer(g, mine) != static_cast<graph::NodeId>(a)) continue;
      if (g.value(other).producer >= p) continue;
      if (best < 0 || p > best) {
        best = p;
        residual = other;
      }
    }
    if (best < 0) continue;
    auto* conv = g.nodes()[static_cast<std::size_t>(best)].as<graph::ConvAttrs>();
    conv->epilogue.residual = true;
    g.nodes()[static_cast<std::size_t>(best)].inputs[4] = residual;
    std::vector<std::string> replaced = g.node(static_cast<graph::NodeId>(a)).provenance;
    absorb(g, best, static_cast<graph::NodeId>(a), dead);
    std::string detail = fmt::format("adds '{}' in the epilogue", g.value(residual).name);
    // The activation right after the add (the block's ReLU) joins the epilogue as well.
    const graph::NodeId act_id = sole_consumer(g, g.nodes()[static_cast<std::size_t>(best)].output);
    if (act_id >= 0) {
      if (const auto* act = g.node(act_id).as<graph::ActivationAttrs>()) {
        g.nodes()[static_cast<std::size_t>(best)].as<graph::ConvAttrs>()->epilogue.activation = act->activation;
        replaced.insert(replaced.end(), g.node(act_id).provenance.begin(), g.node(act_id).provenance.end());
        detail += fmt::format(", then {}", ops::to_string(act->activation));
        absorb(g, best, act_id, dead);
      }
    }
    report.changes.push_back({"fuse_residual_add", g.nodes()[static_cast<std::size_t>(best)].name, replaced, detail});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
