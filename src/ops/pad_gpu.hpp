// Encodes a pad (constant, reflect or edge; rank 1..6) as one dispatch. Layout-free: it sees
// memory through the shapes it is given, so under NHWC the caller passes physical shapes and
// pads permuted to match.
#pragma once
#include <string>

#include "ops/encoder.hpp"
#include "ops/pad.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// output must have pad_output_shape(params, input.shape); it must not share memory with input.
void encode_pad(const Encoder& enc, const PadParams& params, const Tensor& input, const Tensor& output,
                const std::string& label = "pad");

}  // namespace fusescope::ops
