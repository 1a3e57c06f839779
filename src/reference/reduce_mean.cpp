#include "reference/reduce_mean.hpp"

#include <vector>

#include "reference/checks.hpp"

namespace fusescope::reference {

// Each input element is added to the output element whose coordinates are its own with the
// reduced ones left out, in input order; then every sum is divided by the count of elements it
// received (which must be the same for all, and checked as such).
HostTensor reduce_mean(const ops::ReduceMeanParams& p, const HostTensor& input) {
  const std::string op = "reduce_mean";
  detail::expect_consistent(op, "input", input);
  const ops::Shape out_shape = ops::reduce_mean_output_shape(p, input.shape, op);
  const std::vector<bool> reduced = ops::reduced_axes(p, input.shape, op);
  const std::size_t rank = input.shape.size();

  HostTensor out(out_shape);
  std::vector<std::int64_t> counts(out.data.size(), 0);
  std::vector<std::int64_t> coord(rank, 0);
  for (std::size_t i = 0; i < input.data.size(); ++i) {
    // Row-major: the kept coordinates, outermost first, are the output's flat index.
    std::int64_t flat = 0;
    for (std::size_t d = 0; d < rank; ++d)
      if (!reduced[d]) flat = flat * input.shape[d] + coord[d];
    out.data[static_cast<std::size_t>(flat)] += input.data[i];
    ++counts[static_cast<std::size_t>(flat)];
    for (std::size_t d = rank; d-- > 0;) {
      if (++coord[d] < input.shape[d]) break;
      coord[d] = 0;
    }
  }
  const std::int64_t per_output = static_cast<std::int64_t>(input.data.size()) / static_cast<std::int64_t>(out.data.size());
  for (std::size_t o = 0; o < out.data.size(); ++o) {
    if (counts[o] != per_output) {
      throw std::logic_error(fmt::format("{}: output element {} received {} inputs, expected {}", op, o,
                                         counts[o], per_output));
    }
    out.data[o] /= static_cast<double>(counts[o]);
  }
  return out;
}

}  // namespace fusescope::reference
