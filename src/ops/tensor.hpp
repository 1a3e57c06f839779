// Tensor: a shape, an element type and the device memory holding it (contiguous, row-major).
// The memory is either owned (`storage`) or a region of a buffer someone else owns — the
// executor's planned activation memory — and kernels bind `buffer` either way.
// `shape` is always the logical shape (NCHW for 4-D activations). When an executor runs with
// Layout::nhwc (ops/encoder.hpp) the bytes of a 4-D activation are in NHWC order under that same
// logical shape; only the layout-aware encoders know, and download_tensor returns the bytes as
// they are (the executor's read() transposes back to NCHW).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpu/buffer.hpp"
#include "ops/shape.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::ops {

// Storage type of a tensor's elements. Arithmetic precision is a kernel choice, not a tensor's.
enum class DType : std::uint32_t { f32 = 0, f16 = 1 };

constexpr std::int64_t dtype_bytes(DType t) { return t == DType::f16 ? 2 : 4; }
const char* to_string(DType t);

struct Tensor {
  Shape shape;
  DType dtype = DType::f32;
  gpu::BufferView buffer;  // what kernels bind
  gpu::Buffer storage;     // owns `buffer`'s memory; empty for a view into planned memory
  std::string name;

  std::int64_t numel() const { return ops::numel(shape); }
  std::uint64_t bytes() const { return static_cast<std::uint64_t>(numel() * dtype_bytes(dtype)); }
};

// Allocates (shape checked: positive dims, byte count without overflow).
Tensor make_tensor(gpu::Device& device, const Shape& shape, const std::string& name,
                   DType dtype = DType::f32);
// A tensor over existing memory; throws when the region is smaller than the shape needs.
Tensor view_tensor(const gpu::BufferView& region, const Shape& shape, const std::string& name,
                   DType dtype = DType::f32);
// Values are converted to the tensor's dtype on the host (round to nearest even for f16).
Tensor upload_tensor(gpu::Device& device, const Shape& shape, std::span<const float> values,
                     const std::string& name, DType dtype = DType::f32);
void upload_values(gpu::Device& device, const Tensor& tensor, std::span<const float> values);
std::vector<float> download_tensor(gpu::Device& device, const Tensor& tensor);

// The NaN bit pattern tests fill outputs with, so any element a kernel forgets to write shows;
// as two f16 NaNs (0x7E00) it poisons half-precision tensors too.
constexpr std::uint32_t kPoisonWord = 0x7FC00000u;
constexpr std::uint32_t kPoisonWordF16 = 0x7E007E00u;
inline std::uint32_t poison_word(DType t) { return t == DType::f16 ? kPoisonWordF16 : kPoisonWord; }

}  // namespace fusescope::ops
