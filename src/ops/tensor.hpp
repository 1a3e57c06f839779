// Tensor: a shape and the device buffer holding it (fp32, contiguous, row-major).
#pragma once
#include <span>
#include <string>
#include <vector>

#include "gpu/buffer.hpp"
#include "ops/shape.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::ops {

struct Tensor {
  Shape shape;
  gpu::Buffer buffer;

  std::int64_t numel() const { return ops::numel(shape); }
  const std::string& name() const { return buffer.name(); }
};

// Allocates (shape checked: positive dims, byte count without overflow).
Tensor make_tensor(gpu::Device& device, const Shape& shape, const std::string& name);
Tensor upload_tensor(gpu::Device& device, const Shape& shape, std::span<const float> values,
                     const std::string& name);
std::vector<float> download_tensor(gpu::Device& device, const Tensor& tensor);

// The NaN bit pattern tests fill outputs with, so any element a kernel forgets to write shows.
constexpr std::uint32_t kPoisonWord = 0x7FC00000u;

}  // namespace fusescope::ops
