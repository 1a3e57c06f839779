// BatchNorm in inference form: y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel
// (axis 1 of NCHW), optionally followed by an activation. The statistics travel as one tensor of
// shape [4, C]: rows gamma, beta, running mean, running var (the kernel's binding layout).
#pragma once
#include "ops/activation.hpp"
#include "ops/conv2d.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

// Validates input (rank >= 2, channel axis 1 equal to p.channels, eps > 0); returns its shape.
Shape batchnorm_output_shape(const BatchNormParams& p, const Shape& input,
                             const std::string& name = "batchnorm");

}  // namespace fusescope::ops
