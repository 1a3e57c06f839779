#include "ops/conv2d.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

const char* to_string(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::automatic: return "auto";
    case ConvAlgorithm::direct: return "direct";
    case ConvAlgorithm::gemm: return "gemm";
    case ConvAlgorithm::subgroup: return "subgroup";
    case ConvAlgorithm::depthwise: return "depthwise";
    case ConvAlgorithm::winograd: return "winograd";
    case ConvAlgorithm::winograd4: return "winograd4";
  }
  return "?";
}

ConvAlgorithm parse_conv_algorithm(const std::string& text) {
  if (text == "auto" || text == "automatic") return ConvAlgorithm::automatic;
  if (text == "direct") return ConvAlgorithm::direct;
  if (text == "gemm") return ConvAlgorithm::gemm;
  if (text == "subgroup") return ConvAlgorithm::subgroup;
  if (text == "depthwise") return ConvAlgorithm::depthwise;
  if (text == "winograd") return ConvAlgorithm::winograd;
  if (text == "winograd4") return ConvAlgorithm::winograd4;
  throw InvalidArgument(fmt::format(
      "unknown conv algorithm '{}': expected auto, direct, gemm, subgroup, depthwise, winograd or winograd4", text));
}

Shape conv2d_weight_shape(const Conv2dParams& p) {
  return {p.out_channels, p.groups > 0 ? p.in_channels / p.groups : 0, p.kernel_h, p.kernel_w};
}

Shape conv2d_output_shape(const Conv2dParams& p, const Shape& input, const std::string& name) {
  auto fail = [&](const std::string& what) { throw InvalidArgument(name + ": " + what); };
  if (input.size() != 4) {
    fail(fmt::format("input has shape {}, expected 4 dimensions N x C x H x W", to_string(input)));
  }
  checked_numel(input, name + ": input");
  if (p.in_channels <= 0 || p.out_channels <= 0)
    fail(fmt::format("in_channels {} and out_channels {} must be positive", p.in_channels,
                     p.out_channels));
  if (input[1] != p.in_channels)
    fail(fmt::format("input has {} channels (shape {}), expected in_channels = {}", input[1],
                     to_string(input), p.in_channels));
  if (p.groups <= 0) fail(fmt::format("groups = {}, expected >= 1", p.groups));
  if (p.in_channels % p.groups != 0)
    fail(fmt::format("in_channels {} is not divisible by groups {}", p.in_channels, p.groups));
  if (p.out_channels % p.groups != 0)
    fail(fmt::format("out_channels {} is not divisible by groups {}", p.out_channels, p.groups));
  if (p.kernel_h <= 0 || p.kernel_w <= 0)
    fail(fmt::format("kernel {}x{}, expected positive sizes", p.kernel_h, p.kernel_w));
  if (p.stride_h <= 0 || p.stride_w <= 0)
    fail(fmt::format("stride {}x{}, expected positive strides", p.stride_h, p.stride_w));
  if (p.dilation_h <= 0 || p.dilation_w <= 0)
    fail(fmt::format("dilation {}x{}, expected positive dilations", p.dilation_h, p.dilation_w));
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0)
    fail(fmt::format("padding (top {}, left {}, bottom {}, right {}) must not be negative",
                     p.pad_top, p.pad_left, p.pad_bottom, p.pad_right));
  const std::int64_t span_h = p.dilation_h * (p.kernel_h - 1) + 1;
  const std::int64_t span_w = p.dilation_w * (p.kernel_w - 1) + 1;
  const std::int64_t padded_h = input[2] + p.pad_top + p.pad_bottom;
  const std::int64_t padded_w = input[3] + p.pad_left + p.pad_right;
  if (span_h > padded_h || span_w > padded_w) {
    fail(fmt::format("kernel {}x{} with dilation {}x{} spans {}x{}, which does not fit input "
                     "{}x{} after padding (padded {}x{})",
                     p.kernel_h, p.kernel_w, p.dilation_h, p.dilation_w, span_h, span_w, input[2],
                     input[3], padded_h, padded_w));
  }
  const std::int64_t oh = (padded_h - span_h) / p.stride_h + 1;
  const std::int64_t ow = (padded_w - span_w) / p.stride_w + 1;
  Shape out{input[0], p.out_channels, oh, ow};
  checked_numel(out, name + ": output");
  return out;
}

}  // namespace fusescope::ops
