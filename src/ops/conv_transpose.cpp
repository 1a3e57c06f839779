#include "ops/conv_transpose.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fusescope::ops {

Shape conv_transpose2d_weight_shape(const ConvTranspose2dParams& p) {
  return {p.in_channels, p.groups > 0 ? p.out_channels / p.groups : 0, p.kernel_h, p.kernel_w};
}

Shape conv_transpose2d_output_shape(const ConvTranspose2dParams& p, const Shape& input, const std::string& name) {
  auto fail = [&](const std::string& what) { throw InvalidArgument(name + ": " + what); };
  if (input.size() != 4)
    fail(fmt::format("input has shape {}, expected 4 dimensions N x C x H x W", to_string(input)));
  checked_numel(input, name + ": input");
  if (p.in_channels <= 0 || p.out_channels <= 0)
    fail(fmt::format("in_channels {} and out_channels {} must be positive", p.in_channels, p.out_channels));
  if (input[1] != p.in_channels)
    fail(fmt::format("input has {} channels (shape {}), expected in_channels = {}", input[1], to_string(input),
                     p.in_channels));
  if (p.groups <= 0) fail(fmt::format("groups = {}, expected >= 1", p.groups));
  if (p.in_channels % p.groups != 0)
    fail(fmt::format("in_channels {} is not divisible by groups {}", p.in_channels, p.groups));
  if (p.out_channels % p.groups != 0)
    fail(fmt::format("out_channels {} is not divisible by groups {}", p.out_channels, p.groups));
  if (p.kernel_h <= 0 || p.kernel_w <= 0) fail(fmt::format("kernel {}x{}, expected positive sizes", p.kernel_h, p.kernel_w));
  if (p.stride_h <= 0 || p.stride_w <= 0) fail(fmt::format("stride {}x{}, expected positive strides", p.stride_h, p.stride_w));
  if (p.dilation_h <= 0 || p.dilation_w <= 0)
    fail(fmt::format("dilation {}x{}, expected positive dilations", p.dilation_h, p.dilation_w));
  if (p.pad_top < 0 || p.pad_left < 0 || p.pad_bottom < 0 || p.pad_right < 0)
    fail(fmt::format("padding (top {}, left {}, bottom {}, right {}) must not be negative", p.pad_top, p.pad_left,
                     p.pad_bottom, p.pad_right));
  // Beyond max(stride, dilation) - 1 the extra rows would be rows no input pixel can reach in
  // any conv whose transpose this is; PyTorch rejects it for that reason.
  if (p.output_padding_h < 0 || p.output_padding_w < 0 ||
      p.output_padding_h >= std::max(p.stride_h, p.dilation_h) ||
      p.output_padding_w >= std::max(p.stride_w, p.dilation_w))
    fail(fmt::format("output_padding {}x{} must be non-negative and smaller than max(stride, dilation) ({}x{})",
                     p.output_padding_h, p.output_padding_w, std::max(p.stride_h, p.dilation_h),
                     std::max(p.stride_w, p.dilation_w)));
  const std::int64_t full_h = (input[2] - 1) * p.stride_h + p.dilation_h * (p.kernel_h - 1) + 1 + p.output_padding_h;
  const std::int64_t full_w = (input[3] - 1) * p.stride_w + p.dilation_w * (p.kernel_w - 1) + 1 + p.output_padding_w;
  const std::int64_t oh = full_h - p.pad_top - p.pad_bottom;
  const std::int64_t ow = full_w - p.pad_left - p.pad_right;
  if (oh <= 0 || ow <= 0)
    fail(fmt::format("padding (top {}, left {}, bottom {}, right {}) removes the whole {}x{} output of input {}x{}",
                     p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, full_h, full_w, input[2], input[3]));
  Shape out{input[0], p.out_channels, oh, ow};
  checked_numel(out, name + ": output");
  return out;
}

}  // namespace fusescope::ops
