#include "ops/layer_norm.hpp"

#include <fmt/format.h>

#include <cmath>

#include "ops/concat.hpp"

namespace fusescope::ops {

Shape layer_norm_output_shape(const LayerNormParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  normalize_axis(p.axis, input.size(), name);
  if (!(p.epsilon >= 0.0f) || !std::isfinite(p.epsilon)) {
    throw InvalidArgument(fmt::format("{}: epsilon = {}, expected a finite value >= 0", name, p.epsilon));
  }
  return input;
}

Shape layer_norm_affine_shape(const LayerNormParams& p, const Shape& input, const std::string& name) {
  layer_norm_output_shape(p, input, name);
  return {2, input[static_cast<std::size_t>(normalize_axis(p.axis, input.size(), name))]};
}

}  // namespace fusescope::ops
