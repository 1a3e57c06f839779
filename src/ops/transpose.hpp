// Transpose: a general permutation of a tensor's axes (ONNX Transpose, numpy.transpose), rank
// 1 to kMaxTransposeRank: output dim i is input dim perm[i].
#pragma once
#include <cstdint>
#include <vector>

#include "ops/shape.hpp"

namespace fusescope::ops {

// Six covers every layout shuffle CNN exporters write (space-to-depth reshapes go through 6-D);
// it also bounds the kernel's push constants.
constexpr std::size_t kMaxTransposeRank = 6;

struct TransposeParams {
  // Output dim i is input dim perm[i]. Empty means reversed (ONNX's default: [r-1, ..., 0]).
  std::vector<std::int64_t> perm;
};

// perm resolved for an input of `rank` (empty -> reversed) and checked: a permutation of
// 0..rank-1 (no negatives, no repeats), rank 1..kMaxTransposeRank.
std::vector<std::int64_t> transpose_permutation(const TransposeParams& p, std::size_t rank,
                                                const std::string& name = "transpose");

Shape transpose_output_shape(const TransposeParams& p, const Shape& input,
                             const std::string& name = "transpose");

// Whether the transpose leaves every element at its row-major position, so the output is the
// input's bytes under the new shape: true when the dims larger than 1 keep their relative
// order ([1,C,1,W] -> [C,W,1,1]). Such a transpose can run as a view.
bool transpose_keeps_element_order(const Shape& input, const std::vector<std::int64_t>& perm);

// The same transpose on fewer dims: drops size-1 dims and merges runs of input dims that stay
// adjacent and in order in the output ([N,C,H,W] perm [0,2,3,1] -> [N,C,H*W] perm [0,2,1]). The
// kernel does less index arithmetic, and any rank reduces to at most the number of runs.
struct CollapsedTranspose {
  Shape input;                     // collapsed input shape (at least one dim)
  std::vector<std::int64_t> perm;  // over the collapsed dims
};
CollapsedTranspose collapse_transpose(const Shape& input, const std::vector<std::int64_t>& perm);

}  // namespace fusescope::ops
