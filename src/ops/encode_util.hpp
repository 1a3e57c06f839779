// Helpers shared by the ops' GPU encoders: narrowing shape values into the uint32 push
// constants every shader uses, the default workgroup size, and choosing a shader's precision
// variant (with the dtype and device-feature checks that go with it).
#pragma once
#include <bit>
#include <cstdint>
#include <string>

#include <vulkan/vulkan.h>

#include "ops/encoder.hpp"
#include "ops/shape.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Kernel;
struct KernelSpec;
}  // namespace fusescope::gpu

namespace fusescope::ops {

// 64 invocations: two waves on AMD's wave32, a warp pair on NVIDIA, eight lavapipe subgroups.
constexpr std::uint32_t kLocalSize = 64;

// Throws InvalidArgument naming the op and value when v does not fit a shader's uint.
std::uint32_t to_u32(std::int64_t v, const std::string& op, const char* what);

// Whether a uniform texel buffer view can hold `t` (at most maxTexelBufferElements elements of
// its storage type, at an offset aligned to minTexelBufferOffsetAlignment), and the view's
// format for a precision (R32F, or R16F for 16-bit storage). Kernels that read through texel
// buffers where lavapipe would load lane by lane fall back to their storage variants otherwise.
bool texel_view_fits(const gpu::Device& device, const Tensor& t);
VkFormat texel_format(Precision p);

// Division of any 32-bit n by a divisor d >= 1 fixed at dispatch, as a multiply and shifts
// (Granlund & Montgomery 1994, fig. 4.1): with l = ceil(log2 d), magic = floor(2^32 (2^l - d) / d)
// + 1 and shift = max(l - 1, 0), n / d = (t + ((n - t) >> (d > 1))) >> shift where t is the high
// word of n * magic. The shaders' fast_div (common.glsl) computes that. Why: CPUs have no SIMD
// integer divide, so lavapipe divides lane by lane, and index arithmetic that divides per
// element cost more than the element's own work (PP-OCRv4 det's broadcast muls).
struct FastDivisor {
  std::uint32_t magic = 1;
  std::uint32_t shift = 0;
};
FastDivisor fast_divisor(std::uint32_t d);
// What fast_div in the shaders computes, for the host's tests.
std::uint32_t fast_div(std::uint32_t n, std::uint32_t d, FastDivisor f);

inline std::uint32_t float_bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// The dtype a precision stores weights, activations, residuals and outputs in: f32 for fp32,
// f16 for fp16s and fp16. Bias and BN statistics are f32 in every precision.
constexpr DType storage_dtype(Precision p) { return p == Precision::fp32 ? DType::f32 : DType::f16; }

// The embedded shader for `shader` at enc.precision: "<shader>" for fp32, "<shader>_f16s" for
// fp16s, "<shader>_f16" for fp16 (cmake/EmbedShaders.cmake builds them from `// variants:`).
// Throws InvalidArgument naming `label`, the precision, the missing Vulkan feature and the
// device when the device lacks storageBuffer16BitAccess (fp16s, fp16) or shaderFloat16 (fp16).
std::string shader_variant(const Encoder& enc, const std::string& shader, const std::string& label);

// The pipeline for `spec` on enc.device, with enc.kernel_override (when set) in place of the
// built-in shader. Every encoder asks for its kernels here, so an override reaches every
// dispatch of the node it was given for, whichever kernels that node's op uses.
const gpu::Kernel& kernel_for(const Encoder& enc, gpu::KernelSpec spec);

// Whether `iterations` loop iterations per invocation (the kernel's own count for its shape,
// an upper bound) stay within the device's loop_iteration_limit (gpu/device.hpp).
bool fits_loop_budget(const gpu::Device& device, std::uint64_t iterations);

// The workgroup of a one-workgroup-per-output reduction (a strided sum per invocation, then a
// shared-memory tree): `max` invocations, or for fewer elements the power of two that covers
// them (16 at least). Why: a 7x7 or 2x2 plane in a 128-wide workgroup left most invocations
// adding zeros through every level of the tree (resnet50-keras' 2048 7x7 planes on lavapipe:
// 9.6 -> 5.3 ms, medians of 3 alternating processes). The bits do not change: the invocations
// dropped only ever added exact zeros.
std::uint32_t reduction_local_size(std::uint64_t elements, std::uint32_t max);

// Throws gpu::DeviceLimit unless fits_loop_budget: "<label>: <kernel> would loop <iterations>
// times per invocation (<why>), but <device> ends a shader's loops after <limit> iterations in
// all and would return a wrong result[; <advice>]".
void require_loop_budget(const gpu::Device& device, std::uint64_t iterations, const std::string& label,
                         const std::string& kernel, const std::string& why, const std::string& advice = {});

// Throws InvalidArgument("<label>: <what> tensor '<name>' is f32, but precision fp16s expects
// f16 ...") unless t.dtype == expected.
void expect_dtype(const std::string& label, const std::string& what, const Tensor& t,
                  DType expected, Precision precision);

// expect_dtype with storage_dtype(precision): weights, activations, residuals, outputs.
inline void expect_storage_dtype(const std::string& label, const std::string& what,
                                 const Tensor& t, Precision precision) {
  expect_dtype(label, what, t, storage_dtype(precision), precision);
}

}  // namespace fusescope::ops
