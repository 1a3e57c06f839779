#include "ops/pad.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

const char* to_string(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::edge: return "edge";
  }
  return "unknown";
}

Shape pad_output_shape(const PadParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  const std::size_t rank = input.size();
  if (rank < 1 || rank > kMaxPadRank) {
    throw InvalidArgument(fmt::format("{}: input has rank {}, expected 1 to {}", name, rank, kMaxPadRank));
  }
  if (p.mode != PadMode::constant && p.mode != PadMode::reflect && p.mode != PadMode::edge) {
    throw InvalidArgument(fmt::format("{}: mode {}, expected 0 (constant), 1 (reflect) or 2 (edge)", name,
                                      static_cast<std::uint32_t>(p.mode)));
  }
  if (p.pads.size() != 2 * rank) {
    throw InvalidArgument(fmt::format("{}: {} pads for an input of rank {}, expected {} (begins, then ends)", name,
                                      p.pads.size(), rank, 2 * rank));
  }
  Shape out = input;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::int64_t begin = p.pads[d], end = p.pads[rank + d];
    if (begin < 0 || end < 0) {
      throw InvalidArgument(fmt::format("{}: axis {} has pads {} and {}; negative pads (cropping) are not "
                                        "supported",
                                        name, d, begin, end));
    }
    if (p.mode == PadMode::reflect && (begin > input[d] - 1 || end > input[d] - 1)) {
      throw InvalidArgument(fmt::format("{}: reflect pads {} and {} on axis {} of size {}, expected at most {} "
                                        "(the mirror image of the axis without its edge element)",
                                        name, begin, end, d, input[d], input[d] - 1));
    }
    out[d] = input[d] + begin + end;
  }
  checked_numel(out, name + ": output");
  return out;
}

}  // namespace fusescope::ops
