// The oracle's 2-D pooling over H and W of NCHW: max and average pooling with stride, asymmetric
// padding, ceil_mode and count_include_pad exactly as PyTorch's MaxPool2d / AvgPool2d define them
// (output size from ops::pool2d_output_shape), and global average pooling [N, C, H, W] ->
// [N, C, 1, 1].
#pragma once
#include "ops/pool2d.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor pool2d(const ops::Pool2dParams& p, const HostTensor& input);

HostTensor global_average_pool(const HostTensor& input);

}  // namespace fusescope::reference
