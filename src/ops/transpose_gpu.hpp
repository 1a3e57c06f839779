// Encodes a transpose (a general axis permutation, rank 1..6) as one copy dispatch. Layout-free:
// it sees memory through the shapes it is given, so under NHWC the caller passes physical shapes
// and the permutation between them.
#pragma once
#include <string>

#include "ops/encoder.hpp"
#include "ops/tensor.hpp"
#include "ops/transpose.hpp"

namespace fusescope::ops {

// output must have transpose_output_shape(params, input.shape); it must not share memory with
// input. A transpose that keeps the element order is still one (plain copy) dispatch here:
// running it as a view instead is the caller's choice.
void encode_transpose(const Encoder& enc, const TransposeParams& params, const Tensor& input,
                      const Tensor& output, const std::string& label = "transpose");

}  // namespace fusescope::ops
