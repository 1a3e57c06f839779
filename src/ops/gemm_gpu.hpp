// Encodes a GEMM / Linear layer with its bias and activation epilogue.
#pragma once
#include <string>

#include "ops/gemm.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// How a GEMM is computed:
//   tiled:     gemm.comp, 16x16 output tiles staged through shared memory, fp32 sums in
//              ascending k (fp32 accumulation in the fp16 variant too).
//   subgroup:  W [N, K] is a 1x1 conv's OIHW weight, so Y = X W^T runs as conv2d_subgroup.comp on
//              [M, K, 1, 1] (its two-level fp32 sum, within the same tolerance). Needs
//              transpose_weight, fp32 arithmetic (fp32 or fp16s) and subgroup_conv_fits.
//   automatic: subgroup where it can run on a CPU driver (lavapipe: a 2048 -> 1000 classifier
//              at batch 1 took 200 ms tiled, its barriers and 15 idle rows of 16 per tile),
//              else tiled.
enum class GemmAlgorithm { automatic, tiled, subgroup };

// x: [M, K] (or [M, ...] flattening to K); w: gemm_weight_shape(params); bias: [N], given
// exactly when params.has_bias; out: [M, N], not sharing memory with x or w.
void encode_gemm(const Encoder& enc, const GemmParams& params,
                 const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& out,
                 const std::string& label = "gemm", GemmAlgorithm algorithm = GemmAlgorithm::automatic);

}  // namespace fusescope::ops
