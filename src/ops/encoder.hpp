// Where an op's GPU encoder records and how: the device (kernels, placeholder buffers), the
// recorder it appends dispatches to, and the arithmetic precision of the kernels it picks.
// Storage precision is each tensor's dtype.
#pragma once
#include <cstdint>

namespace fusescope::gpu {
class Device;
class Recorder;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// fp32: fp32 storage and arithmetic. fp16s: 16-bit storage of weights and activations
// (VK_KHR_16bit_storage), fp32 arithmetic. fp16: fp16 storage and arithmetic (shaderFloat16).
enum class Precision : std::uint32_t { fp32 = 0, fp16s = 1, fp16 = 2 };

const char* to_string(Precision p);

struct Encoder {
  gpu::Device& device;
  gpu::Recorder& recorder;
  Precision precision = Precision::fp32;
};

}  // namespace fusescope::ops
