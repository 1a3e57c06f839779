// Pad: grows each axis of a tensor by a number of elements at its start and end (ONNX Pad,
// numpy.pad), rank 1 to kMaxPadRank, filling the new elements per mode:
//   constant: `value`;
//   reflect:  the input mirrored about its edge element, which is not repeated
//             (numpy "reflect": [a b c] padded by 2 -> [c b a b c b a]);
//   edge:     the edge element repeated ([a b c] -> [a a a b c c c]).
#pragma once
#include <cstdint>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::ops {

// Same bound as the transpose (and the same reason: push constants); CNN pads are 4-D.
constexpr std::size_t kMaxPadRank = 6;

enum class PadMode : std::uint32_t { constant = 0, reflect = 1, edge = 2 };

const char* to_string(PadMode mode);

struct PadParams {
  PadMode mode = PadMode::constant;
  // ONNX order: the begin pads of every axis, then the end pads of every axis (2 * rank values).
  std::vector<std::int64_t> pads;
  float value = 0.0f;  // constant mode's fill
};

// Pads must be >= 0 (ONNX's negative pads crop; fusescope refuses them rather than guess),
// reflect pads at most dim - 1 on each side (one reflection, as ONNX Runtime requires).
Shape pad_output_shape(const PadParams& p, const Shape& input, const std::string& name = "pad");

}  // namespace fusescope::ops
