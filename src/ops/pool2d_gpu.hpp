// Encodes max/average pooling and global average pooling. Shapes are logical NCHW; the bytes
// are NCHW or NHWC as enc.layout says.
#pragma once
#include <string>

#include "ops/pool2d.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// output must have pool2d_output_shape(params, input.shape); it must not share memory with input.
void encode_pool2d(const Encoder& enc, const Pool2dParams& params,
                   const Tensor& input, const Tensor& output, const std::string& label = "pool2d");

// [N, C, H, W] -> [N, C, 1, 1], one workgroup per plane (any H*W). The output's bytes are the
// same in both layouts.
void encode_global_average_pool(const Encoder& enc, const Tensor& input,
                                const Tensor& output,
                                const std::string& label = "global_average_pool");

}  // namespace fusescope::ops
