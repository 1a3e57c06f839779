// torch.onnx.export below opset 14 (which has HardSwish) writes nn.Hardswish as two nodes,
//   h = HardSigmoid(x; alpha 1/6, beta 1/2);  y = x * h
// (as fusescope's own exporter does); that pair becomes one hard_swish node the same way.
//
// Paddle2ONNX (and older PyTorch exports) write hardswish as four elementwise nodes,
//   t = x + 3;  c = Clip(t, 0, 6);  m = x * c;  y = m / 6   (or m * (1/6)),
// four dispatches and three intermediate tensors for one activation. This pass recognises the
// chain and replaces it with one hard_swish activation node, which fuse_activation can then move
// into the producing conv's epilogue. The hard_swish kernel computes x * clamp(x / 6 + 1/2, 0, 1)
// (ONNX HardSwish): the same function, rounded differently, so the fused value drifts by a few
// fp32 ulps from the chain — compare shows it like every other fusion's drift.
#include <fmt/format.h>

#include <cmath>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

FusionReport fuse_hard_swish_pattern(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const graph::Node& add = g.nodes()[i];
    if (!is_binary(add, ops::BinaryOp::add)) continue;
    // x + 3 (either order), with x not broadcast: the result has x's shape.
    graph::ValueId x = graph::kNoValue;
    for (graph::ValueId candidate : add.inputs) {
      const graph::ValueId three = other_input(add, candidate);
      if (three != graph::kNoValue && !g.value(candidate).constant && scalar_constant(g, three) == 3.0f) x = candidate;
    }
    if (x == graph::kNoValue || g.value(x).shape != g.value(add.output).shape) continue;
    const graph::NodeId clip_id = sole_consumer(g, add.output);
    if (clip_id < 0) continue;
    const auto* clip = g.node(clip_id).as<graph::ActivationAttrs>();
    if (clip == nullptr || clip->activation.kind != ops::ActivationKind::clip || clip->activation.alpha != 0.0f ||
        clip->activation.beta != 6.0f)
      continue;
    const graph::NodeId mul_id = sole_consumer(g, g.node(clip_id).output);
    if (mul_id < 0 || !is_binary(g.node(mul_id), ops::BinaryOp::mul) ||
        other_input(g.node(mul_id), g.node(clip_id).output) != x)
      continue;
    const graph::NodeId scale_id = sole_consumer(g, g.node(mul_id).output);
    if (scale_id < 0) continue;
    const graph::Node& scale = g.node(scale_id);
    // `/ 6` must have the constant as its divisor; `* (1/6)` may have it on either side.
    const bool divides = is_binary(scale, ops::BinaryOp::div) && scale.inputs.size() == 2 &&
                         scale.inputs[0] == g.node(mul_id).output && scalar_constant(g, scale.inputs[1]) == 6.0f;
    const graph::ValueId factor = other_input(scale, g.node(mul_id).output);
    const bool multiplies = is_binary(scale, ops::BinaryOp::mul) && factor != graph::kNoValue &&
                            std::fabs(scalar_constant(g, factor) - 1.0f / 6.0f) <= 1e-7f;
    if (!divides && !multiplies) continue;

    // The add node becomes the hard_swish node and absorbs the other three, so it keeps the
    // chain's first name and ends up producing the chain's last value (the name users know).
    graph::Node& keep = g.nodes()[i];
    keep.attrs = graph::ActivationAttrs{ops::Activation::hard_swish()};
    keep.inputs = {x};
    const std::vector<std::string> before = keep.provenance;
    absorb(g, static_cast<graph::NodeId>(i), clip_id, dead);
    absorb(g, static_cast<graph::NodeId>(i), mul_id, dead);
    absorb(g, static_cast<graph::NodeId>(i), scale_id, dead);
    std::vector<std::string> replaced(keep.provenance.begin() + static_cast<std::ptrdiff_t>(before.size()),
                                      keep.provenance.end());
    report.changes.push_back({"fuse_hard_swish_pattern", keep.name, replaced,
                              fmt::format("x * clip(x + 3, 0, 6) {} as one hard_swish of '{}'",
                                          divides ? "/ 6" : "* (1/6)", g.value(x).name)});
  }
  // The two-node form: HardSigmoid(x; 1/6, 1/2) read only by x * it.
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const auto* gate = g.nodes()[i].as<graph::ActivationAttrs>();
    if (gate == nullptr || gate->activation.kind != ops::ActivationKind::hard_sigmoid ||
        std::fabs(gate->activation.alpha - 1.0f / 6.0f) > 1e-7f || gate->activation.beta != 0.5f)
      continue;
    const graph::ValueId x = g.nodes()[i].inputs[0];
    const graph::NodeId mul_id = sole_consumer(g, g.nodes()[i].output);
    if (mul_id < 0 || !is_binary(g.node(mul_id), ops::BinaryOp::mul) ||
        other_input(g.node(mul_id), g.nodes()[i].output) != x || g.value(g.node(mul_id).output).shape != g.value(x).shape)
      continue;
    graph::Node& keep = g.nodes()[i];
    keep.attrs = graph::ActivationAttrs{ops::Activation::hard_swish()};
    absorb(g, static_cast<graph::NodeId>(i), mul_id, dead);
    report.changes.push_back({"fuse_hard_swish_pattern", g.nodes()[i].name, {g.nodes()[i].provenance.back()},
                              fmt::format("x * hard_sigmoid(x, 1/6, 1/2) as one hard_swish of '{}'", g.value(x).name)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
