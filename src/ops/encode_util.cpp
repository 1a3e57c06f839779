#include "ops/encode_util.hpp"

#include <algorithm>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "ops/encoder.hpp"

#include <fmt/format.h>

#include <limits>

namespace fusescope::ops {

std::uint32_t to_u32(std::int64_t v, const std::string& op, const char* what) {
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(fmt::format("{}: {} = {} is outside the range the kernels index "
                                      "(0..2^31-1)",
                                      op, what, v));
  }
  return static_cast<std::uint32_t>(v);
}

bool fits_loop_budget(const gpu::Device& device, std::uint64_t iterations) {
  const std::uint64_t limit = device.info().loop_iteration_limit;
  return limit == 0 || iterations <= limit;
}

std::uint32_t reduction_local_size(std::uint64_t elements, std::uint32_t max) {
  std::uint32_t local = 16;
  while (local < elements && local < max) local *= 2;
  return std::min(local, max);
}

void require_loop_budget(const gpu::Device& device, std::uint64_t iterations, const std::string& label,
                         const std::string& kernel, const std::string& why, const std::string& advice) {
  if (fits_loop_budget(device, iterations)) return;
  const gpu::DeviceInfo& info = device.info();
  throw gpu::DeviceLimit(fmt::format("{}: {} would loop {} times per invocation ({}), but {} ({}) ends a shader's "
                                     "loops after {} iterations in all and would return a wrong result{}{}",
                                     label, kernel, iterations, why, info.name, info.driver_name,
                                     info.loop_iteration_limit, advice.empty() ? "" : "; ", advice));
}

const gpu::Kernel& kernel_for(const Encoder& enc, gpu::KernelSpec spec) {
  if (enc.kernel_override) spec.shader_override = enc.kernel_override;
  return enc.device.kernel(spec);
}

bool texel_view_fits(const gpu::Device& device, const Tensor& t) {
  const gpu::DeviceInfo& info = device.info();
  return t.buffer.size / static_cast<std::uint64_t>(dtype_bytes(t.dtype)) <= info.max_texel_buffer_elements &&
         t.buffer.offset % std::max<std::uint64_t>(info.min_texel_buffer_offset_alignment, 1) == 0;
}

VkFormat texel_format(Precision p) { return p == Precision::fp32 ? VK_FORMAT_R32_SFLOAT : VK_FORMAT_R16_SFLOAT; }

FastDivisor fast_divisor(std::uint32_t d) {
  if (d == 0) throw InvalidArgument("fast_divisor: division by zero");
  std::uint32_t l = 0;
  while (l < 32 && (std::uint64_t{1} << l) < d) ++l;  // ceil(log2 d)
  // 2^l - d < d, so the product stays below 2^63 and the quotient below 2^32 - 1.
  const std::uint64_t magic = ((std::uint64_t{1} << 32) * ((std::uint64_t{1} << l) - d)) / d + 1;
  return {static_cast<std::uint32_t>(magic), l == 0 ? 0u : l - 1};
}

std::uint32_t fast_div(std::uint32_t n, std::uint32_t d, FastDivisor f) {
  const auto t = static_cast<std::uint32_t>((static_cast<std::uint64_t>(n) * f.magic) >> 32);
  return (t + ((n - t) >> (d > 1 ? 1 : 0))) >> f.shift;
}

std::string shader_variant(const Encoder& enc, const std::string& shader, const std::string& label) {
  if (enc.precision == Precision::fp32) return shader;
  const gpu::DeviceInfo& info = enc.device.info();
  const char* missing = nullptr;
  if (!info.storage_16bit) {
    missing = "storageBuffer16BitAccess (VK_KHR_16bit_storage) for 16-bit tensors in storage buffers";
  } else if (enc.precision == Precision::fp16 && !info.fp16_arithmetic) {
    missing = "shaderFloat16 (VK_KHR_shader_float16_int8) for fp16 arithmetic in shaders";
  }
  if (missing != nullptr) {
    throw InvalidArgument(fmt::format(
        "{}: precision {} needs the Vulkan feature {}, which device {} ({}) does not have; "
        "use {} on this device",
        label, to_string(enc.precision), missing, info.index, info.name,
        info.storage_16bit ? "fp16s or fp32" : "fp32"));
  }
  switch (enc.precision) {
    case Precision::fp16s: return shader + "_f16s";
    case Precision::fp16: return shader + "_f16";
    case Precision::fp32: break;
  }
  throw InvalidArgument(fmt::format("{}: precision {} is not one of fp32, fp16s, fp16", label,
                                    static_cast<std::uint32_t>(enc.precision)));
}

void expect_dtype(const std::string& label, const std::string& what, const Tensor& t,
                  DType expected, Precision precision) {
  if (t.dtype == expected) return;
  throw InvalidArgument(fmt::format(
      "{}: {} tensor '{}' is {}, but precision {} expects {} (fp16s and fp16 store weights, "
      "activations, residuals and outputs as f16; bias and batchnorm statistics stay f32)",
      label, what, t.name, to_string(t.dtype), to_string(precision), to_string(expected)));
}

}  // namespace fusescope::ops

namespace fusescope::ops {

const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::fp16s: return "fp16s";
    case Precision::fp16: return "fp16";
  }
  return "unknown";
}

const char* to_string(Layout layout) {
  switch (layout) {
    case Layout::nchw: return "nchw";
    case Layout::nhwc: return "nhwc";
  }
  return "unknown";
}

}  // namespace fusescope::ops
