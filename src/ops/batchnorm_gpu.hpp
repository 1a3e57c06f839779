// Encodes a standalone inference BatchNorm (+ optional activation).
#pragma once
#include <string>

#include "ops/batchnorm.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
class Recorder;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// stats: [4, C] rows gamma, beta, mean, var.
void encode_batchnorm(gpu::Device& device, gpu::Recorder& recorder, const BatchNormParams& params,
                      const Activation& activation, const Tensor& input, const Tensor& stats,
                      const Tensor& output, const std::string& label = "batchnorm");

}  // namespace fusescope::ops
