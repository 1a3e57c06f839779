#include "reference/transpose.hpp"

#include "reference/checks.hpp"

namespace fusescope::reference {

// Walks the output in row-major order with a multi-index and computes each source offset from
// the input's own strides: no collapsing of dims, no precomputed output strides, nothing shared
// with the kernel's host side.
HostTensor transpose(const ops::TransposeParams& p, const HostTensor& input) {
  const std::string op = "transpose";
  detail::expect_consistent(op, "input", input);
  const ops::Shape out_shape = ops::transpose_output_shape(p, input.shape);
  const std::vector<std::int64_t> perm = ops::transpose_permutation(p, input.shape.size());
  const std::size_t rank = input.shape.size();
  std::vector<std::int64_t> in_stride(rank, 1);
  for (std::size_t d = rank - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * input.shape[d + 1];

  const std::int64_t count = ops::numel(out_shape);
  detail::expect_output_size(op, out_shape, static_cast<std::int64_t>(input.data.size()));
  HostTensor out(out_shape);
  std::vector<std::int64_t> index(rank, 0);  // the output multi-index
  for (std::int64_t flat = 0; flat < count; ++flat) {
    std::int64_t src = 0;
    for (std::size_t d = 0; d < rank; ++d) src += index[d] * in_stride[static_cast<std::size_t>(perm[d])];
    out.data[static_cast<std::size_t>(flat)] = input.data[static_cast<std::size_t>(src)];
    for (std::size_t d = rank; d-- > 0;) {  // odometer step
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace fusescope::reference
