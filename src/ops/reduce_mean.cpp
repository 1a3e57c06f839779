#include "ops/reduce_mean.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

std::vector<bool> reduced_axes(const ReduceMeanParams& p, const Shape& input, const std::string& name) {
  checked_numel(input, name + ": input");
  if (input.empty() || input.size() > static_cast<std::size_t>(kMaxReduceRank)) {
    throw InvalidArgument(fmt::format("{}: input has shape {} of rank {}, expected rank 1..{}", name,
                                      to_string(input), input.size(), kMaxReduceRank));
  }
  const auto rank = static_cast<std::int64_t>(input.size());
  std::vector<bool> mask(input.size(), p.axes.empty());
  for (std::int64_t axis : p.axes) {
    const std::int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw InvalidArgument(fmt::format("{}: axis {} is out of range for shape {}, expected [{}, {}]",
                                        name, axis, to_string(input), -rank, rank - 1));
    }
    if (mask[static_cast<std::size_t>(a)]) {
      throw InvalidArgument(fmt::format("{}: axis {} is listed twice (as {} or {}) for shape {}", name, a,
                                        a, a - rank, to_string(input)));
    }
    mask[static_cast<std::size_t>(a)] = true;
  }
  return mask;
}

Shape reduce_mean_output_shape(const ReduceMeanParams& p, const Shape& input, const std::string& name) {
  const std::vector<bool> mask = reduced_axes(p, input, name);
  Shape out;
  for (std::size_t d = 0; d < input.size(); ++d) {
    if (!mask[d]) out.push_back(input[d]);
    else if (p.keepdims) out.push_back(1);
  }
  if (out.empty()) out.push_back(1);
  return out;
}

}  // namespace fusescope::ops
