// Tensor shapes (NCHW unless an op says otherwise) and the checks every op's shape rule uses.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fusescope::ops {

using Shape = std::vector<std::int64_t>;

// An op was given parameters or shapes it cannot work with. The message names the op, the
// parameter and what was expected.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

std::string to_string(const Shape& shape);  // "1x3x224x224"

// Number of elements; throws InvalidArgument naming `what` for a zero or negative dimension,
// or when the element count times `element_bytes` overflows 64 bits.
std::int64_t checked_numel(const Shape& shape, const std::string& what, std::int64_t element_bytes = 4);

std::int64_t numel(const Shape& shape);  // unchecked product

// Throws InvalidArgument("<op>: <name> has shape X, expected Y") unless equal.
void expect_shape(const std::string& op, const std::string& name, const Shape& actual,
                  const Shape& expected);

}  // namespace fusescope::ops
