// Folding an inference BatchNorm into the convolution before it:
//   s = gamma / sqrt(var + eps)            (per output channel)
//   W' = W * s                             (every weight of that output channel)
//   b' = beta + (b - mean) * s             (b = 0 when the conv has no bias)
// Works for grouped and depthwise convs alike: OIHW keeps each output channel's weights
// contiguous whatever the grouping.
//
// Two arithmetic orders, so users can see what the choice costs:
//   float64          — every step in double, rounded to float once at the end (our default);
//   float32_pytorch  — torch.nn.utils.fusion.fuse_conv_bn_weights' order in float32:
//                      r = rsqrt(var + eps); W' = W * (gamma * r); b' = (b - mean) * r * gamma + beta,
//                      each operation rounded to float (rsqrt taken as 1/sqrt, both rounded).
#pragma once
#include <span>
#include <vector>

#include "ops/conv2d.hpp"

namespace fusescope::fusion {

enum class FoldPrecision { float64, float32_pytorch };

const char* to_string(FoldPrecision precision);

// A BatchNorm's parameters as stored by the frameworks.
struct BatchNormStatistics {
  std::vector<float> gamma, beta, mean, var;
  float epsilon = 1e-5f;
};

struct FoldedConv {
  std::vector<float> weight;  // OIHW, same shape as the input weight
  std::vector<float> bias;    // [out_channels]
  std::vector<double> scale;  // s per output channel, in double (for at-risk analysis)
};

// Throws ops::InvalidArgument when sizes disagree with `conv` or a variance + eps is not positive.
FoldedConv fold_batchnorm_into_conv(const ops::Conv2dParams& conv, std::span<const float> weight,
                                    std::span<const float> bias /* empty: no conv bias */,
                                    const BatchNormStatistics& bn, FoldPrecision precision);

}  // namespace fusescope::fusion
