// The oracle's elementwise binary ops (add, sub, mul, div, pow) with NumPy broadcasting: shapes are
// aligned at their trailing dims and a dim of 1 (or a missing leading dim) repeats to match the
// other operand. The output shape is ops::broadcast_shapes; the index mapping is done here, by
// hand, so it does not share a bug with the kernels' broadcast_strides.
#pragma once
#include "ops/elementwise.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor binary(ops::BinaryOp op, const HostTensor& a, const HostTensor& b);

}  // namespace fusescope::reference
