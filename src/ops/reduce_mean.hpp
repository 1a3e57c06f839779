// Mean over any subset of a tensor's axes (ONNX ReduceMean, opsets 1-17: axes as an attribute).
#pragma once
#include <cstdint>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::ops {

constexpr int kMaxReduceRank = 6;

struct ReduceMeanParams {
  // Negative axes count from the end; empty reduces over every axis (ONNX's default).
  std::vector<std::int64_t> axes;
  // Reduced axes stay as dims of 1 (ONNX's default), or are dropped.
  bool keepdims = true;
};

// The axes as a mask over the input's dims: each in range, none repeated. Throws
// InvalidArgument naming `name`, the axis and the shape.
std::vector<bool> reduced_axes(const ReduceMeanParams& p, const Shape& input, const std::string& name);

// The input's shape with each reduced dim 1 (keepdims) or gone; reducing every axis without
// keepdims gives [1] (fusescope has no rank-0 tensors). Ranks up to kMaxReduceRank.
Shape reduce_mean_output_shape(const ReduceMeanParams& p, const Shape& input,
                               const std::string& name = "reduce_mean");

}  // namespace fusescope::ops
