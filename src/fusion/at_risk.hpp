// Channels that folding makes risky in half precision, found before anything runs. For every
// BatchNorm that folds into a conv, per output channel, with s = gamma / sqrt(var + eps):
//   overflow     max |W * s| or |b'| beyond fp16's largest finite value, 65504;
//   underflow    most of the channel's weights that are normal fp16 numbers before folding
//                land among fp16's subnormals (|W * s| < 2^-14) after it, losing precision;
//   amplified    s > 64: the BN scales this channel's rounding error up 64-fold or more, so
//                fp16's 2^-11 relative rounding of the conv output exceeds ~3% of the channel's
//                unit-variance output — typical of (nearly) dead channels with a tiny
//                running variance.
#pragma once
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace fusescope::fusion {

struct AtRiskChannel {
  std::string conv;       // the conv the BN folds into
  std::string batchnorm;  // the BN
  std::int64_t channel = 0;
  double scale = 0;             // gamma / sqrt(var + eps)
  double running_var = 0;
  double max_folded_weight = 0; // max |W * s| over the channel
  double folded_bias = 0;
  std::string reasons;          // "amplified", "overflow", "underflow", comma-joined
};

constexpr double kAmplificationLimit = 64.0;

// Looks at the unfused graph (where every BN's statistics are still visible).
std::vector<AtRiskChannel> find_at_risk_channels(const graph::Graph& unfused);

}  // namespace fusescope::fusion
