// The oracle's fully connected layer: Y[M, N] = X[M, K] * op(W) + bias[N], then an activation.
// X may have any rank: it is read as [M, K] with M = its first dim and K = the product of the rest
// (so [N, C, 1, 1] after global pooling works). W is [N, K] when transpose_weight (PyTorch Linear,
// ONNX Gemm transB = 1), else [K, N].
#pragma once
#include "ops/gemm.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor gemm(const ops::GemmParams& p, const HostTensor& x, const HostTensor& w,
                const HostTensor* bias);

}  // namespace fusescope::reference
