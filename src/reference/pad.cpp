#include "reference/pad.hpp"

#include <fmt/format.h>

#include "reference/checks.hpp"

namespace fusescope::reference {

namespace {

// The input index that padded index `i` (already shifted by the begin pad) reads along an axis
// of size n, or -1 for a constant fill. Reflect follows numpy's definition literally: walk
// back from the edge, bouncing at each end, which for pads < n is one bounce.
std::int64_t source_index(ops::PadMode mode, std::int64_t i, std::int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case ops::PadMode::constant: return -1;
    case ops::PadMode::edge: return i < 0 ? 0 : n - 1;
    case ops::PadMode::reflect: {
      while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
      return i;
    }
  }
  throw std::logic_error("pad: unknown mode");
}

}  // namespace

HostTensor pad(const ops::PadParams& p, const HostTensor& input) {
  const std::string op = "pad";
  detail::expect_consistent(op, "input", input);
  const ops::Shape out_shape = ops::pad_output_shape(p, input.shape);
  const std::size_t rank = input.shape.size();
  // Repeated from the shape rule because the loop below indexes by it.
  if (p.mode == ops::PadMode::reflect) {
    for (std::size_t d = 0; d < rank; ++d) {
      if (input.shape[d] == 1 && (p.pads[d] != 0 || p.pads[rank + d] != 0))
        throw ops::InvalidArgument(fmt::format("pad: reflect padding of axis {} of size 1", d));
    }
  }
  HostTensor out(out_shape);
  const std::int64_t count = ops::numel(out_shape);
  std::vector<std::int64_t> index(rank, 0);  // the output multi-index
  for (std::int64_t flat = 0; flat < count; ++flat) {
    std::int64_t src = 0;
    bool fill = false;
    for (std::size_t d = 0; d < rank && !fill; ++d) {
      const std::int64_t i = source_index(p.mode, index[d] - p.pads[d], input.shape[d]);
      if (i < 0) fill = true;
      src = src * input.shape[d] + i;
    }
    out.data[static_cast<std::size_t>(flat)] = fill ? static_cast<double>(p.value) : input.data[static_cast<std::size_t>(src)];
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace fusescope::reference
