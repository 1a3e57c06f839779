// Encodes a 2-D transposed convolution: shape checks, push constants, one dispatch.
#pragma once
#include <string>

#include "ops/conv_transpose.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// Shapes are logical NCHW; with enc.layout == nhwc the input and output bytes are NHWC (the
// weight stays [C, OC/groups, KH, KW]). bias is required exactly when params.has_bias.
void encode_conv_transpose2d(const Encoder& enc, const ConvTranspose2dParams& params, const Tensor& input,
                             const Tensor& weight, const Tensor* bias, const Tensor& output,
                             const std::string& label = "conv_transpose2d");

}  // namespace fusescope::ops
