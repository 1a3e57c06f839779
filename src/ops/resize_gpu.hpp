// Encodes a resize (nearest or bilinear). Shapes are logical NCHW; the bytes are NCHW or NHWC
// as enc.layout says.
#pragma once
#include <string>

#include "ops/encoder.hpp"
#include "ops/resize.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// output must have resize_output_shape(params, input.shape); it must not share memory with input.
void encode_resize(const Encoder& enc, const ResizeParams& params, const Tensor& input,
                   const Tensor& output, const std::string& label = "resize");

}  // namespace fusescope::ops
