#include "ops/batchnorm.hpp"

#include <fmt/format.h>

#include <cmath>

namespace fusescope::ops {

Shape batchnorm_output_shape(const BatchNormParams& p, const Shape& input, const std::string& name) {
  if (input.size() < 2) {
    throw InvalidArgument(fmt::format("{}: input has shape {}, expected at least 2 dimensions "
                                      "(N x C x ...)",
                                      name, to_string(input)));
  }
  checked_numel(input, name + ": input");
  if (input[1] != p.channels) {
    throw InvalidArgument(fmt::format("{}: input has {} channels (shape {}), expected {}", name,
                                      input[1], to_string(input), p.channels));
  }
  if (!(p.epsilon > 0.0f) || !std::isfinite(p.epsilon)) {
    throw InvalidArgument(fmt::format("{}: epsilon = {}, expected a positive finite number", name,
                                      p.epsilon));
  }
  return input;
}

}  // namespace fusescope::ops
