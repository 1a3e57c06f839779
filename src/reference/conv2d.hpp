// The oracle's 2-D convolution: NCHW input, OIHW weight [out_channels, in_channels / groups, kh,
// kw], stride, asymmetric zero padding, dilation, groups and an optional bias [out_channels],
// summed in double by direct loops (cross-correlation, as PyTorch's Conv2d and ONNX Conv define
// it). conv2d_with_epilogue adds the fused epilogue in ops::ConvEpilogue's documented order:
// acc (+ bias) -> BatchNorm from raw statistics -> (+ residual) -> activation.
#pragma once
#include "ops/conv2d.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor conv2d(const ops::Conv2dParams& p, const HostTensor& input, const HostTensor& weight,
                  const HostTensor* bias);

// bn_stats is [4, out_channels] (rows gamma, beta, running mean, running var) and is required
// exactly when epilogue.batchnorm is set; residual has the output's shape and is required exactly
// when epilogue.residual is set.
HostTensor conv2d_with_epilogue(const ops::Conv2dParams& p, const ops::ConvEpilogue& epilogue,
                                const HostTensor& input, const HostTensor& weight,
                                const HostTensor* bias, const HostTensor* bn_stats,
                                const HostTensor* residual);

}  // namespace fusescope::reference
