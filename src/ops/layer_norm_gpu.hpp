// Encodes LayerNorm over one axis: one dispatch for the whole normalisation and its affine.
#pragma once
#include <string>

#include "ops/encoder.hpp"
#include "ops/layer_norm.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// affine is fp32 [2, L] (gamma, beta) whatever the precision, like BatchNorm statistics.
// output has input's shape and must not share memory with it (each row is read three times).
void encode_layer_norm(const Encoder& enc, const LayerNormParams& params, const Tensor& input,
                       const Tensor& affine, const Tensor& output, const std::string& label = "layer_norm");

}  // namespace fusescope::ops
