// Encodes an elementwise binary op (add, sub, mul, div, pow) with NumPy broadcasting.
#pragma once
#include <string>

#include "ops/elementwise.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// out must have broadcast_shapes(a, b); ranks up to kMaxBroadcastRank. An empty label uses the
// op's name ("add", ...) in errors and timings. out may be a (or b) when that operand is not
// broadcast: each element is read before it is written, by the same invocation.
void encode_binary(const Encoder& enc, BinaryOp op, const Tensor& a,
                   const Tensor& b, const Tensor& out, const std::string& label = {});

}  // namespace fusescope::ops
