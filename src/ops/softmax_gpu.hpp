// Encodes softmax over one axis.
#pragma once
#include <string>

#include "ops/softmax.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// output has input's shape and must not share memory with it (each row is read twice after
// the first pass).
void encode_softmax(const Encoder& enc, const SoftmaxParams& params,
                    const Tensor& input, const Tensor& output,
                    const std::string& label = "softmax");

}  // namespace fusescope::ops
