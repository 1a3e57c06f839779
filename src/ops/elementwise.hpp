// Elementwise binary ops with NumPy broadcasting, and standalone activations.
#pragma once
#include <cstdint>

#include "ops/activation.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

// pow follows C's pow (ONNX Pow, NumPy's power on floats): a negative base with an integer
// exponent gives a signed result, with a non-integer exponent NaN; pow(x, 0) = pow(1, y) = 1.
enum class BinaryOp : std::uint32_t { add = 0, sub = 1, mul = 2, div = 3, pow = 4 };

const char* to_string(BinaryOp op);

constexpr int kMaxBroadcastRank = 6;

// NumPy broadcasting: align trailing dims, each pair equal or one of them 1. Throws
// InvalidArgument naming both shapes and the first dimension that disagrees.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& name = "elementwise");

// Element strides of `input` laid out contiguously, expanded to `out`'s rank, 0 on broadcast dims.
std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& out);

// How a kernel walks a broadcast: the output's dims with both operands' strides, after
// dropping size-1 dims and merging each pair of neighbours that both operands step through
// contiguously (or both broadcast). Same-shape operands become one dim, a per-channel operand
// [1,C,1,1] against [N,C,H,W] two or three: the kernel divides once per remaining dim but the
// outermost, so the common cases need no integer division at all. Always at least one dim.
struct BroadcastWalk {
  std::vector<std::int64_t> dims, a_strides, b_strides;
};
BroadcastWalk broadcast_walk(const Shape& a, const Shape& b, const Shape& out);

}  // namespace fusescope::ops
