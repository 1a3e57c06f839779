#include "ops/softmax.hpp"

#include "ops/concat.hpp"

namespace fusescope::ops {

Shape softmax_output_shape(const SoftmaxParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  normalize_axis(p.axis, input.size(), name);
  return input;
}

}  // namespace fusescope::ops
