// LayerNorm over one axis, as torch.nn.LayerNorm(C) normalises a channels-last tensor:
//   y = (x - mean) / sqrt(var + eps) * gamma + beta,
// mean and the biased variance taken along that axis, independently for every position of the
// other axes; gamma and beta have one value per position along the axis.
#pragma once
#include <cstdint>
#include <string>

#include "ops/shape.hpp"

namespace fusescope::ops {

struct LayerNormParams {
  std::int64_t axis = -1;  // negative counts from the end
  float epsilon = 1e-5f;   // PyTorch's default; ConvNeXt uses 1e-6
};

// The input's shape (LayerNorm keeps it). Throws InvalidArgument naming `name` for an axis out
// of range or a negative / non-finite epsilon.
Shape layer_norm_output_shape(const LayerNormParams& p, const Shape& input, const std::string& name = "layer_norm");

// The affine parameters' shape, [2, L]: row 0 gamma, row 1 beta, L the input's size along the axis.
Shape layer_norm_affine_shape(const LayerNormParams& p, const Shape& input, const std::string& name = "layer_norm");

}  // namespace fusescope::ops
