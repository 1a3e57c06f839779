// Encodes a standalone activation over a whole tensor.
#pragma once
#include <string>

#include "ops/activation.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// input and output must have the same shape; they may be the same tensor (in place).
void encode_activation(const Encoder& enc, const Activation& activation,
                       const Tensor& input, const Tensor& output,
                       const std::string& label = "activation");

}  // namespace fusescope::ops
