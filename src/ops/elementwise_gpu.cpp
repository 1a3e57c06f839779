#include "ops/elementwise_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {
struct BinaryPush {
  std::uint32_t count;
  std::uint32_t rank;
  std::uint32_t out_dims[kMaxBroadcastRank];
  std::uint32_t a_strides[kMaxBroadcastRank];
  std::uint32_t b_strides[kMaxBroadcastRank];
  std::uint32_t magic[kMaxBroadcastRank];  // fast_divisor(out_dims[d])
  std::uint32_t shifts;                    // its shifts, 5 bits per dim
};
// Vulkan guarantees only 128 bytes of push constants.
static_assert(sizeof(BinaryPush) <= 128);
}  // namespace

void encode_binary(const Encoder& enc, BinaryOp op, const Tensor& a,
                   const Tensor& b, const Tensor& out, const std::string& label_arg) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const std::string label = label_arg.empty() ? std::string(to_string(op)) : label_arg;
  if (static_cast<std::uint32_t>(op) > static_cast<std::uint32_t>(BinaryOp::pow)) {
    throw InvalidArgument(fmt::format("{}: op = {}, expected 0..4 (add, sub, mul, div, pow)", label,
                                      static_cast<std::uint32_t>(op)));
  }
  const Shape out_shape = broadcast_shapes(a.shape, b.shape, label);
  expect_shape(label, "output", out.shape, out_shape);
  expect_storage_dtype(label, "a", a, enc.precision);
  expect_storage_dtype(label, "b", b, enc.precision);
  expect_storage_dtype(label, "output", out, enc.precision);

  BinaryPush push{};
  push.count = to_u32(numel(out_shape), label, "element count");
  const BroadcastWalk walk = broadcast_walk(a.shape, b.shape, out_shape);
  push.rank = static_cast<std::uint32_t>(walk.dims.size());
  for (std::size_t d = 0; d < walk.dims.size(); ++d) {
    push.out_dims[d] = to_u32(walk.dims[d], label, "output dimension");
    push.a_strides[d] = to_u32(walk.a_strides[d], label, "a stride");
    push.b_strides[d] = to_u32(walk.b_strides[d], label, "b stride");
    const FastDivisor f = fast_divisor(std::max<std::uint32_t>(push.out_dims[d], 1));
    push.magic[d] = f.magic;
    push.shifts |= f.shift << (5 * d);
  }
  // a and b read through texel buffers where views can hold them (binary.comp's texel variants);
  // else the storage variant, the same results.
  const bool texel = enc.texel_reads && texel_view_fits(device, a) && texel_view_fits(device, b);
  gpu::KernelSpec spec{shader_variant(enc, texel ? "binary_texel" : "binary", label), 3, sizeof(BinaryPush),
                       {kLocalSize, static_cast<std::uint32_t>(op)}};
  if (texel) {
    spec.texel_buffers = 0b11;
    spec.texel_format = texel_format(enc.precision);
  }
  recorder.dispatch(kernel_for(enc, spec),
                    {{a.buffer, gpu::Access::read},
                     {b.buffer, gpu::Access::read},
                     {out.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
