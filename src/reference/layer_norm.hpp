// The oracle's LayerNorm over one axis (negative counts from the end): for every position of
// the other axes, mean and biased variance along the axis, then
// y = (x - mean) / sqrt(var + eps) * gamma[a] + beta[a], with affine = [2, L] rows gamma, beta.
#pragma once
#include "ops/layer_norm.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::reference {

HostTensor layer_norm(const ops::LayerNormParams& p, const HostTensor& input, const HostTensor& affine);

}  // namespace fusescope::reference
