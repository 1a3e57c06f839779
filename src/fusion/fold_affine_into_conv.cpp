// A constant scale or shift right after a conv folds into the conv's weights and bias, as a
// BatchNorm does. Paddle2ONNX writes PP-LCNetV3's LearnableAffineBlock and MobileOne's scalar
// branch weights this way — Mul(conv, s) then Add(., t) with s and t one scalar (or one value per
// output channel) each — two dispatches and two activation-sized tensors per conv that the
// folded conv does without: W'[oc] = W[oc] * s[oc], b' = b * s + t, in float64, rounded once per
// step.
#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// The constant's value for each of `channels` output channels, when it is one scalar or one
// value per channel laid out to broadcast over N, H and W ([C,1,1] or [1,C,1,1]); else empty.
std::vector<double> per_channel(const graph::Value& c, std::int64_t channels) {
  if (!c.constant) return {};
  if (c.data.size() == 1) return std::vector<double>(static_cast<std::size_t>(channels), c.data[0]);
  const ops::Shape& s = c.shape;
  const bool channel_vector = static_cast<std::int64_t>(c.data.size()) == channels &&
                              ((s.size() == 3 && s[1] == 1 && s[2] == 1) ||
                               (s.size() == 4 && s[0] == 1 && s[2] == 1 && s[3] == 1));
  if (!channel_vector) return {};
  return {c.data.begin(), c.data.end()};
}

}  // namespace

FusionReport fold_affine_into_conv(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i] || g.nodes()[i].as<graph::ConvAttrs>() == nullptr) continue;
    // Fold as long as the conv's (new) output feeds one more constant affine step.
    for (;;) {
      const auto* conv = g.nodes()[i].as<graph::ConvAttrs>();
      // The epilogue runs after the bias: a scale after a BN, residual or activation in it
      // would not commute with them.
      if (conv->epilogue.batchnorm || conv->epilogue.residual ||
          conv->epilogue.activation.kind != ops::ActivationKind::none)
        break;
      const graph::ValueId y = g.nodes()[i].output;
      const graph::NodeId next = sole_consumer(g, y);
      if (next < 0) break;
      const graph::Node& step = g.node(next);
      const auto* bin = step.as<graph::BinaryAttrs>();
      if (bin == nullptr || g.value(step.output).shape != g.value(y).shape) break;
      const bool y_first = step.inputs[0] == y;
      const graph::ValueId other = y_first ? step.inputs[1] : step.inputs[0];
      const std::int64_t oc = conv->params.out_channels;
      std::vector<double> k = per_channel(g.value(other), oc);
      if (k.empty()) break;
      // y * k, k * y, y / k: a scale; y + k, k + y, y - k: a shift. k - y and k / y are not.
      std::vector<double> scale(static_cast<std::size_t>(oc), 1.0), shift(static_cast<std::size_t>(oc), 0.0);
      const char* what = nullptr;
      switch (bin->op) {
        case ops::BinaryOp::mul: scale = k; what = "scale"; break;
        case ops::BinaryOp::div:
          if (!y_first) break;
          for (double& v : k) v = 1.0 / v;
          scale = k;
          what = "scale (1/divisor)";
          break;
        case ops::BinaryOp::add: shift = k; what = "shift"; break;
        case ops::BinaryOp::sub:
          if (!y_first) break;
          for (double& v : k) v = -v;
          shift = k;
          what = "shift (negated)";
          break;
        default: break;
      }
      if (what == nullptr) break;

      graph::Node& node = g.nodes()[i];
      const graph::Value& w = g.value(node.inputs[1]);
      const std::size_t per_oc = w.data.size() / static_cast<std::size_t>(oc);
      std::vector<float> weight(w.data.size());
      for (std::size_t j = 0; j < weight.size(); ++j)
        weight[j] = static_cast<float>(static_cast<double>(w.data[j]) * scale[j / per_oc]);
      std::vector<float> bias(static_cast<std::size_t>(oc));
      for (std::size_t o = 0; o < bias.size(); ++o) {
        const double b = node.inputs[2] != graph::kNoValue ? g.value(node.inputs[2]).data[o] : 0.0;
        bias[o] = static_cast<float>(b * scale[o] + shift[o]);
      }
      const ops::Shape w_shape = w.shape;
      const std::string base = node.name;
      const graph::ValueId new_w = add_unique_constant(g, base + ".weight.folded", w_shape, std::move(weight));
      const graph::ValueId new_b = add_unique_constant(g, base + ".bias.folded", {oc}, std::move(bias));
      graph::Node& n = g.nodes()[i];  // add_unique_constant grew the values, not the nodes
      n.inputs[1] = new_w;
      n.inputs[2] = new_b;
      n.as<graph::ConvAttrs>()->params.has_bias = true;
      const std::vector<std::string> replaced = g.node(next).provenance;
      const std::string constant_name = g.value(other).name;
      absorb(g, static_cast<graph::NodeId>(i), next, dead);
      report.changes.push_back({"fold_affine_into_conv", n.name, replaced,
                                fmt::format("constant {} '{}' folded into weights and bias (float64)", what,
                                            constant_name)});
    }
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
