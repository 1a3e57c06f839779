// Concatenation along an axis and slicing a range of one axis (the DPN dual path splits and
// joins channels with these).
#pragma once
#include <cstdint>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::ops {

// All inputs agree on every dim but `axis` (negative counts from the end).
Shape concat_output_shape(const std::vector<Shape>& inputs, std::int64_t axis,
                          const std::string& name = "concat");

struct SliceParams {
  std::int64_t axis = 1;
  std::int64_t start = 0;
  std::int64_t length = 0;  // elements kept along axis, from start
};

Shape slice_output_shape(const SliceParams& p, const Shape& input, const std::string& name = "slice");

// The [outer, axis, inner] view every copy-along-axis kernel uses.
struct AxisView {
  std::int64_t outer = 1, axis = 1, inner = 1;
};
AxisView axis_view(const Shape& shape, std::int64_t axis);
std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const std::string& name);

}  // namespace fusescope::ops
