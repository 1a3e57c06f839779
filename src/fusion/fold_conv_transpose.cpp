// Folding into a ConvTranspose what follows it per output channel: a constant bias Add (how
// Paddle2ONNX exports a Conv2DTranspose's bias, as a separate Add) and an inference BatchNorm.
// Transposed weights are [C, OC/groups, KH, KW]: output channel g * OCg + o owns the slices
// weight[c, o, :, :] for every input channel c of group g, so the BN scale s[oc] multiplies
// those, not a contiguous block as in fold_batchnorm_into_conv.
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// The constant per-output-channel values of `v` if it broadcasts against [N, OC, H, W] as one
// value per channel ([OC, 1, 1], [1, OC, 1, 1]) or one value for all ([1], [1, 1, 1, 1]).
std::optional<std::vector<double>> per_channel(const graph::Graph& g, graph::ValueId v, std::int64_t oc) {
  const graph::Value& c = g.value(v);
  if (!c.constant) return std::nullopt;
  ops::Shape s = c.shape;
  while (!s.empty() && s.front() == 1 && s.size() > 3) s.erase(s.begin());
  const std::int64_t n = ops::numel(s);
  if (n == 1) return std::vector<double>(static_cast<std::size_t>(oc), c.data[0]);
  if (n == oc && s.size() == 3 && s[0] == oc) return std::vector<double>(c.data.begin(), c.data.end());
  return std::nullopt;
}

}  // namespace

FusionReport fold_into_conv_transpose(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i] || g.nodes()[i].as<graph::ConvTransposeAttrs>() == nullptr) continue;
    for (;;) {
      graph::Node& node = g.nodes()[i];
      const ops::ConvTranspose2dParams p = node.as<graph::ConvTransposeAttrs>()->params;
      const graph::NodeId next_id = sole_consumer(g, node.output);
      if (next_id < 0) break;
      const graph::Node& next = g.node(next_id);
      const std::size_t oc = static_cast<std::size_t>(p.out_channels);
      std::vector<double> bias(oc, 0.0);
      if (node.inputs[2] != graph::kNoValue) {
        const auto& b = g.value(node.inputs[2]).data;
        bias.assign(b.begin(), b.end());
      }
      std::string pass, detail;
      std::vector<float> weight;  // stays empty when only the bias changes
      if (const auto* add = next.as<graph::BinaryAttrs>(); add != nullptr && add->op == ops::BinaryOp::add) {
        const graph::ValueId other = next.inputs[0] == node.output ? next.inputs[1] : next.inputs[0];
        const auto values = per_channel(g, other, p.out_channels);
        // The sum must keep the transposed conv's shape (no broadcast that grows it).
        if (!values || g.value(next.output).shape != g.value(node.output).shape) break;
        for (std::size_t c = 0; c < oc; ++c) bias[c] += (*values)[c];
        pass = "fold_bias_into_conv_transpose";
        detail = "constant per-channel Add folded into the bias";
      } else if (const auto* bn = next.as<graph::BatchNormAttrs>();
                 bn != nullptr && bn->activation.kind == ops::ActivationKind::none && next.inputs[0] == node.output) {
        // s = gamma / sqrt(var + eps) per output channel; W'[c, o] = W[c, o] * s[g*OCg + o];
        // b' = beta + (b - mean) * s. In float64, rounded once.
        const auto& st = g.value(next.inputs[1]).data;  // rows gamma, beta, mean, var
        std::vector<double> s(oc);
        for (std::size_t c = 0; c < oc; ++c) {
          const double denom = static_cast<double>(st[3 * oc + c]) + static_cast<double>(bn->params.epsilon);
          if (!(denom > 0.0)) {
            throw ops::InvalidArgument(fmt::format("{}: channel {}: running variance {} + epsilon {} is not positive",
                                                   next.name, c, st[3 * oc + c], bn->params.epsilon));
          }
          s[c] = static_cast<double>(st[c]) / std::sqrt(denom);
          bias[c] = static_cast<double>(st[oc + c]) + (bias[c] - static_cast<double>(st[2 * oc + c])) * s[c];
        }
        const auto& w = g.value(node.inputs[1]).data;
        const std::int64_t ocg = p.out_channels / p.groups, icg = p.in_channels / p.groups;
        const std::int64_t taps = p.kernel_h * p.kernel_w;
        weight.resize(w.size());
        for (std::int64_t c = 0; c < p.in_channels; ++c) {
          const std::int64_t group = c / icg;
          for (std::int64_t o = 0; o < ocg; ++o) {
            const double scale = s[static_cast<std::size_t>(group * ocg + o)];
            for (std::int64_t k = 0; k < taps; ++k) {
              const auto at = static_cast<std::size_t>((c * ocg + o) * taps + k);
              weight[at] = static_cast<float>(static_cast<double>(w[at]) * scale);
            }
          }
        }
        pass = "fold_batchnorm_into_conv_transpose";
        detail = "BN folded into weights (float64), per output channel";
      } else {
        break;
      }
      const std::string base = node.name;
      const ops::Shape w_shape = g.value(node.inputs[1]).shape;
      if (!weight.empty()) {
        const graph::ValueId wv = add_unique_constant(g, base + ".weight.folded", w_shape, std::move(weight));
        g.nodes()[i].inputs[1] = wv;
      }
      std::vector<float> bias32(bias.begin(), bias.end());
      const graph::ValueId bv = add_unique_constant(g, base + ".bias.folded", {p.out_channels}, std::move(bias32));
      graph::Node& n = g.nodes()[i];
      n.inputs[2] = bv;
      n.as<graph::ConvTransposeAttrs>()->params.has_bias = true;
      const std::vector<std::string> replaced = g.node(next_id).provenance;
      absorb(g, static_cast<graph::NodeId>(i), next_id, dead);
      report.changes.push_back({pass, g.nodes()[i].name, replaced, detail});
    }
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
