// Softmax over one axis: y = exp(x - max) / sum(exp(x - max)).
#pragma once
#include <cstdint>

#include "ops/shape.hpp"

namespace fusescope::ops {

struct SoftmaxParams {
  std::int64_t axis = -1;
};

Shape softmax_output_shape(const SoftmaxParams& p, const Shape& input, const std::string& name = "softmax");

}  // namespace fusescope::ops
