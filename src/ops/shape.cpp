#include "ops/shape.hpp"

#include <fmt/format.h>

#include <limits>

namespace fusescope::ops {

std::string to_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::int64_t checked_numel(const Shape& shape, const std::string& what, std::int64_t element_bytes) {
  std::int64_t n = 1;
  const std::int64_t limit = std::numeric_limits<std::int64_t>::max() / element_bytes;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::int64_t d = shape[i];
    if (d <= 0) {
      throw InvalidArgument(fmt::format("{}: dimension {} of shape {} is {}, expected > 0", what, i,
                                        to_string(shape), d));
    }
    if (n > limit / d) {
      throw InvalidArgument(fmt::format("{}: shape {} has too many elements: its byte count "
                                        "overflows 64 bits",
                                        what, to_string(shape)));
    }
    n *= d;
  }
  return n;
}

void expect_shape(const std::string& op, const std::string& name, const Shape& actual,
                  const Shape& expected) {
  if (actual != expected) {
    throw InvalidArgument(fmt::format("{}: {} has shape {}, expected {}", op, name,
                                      to_string(actual), to_string(expected)));
  }
}

}  // namespace fusescope::ops
