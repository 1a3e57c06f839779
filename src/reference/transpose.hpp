// The oracle's transpose: output dim i is input dim perm[i] (ONNX Transpose, numpy.transpose),
// by the definition y[i_0, ..., i_{r-1}] = x[j] with j[perm[d]] = i_d. Output shape is
// ops::transpose_output_shape.
#pragma once
#include "ops/transpose.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor transpose(const ops::TransposeParams& p, const HostTensor& input);

}  // namespace fusescope::reference
