// PyTorch's exact GELU (nn.GELU(), ConvNeXt's MLP) exports as five elementwise nodes,
//   e = Erf(x / 1.4142135);  y = x * (e + 1) * 0.5
// and fusescope's own exporter writes the same function as Erf(x * 0.70710678), (x * 0.5) * (e + 1):
// five dispatches and four intermediate tensors for one activation. This pass recognises both
// and makes them one gelu activation node (the same erf approximation as the Erf kernel, see
// shaders/common.glsl), which fuse_activation can then move into a producing conv's epilogue.
// The fused value is rounded differently from the chain, a few fp32 ulps apart.
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

bool near(float value, double want) { return std::fabs(static_cast<double>(value) - want) <= 1e-6 * std::fabs(want); }

}  // namespace

FusionReport fuse_gelu_pattern(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    // u = x / sqrt 2, or x * (1 / sqrt 2) with the constant on either side.
    const graph::Node& scale = g.nodes()[i];
    graph::ValueId x = graph::kNoValue;
    if (is_binary(scale, ops::BinaryOp::div) && scale.inputs.size() == 2 && !g.value(scale.inputs[0]).constant &&
        near(scalar_constant(g, scale.inputs[1]), std::numbers::sqrt2)) {
      x = scale.inputs[0];
    } else if (is_binary(scale, ops::BinaryOp::mul)) {
      for (graph::ValueId candidate : scale.inputs) {
        const graph::ValueId c = other_input(scale, candidate);
        if (c != graph::kNoValue && !g.value(candidate).constant && near(scalar_constant(g, c), 1.0 / std::numbers::sqrt2))
          x = candidate;
      }
    }
    if (x == graph::kNoValue || g.value(x).shape != g.value(scale.output).shape) continue;
    const graph::NodeId erf_id = sole_consumer(g, scale.output);
    if (erf_id < 0) continue;
    const auto* erf = g.node(erf_id).as<graph::ActivationAttrs>();
    if (erf == nullptr || erf->activation.kind != ops::ActivationKind::erf) continue;
    const graph::NodeId one_id = sole_consumer(g, g.node(erf_id).output);
    if (one_id < 0 || !is_binary(g.node(one_id), ops::BinaryOp::add) ||
        scalar_constant(g, other_input(g.node(one_id), g.node(erf_id).output)) != 1.0f)
      continue;
    const graph::ValueId one_plus = g.node(one_id).output;
    const graph::NodeId product_id = sole_consumer(g, one_plus);
    if (product_id < 0 || !is_binary(g.node(product_id), ops::BinaryOp::mul)) continue;
    const graph::ValueId factor = other_input(g.node(product_id), one_plus);
    std::vector<graph::NodeId> chain{erf_id, one_id};
    if (factor == x) {
      // x * (1 + e), then * 0.5 (constant on either side).
      const graph::NodeId half_id = sole_consumer(g, g.node(product_id).output);
      if (half_id < 0 || !is_binary(g.node(half_id), ops::BinaryOp::mul) ||
          scalar_constant(g, other_input(g.node(half_id), g.node(product_id).output)) != 0.5f)
        continue;
      chain.insert(chain.end(), {product_id, half_id});
    } else {
      // (x * 0.5) * (1 + e): the half is computed from x by a node of its own, read only here.
      const graph::NodeId half_id = producer_if_binary(g, factor, ops::BinaryOp::mul);
      if (half_id < 0 || dead[static_cast<std::size_t>(half_id)] || sole_consumer(g, factor) != product_id ||
          other_input(g.node(half_id), x) == graph::kNoValue ||
          scalar_constant(g, other_input(g.node(half_id), x)) != 0.5f)
        continue;
      chain.insert(chain.end(), {half_id, product_id});
    }
    if (g.value(g.node(chain.back()).output).shape != g.value(x).shape) continue;

    graph::Node& keep = g.nodes()[i];
    keep.attrs = graph::ActivationAttrs{ops::Activation::gelu()};
    keep.inputs = {x};
    const std::size_t before = keep.provenance.size();
    for (graph::NodeId absorbed : chain) absorb(g, static_cast<graph::NodeId>(i), absorbed, dead);
    const graph::Node& fused = g.nodes()[i];
    std::vector<std::string> replaced(fused.provenance.begin() + static_cast<std::ptrdiff_t>(before), fused.provenance.end());
    report.changes.push_back({"fuse_gelu_pattern", fused.name, replaced,
                              fmt::format("x * (1 + erf(x / sqrt 2)) / 2 as one gelu of '{}'", g.value(x).name)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
