// Encodes a mean over any subset of axes (ReduceMean) as one workgroup reduction per output.
#pragma once
#include <string>

#include "ops/encoder.hpp"
#include "ops/reduce_mean.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// output must have reduce_mean_output_shape(params, input.shape) and must not share memory
// with input. Layout-free: the shapes are the bytes' order, so a caller running NHWC passes the
// physical shape and the axes mapped onto it.
void encode_reduce_mean(const Encoder& enc, const ReduceMeanParams& params, const Tensor& input,
                        const Tensor& output, const std::string& label = "reduce_mean");

}  // namespace fusescope::ops
