// Winograd F(2x2, 3x3): the weight transform the conv2d_winograd kernel reads, done once at load
// on the host. U = G g G^T per (output channel, input channel of its group), with
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
// computed in float64 and rounded once to the storage type, so U carries one rounding, as a
// stored weight does (a transform on the device in fp32, or fp16, would add its own).
#pragma once
#include <span>
#include <vector>

#include "ops/conv2d.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

// Winograd F(2x2, 3x3) computes exactly these convs: 3x3 kernels, stride 1, dilation 1 (any
// padding, groups, batch).
bool winograd_applies(const Conv2dParams& params);

// [OC, C/groups, 4, 4]: one 4x4 U per 3x3 kernel.
Shape winograd_weight_shape(const Conv2dParams& params);

// OIHW weights (conv2d_weight_shape) -> U in winograd_weight_shape's order. Throws
// InvalidArgument naming `label` when the conv is not one winograd_applies to or the weights'
// count does not match.
std::vector<float> winograd_weights(const Conv2dParams& params, std::span<const float> oihw,
                                    const std::string& label = "conv2d");

}  // namespace fusescope::ops
