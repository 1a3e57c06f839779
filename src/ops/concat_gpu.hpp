// Encodes concatenation along an axis (one copy dispatch per input) and slicing a range of one
// axis (one copy dispatch).
#pragma once
#include <string>
#include <vector>

#include "ops/concat.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// out must have concat_output_shape of the inputs' shapes; it must not share memory with any
// input. Each input's dispatch is labelled "<label>[i]".
void encode_concat(const Encoder& enc, const std::vector<const Tensor*>& inputs, std::int64_t axis, const Tensor& out,
                   const std::string& label = "concat");

// out must have slice_output_shape(params, input.shape).
void encode_slice(const Encoder& enc, const SliceParams& params,
                  const Tensor& input, const Tensor& out, const std::string& label = "slice");

}  // namespace fusescope::ops
