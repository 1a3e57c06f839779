// Encodes a GEMM / Linear layer with its bias and activation epilogue.
#pragma once
#include <string>

#include "ops/gemm.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// x: [M, K] (or [M, ...] flattening to K); w: gemm_weight_shape(params); bias: [N], given
// exactly when params.has_bias; out: [M, N], not sharing memory with x or w.
void encode_gemm(const Encoder& enc, const GemmParams& params,
                 const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& out,
                 const std::string& label = "gemm");

}  // namespace fusescope::ops
