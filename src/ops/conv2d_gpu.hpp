// Encodes a conv2d (with its epilogue) onto a Recorder: picks the shader variant, fills the
// push constants, binds the tensors and sizes the dispatch.
#pragma once
#include <string>

#include "ops/conv2d.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

struct Conv2dOperands {
  const Tensor* input = nullptr;
  const Tensor* weight = nullptr;    // [OC, C/groups, KH, KW]
  const Tensor* bias = nullptr;      // [OC], when params.has_bias
  const Tensor* bn_stats = nullptr;  // [4, OC], when epilogue.batchnorm
  const Tensor* residual = nullptr;  // output's shape, when epilogue.residual
  const Tensor* output = nullptr;
};

// Checks every operand's shape against the parameters (InvalidArgument naming `label`), then
// records one dispatch. Shapes are logical NCHW; with enc.layout == nhwc the input, residual and
// output bytes are NHWC (weights stay OIHW).
void encode_conv2d(const Encoder& enc, const Conv2dParams& params,
                   const ConvEpilogue& epilogue, const Conv2dOperands& operands,
                   const std::string& label = "conv2d");

}  // namespace fusescope::ops
