// Host-side transposes between NCHW (the order graphs, files and the oracle use) and NHWC
// (the device order under --layout nhwc) for 4-D tensors; `nchw_shape` is the logical shape.
#pragma once
#include <span>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::ops {

std::vector<float> nchw_to_nhwc(std::span<const float> values, const Shape& nchw_shape);
std::vector<float> nhwc_to_nchw(std::span<const float> values, const Shape& nchw_shape);

}  // namespace fusescope::ops
