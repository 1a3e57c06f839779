// Encodes softmax over one axis.
#pragma once
#include <string>

#include "ops/softmax.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
class Recorder;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// output has input's shape and must not share memory with it (each row is read twice after
// the first pass).
void encode_softmax(gpu::Device& device, gpu::Recorder& recorder, const SoftmaxParams& params,
                    const Tensor& input, const Tensor& output,
                    const std::string& label = "softmax");

}  // namespace fusescope::ops
