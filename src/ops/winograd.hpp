// Winograd F(2x2, 3x3) and F(4x4, 3x3): the weight transform the conv2d_winograd kernel reads,
// done once at load on the host. U = G g G^T per (output channel, input channel of its group),
// with G of the output tile's edge m (the input patch is (m+2)x(m+2), U is too):
//   m = 2: G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   m = 4: G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
// (Lavin and Gray's interpolation points 0, +-1, (+-2), infinity) computed in float64 and rounded
// once to the storage type, so U carries one rounding, as a stored weight does (a transform on the
// device in fp32, or fp16, would add its own).
#pragma once
#include <span>
#include <string>
#include <vector>

#include "ops/conv2d.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

// The output tile's edge of a Winograd algorithm: 2 for winograd (F(2x2,3x3)), 4 for winograd4
// (F(4x4,3x3)), 0 for any other algorithm.
int winograd_tile(ConvAlgorithm algorithm);
inline bool is_winograd(ConvAlgorithm algorithm) { return winograd_tile(algorithm) != 0; }

// Winograd F(m x m, 3x3) computes exactly these convs, for either tile: 3x3 kernels, stride 1,
// dilation 1 (any padding, groups, batch).
bool winograd_applies(const Conv2dParams& params);

// [OC, C/groups, m+2, m+2]: one U per 3x3 kernel.
Shape winograd_weight_shape(const Conv2dParams& params, int tile);

// OIHW weights (conv2d_weight_shape) -> U in winograd_weight_shape's order. Throws
// InvalidArgument naming `label` when the conv is not one winograd_applies to, the tile is not
// 2 or 4, or the weights' count does not match.
std::vector<float> winograd_weights(const Conv2dParams& params, std::span<const float> oihw, int tile,
                                    const std::string& label = "conv2d");

}  // namespace fusescope::ops
