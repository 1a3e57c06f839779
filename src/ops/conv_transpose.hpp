// 2-D transposed convolution (ONNX ConvTranspose, PyTorch ConvTranspose2d), NCHW, weights
// [in_channels, out_channels/groups, kh, kw] — the layout of the conv whose gradient it is, so
// its first axis is the *input* channel — with an optional bias [out_channels].
#pragma once
#include <cstdint>
#include <string>

#include "ops/shape.hpp"

namespace fusescope::ops {

struct ConvTranspose2dParams {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  // Removed from the full output's borders (the pads of the forward conv).
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  // Added at the bottom/right only: picks one of the input sizes a strided conv maps to the
  // same output size.
  std::int64_t output_padding_h = 0, output_padding_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;
  bool has_bias = false;
};

Shape conv_transpose2d_weight_shape(const ConvTranspose2dParams& p);

// out = (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + 1 + output_padding.
// Validates p against the input (output_padding < max(stride, dilation), as PyTorch requires)
// and throws InvalidArgument naming `name`.
Shape conv_transpose2d_output_shape(const ConvTranspose2dParams& p, const Shape& input,
                                    const std::string& name = "conv_transpose2d");

}  // namespace fusescope::ops
