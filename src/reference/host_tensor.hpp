// A tensor in host memory, in float64: what the oracle reads and writes.
#pragma once
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::reference {

struct HostTensor {
  ops::Shape shape;
  std::vector<double> data;  // row-major (NCHW for 4-D)

  HostTensor() = default;
  explicit HostTensor(ops::Shape s) : shape(std::move(s)), data(static_cast<std::size_t>(ops::numel(shape)), 0.0) {}
  HostTensor(ops::Shape s, std::vector<double> d) : shape(std::move(s)), data(std::move(d)) {}
};

}  // namespace fusescope::reference
