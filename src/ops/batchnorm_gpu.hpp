// Encodes a standalone inference BatchNorm (+ optional activation).
#pragma once
#include <string>

#include "ops/batchnorm.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// stats: [4, C] rows gamma, beta, mean, var.
void encode_batchnorm(const Encoder& enc, const BatchNormParams& params,
                      const Activation& activation, const Tensor& input, const Tensor& stats,
                      const Tensor& output, const std::string& label = "batchnorm");

}  // namespace fusescope::ops
