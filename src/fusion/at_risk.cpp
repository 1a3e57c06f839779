#include "fusion/at_risk.hpp"

#include <cmath>

#include "fusion/rewrite.hpp"
#include "ops/half.hpp"

namespace fusescope::fusion {

std::vector<AtRiskChannel> find_at_risk_channels(const graph::Graph& g) {
  std::vector<AtRiskChannel> risky;
  for (const graph::Node& bn_node : g.nodes()) {
    const auto* bn = bn_node.as<graph::BatchNormAttrs>();
    if (bn == nullptr) continue;
    const graph::NodeId conv_id = g.value(bn_node.inputs[0]).producer;
    const graph::Node* conv_node = conv_id >= 0 ? &g.node(conv_id) : nullptr;
    const auto* conv = conv_node ? conv_node->as<graph::ConvAttrs>() : nullptr;
    const auto& stats = g.value(bn_node.inputs[1]).data;
    const std::size_t c = static_cast<std::size_t>(bn->params.channels);
    for (std::size_t k = 0; k < c; ++k) {
      const double var = stats[3 * c + k];
      const double s = stats[k] / std::sqrt(var + static_cast<double>(bn->params.epsilon));
      AtRiskChannel r;
      r.conv = conv ? conv_node->name : "";
      r.batchnorm = bn_node.name;
      r.channel = static_cast<std::int64_t>(k);
      r.scale = s;
      r.running_var = var;
      double conv_bias = 0;
      bool underflow = false;
      if (conv) {
        const auto& w = g.value(conv_node->inputs[1]).data;
        const std::size_t per = w.size() / c;
        std::size_t normal = 0, pushed_down = 0;
        for (std::size_t i = k * per; i < (k + 1) * per; ++i) {
          const double folded = std::abs(w[i] * s);
          r.max_folded_weight = std::max(r.max_folded_weight, folded);
          if (std::abs(w[i]) < ops::kHalfMinNormal) continue;
          ++normal;
          if (folded < ops::kHalfMinNormal) ++pushed_down;
        }
        // A few tiny weights always exist and barely matter; the channel is at risk when the
        // scale pushes most of its weights out of fp16's normal range.
        underflow = normal > 0 && 2 * pushed_down > normal;
        if (conv->params.has_bias) conv_bias = g.value(conv_node->inputs[2]).data[k];
      }
      r.folded_bias = stats[c + k] + (conv_bias - stats[2 * c + k]) * s;
      std::string reasons;
      auto add = [&](const char* why) { reasons += (reasons.empty() ? "" : ",") + std::string(why); };
      if (std::abs(s) > kAmplificationLimit) add("amplified");
      if (r.max_folded_weight > ops::kHalfMax || std::abs(r.folded_bias) > ops::kHalfMax) add("overflow");
      if (underflow) add("underflow");
      if (reasons.empty()) continue;
      r.reasons = reasons;
      risky.push_back(r);
    }
  }
  return risky;
}

}  // namespace fusescope::fusion
