// Linear / GEMM: Y[M, N] = X[M, K] * op(W) + bias[N], then an optional activation.
// op(W) = W^T for W of shape [N, K] (PyTorch Linear, ONNX Gemm transB=1), else W of [K, N].
#pragma once
#include <cstdint>

#include "ops/activation.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

struct GemmParams {
  std::int64_t in_features = 0;   // K
  std::int64_t out_features = 0;  // N
  bool transpose_weight = true;   // W stored [N, K]
  bool has_bias = false;
  Activation activation;
};

Shape gemm_weight_shape(const GemmParams& p);
// Input [M, K] (or any rank whose trailing dims flatten to K, e.g. [N, C, 1, 1]) -> [M, N].
Shape gemm_output_shape(const GemmParams& p, const Shape& input, const std::string& name = "gemm");

}  // namespace fusescope::ops
