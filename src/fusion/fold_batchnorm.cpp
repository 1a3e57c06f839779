#include "fusion/fold_batchnorm.hpp"

#include <fmt/format.h>

#include <cmath>

namespace fusescope::fusion {

const char* to_string(FoldPrecision precision) {
  return precision == FoldPrecision::float64 ? "float64" : "float32 (PyTorch order)";
}

FoldedConv fold_batchnorm_into_conv(const ops::Conv2dParams& conv, std::span<const float> weight,
                                    std::span<const float> bias, const BatchNormStatistics& bn,
                                    FoldPrecision precision) {
  const std::int64_t oc = conv.out_channels;
  const std::int64_t per_channel = ops::numel(ops::conv2d_weight_shape(conv)) / oc;
  auto fail = [](const std::string& what) { throw ops::InvalidArgument("fold_batchnorm_into_conv: " + what); };
  if (static_cast<std::int64_t>(weight.size()) != oc * per_channel)
    fail(fmt::format("weight has {} values, expected {} ({})", weight.size(), oc * per_channel,
                     ops::to_string(ops::conv2d_weight_shape(conv))));
  if (!bias.empty() && static_cast<std::int64_t>(bias.size()) != oc)
    fail(fmt::format("conv bias has {} values, expected out_channels = {}", bias.size(), oc));
  for (const auto* v : {&bn.gamma, &bn.beta, &bn.mean, &bn.var}) {
    if (static_cast<std::int64_t>(v->size()) != oc)
      fail(fmt::format("batchnorm statistics have {} channels, the conv has {} output channels",
                       v->size(), oc));
  }

  FoldedConv out;
  out.weight.resize(weight.size());
  out.bias.resize(static_cast<std::size_t>(oc));
  out.scale.resize(static_cast<std::size_t>(oc));
  for (std::int64_t c = 0; c < oc; ++c) {
    const std::size_t ci = static_cast<std::size_t>(c);
    const double denom = static_cast<double>(bn.var[ci]) + static_cast<double>(bn.epsilon);
    if (!(denom > 0.0)) {
      fail(fmt::format("channel {}: running variance {} + epsilon {} is not positive", c,
                       bn.var[ci], bn.epsilon));
    }
    const double s = static_cast<double>(bn.gamma[ci]) / std::sqrt(denom);
    out.scale[ci] = s;
    const double b = bias.empty() ? 0.0 : static_cast<double>(bias[ci]);
    const std::size_t begin = ci * static_cast<std::size_t>(per_channel);
    if (precision == FoldPrecision::float64) {
      for (std::int64_t k = 0; k < per_channel; ++k) {
        out.weight[begin + k] = static_cast<float>(static_cast<double>(weight[begin + k]) * s);
      }
      out.bias[ci] = static_cast<float>(static_cast<double>(bn.beta[ci]) +
                                        (b - static_cast<double>(bn.mean[ci])) * s);
    } else {
      // Each line is one float32 tensor operation in fuse_conv_bn_weights; `volatile`-free code
      // still rounds at every step because every operand and result is a float.
      const float r = 1.0f / std::sqrt(bn.var[ci] + bn.epsilon);
      const float scale32 = bn.gamma[ci] * r;
      for (std::int64_t k = 0; k < per_channel; ++k) {
        out.weight[begin + k] = weight[begin + k] * scale32;
      }
      const float b32 = bias.empty() ? 0.0f : bias[ci];
      out.bias[ci] = (b32 - bn.mean[ci]) * r * bn.gamma[ci] + bn.beta[ci];
    }
  }
  return out;
}

}  // namespace fusescope::fusion
