// hard_swish(x) * s + t, with s and t scalar constants: PP-LCNetV3's activation followed by its
// LearnableAffineBlock, which Paddle2ONNX writes as a Mul and an Add of [1]-shaped constants
// after every HardSwish of PP-OCRv4's backbones. Two activation-sized passes per block (48 of
// PP-OCRv4 det's elementwise dispatches, a quarter of its GPU time on lavapipe) become part of
// the epilogue that already computes the hard_swish: activation hard_swish_affine(s, t), whose
// kernels round the product and then the sum, as the Mul and Add did.
#include <cmath>

#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// The node's activation when it has an epilogue or is an activation: conv, BN, gemm, activation.
ops::Activation* activation_slot(graph::Node& n) {
  if (auto* c = n.as<graph::ConvAttrs>()) return &c->epilogue.activation;
  if (auto* b = n.as<graph::BatchNormAttrs>()) return &b->activation;
  if (auto* a = n.as<graph::ActivationAttrs>()) return &a->activation;
  return nullptr;
}

}  // namespace

FusionReport fuse_post_activation_affine(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    // Absorb as long as the node's (new) output feeds one more scalar step of the affine: a
    // Mul by s (either side) while nothing is added yet, then an Add of t (either side).
    for (;;) {
      ops::Activation* act = activation_slot(g.nodes()[i]);
      if (act == nullptr) break;
      const bool bare = act->kind == ops::ActivationKind::hard_swish;
      const bool scaled_only = act->kind == ops::ActivationKind::hard_swish_affine && act->beta == 0.0f;
      const bool shifted = act->kind == ops::ActivationKind::hard_swish_affine && act->beta != 0.0f;
      if (!bare && !scaled_only && !shifted) break;
      const graph::ValueId y = g.nodes()[i].output;
      const graph::NodeId next = sole_consumer(g, y);
      if (next < 0 || dead[static_cast<std::size_t>(next)]) break;
      const graph::Node& step = g.node(next);
      const bool mul = is_binary(step, ops::BinaryOp::mul), add = is_binary(step, ops::BinaryOp::add);
      if ((!mul && !add) || g.value(step.output).shape != g.value(y).shape) break;
      const float k = scalar_constant(g, other_input(step, y));
      if (std::isnan(k)) break;
      // A second scale, or a scale after the shift, would round differently from the nodes it
      // replaces (s1 * s2 once instead of twice): those stay nodes.
      if (mul && (scaled_only || shifted)) break;
      if (add && shifted) break;
      const ops::Activation before = *act;
      *act = mul ? ops::Activation::hard_swish_affine(k, 0.0f)
                 : ops::Activation::hard_swish_affine(bare ? 1.0f : act->alpha, k);
      const std::vector<std::string> replaced = step.provenance;
      absorb(g, static_cast<graph::NodeId>(i), next, dead);
      report.changes.push_back({"fuse_post_activation_affine", g.nodes()[i].name, replaced,
                                fmt::format("{} then {} {:g} as {} in the {}", ops::to_string(before),
                                            mul ? "times" : "plus", k, ops::to_string(*act),
                                            graph::op_name(g.nodes()[i].attrs))});
    }
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
