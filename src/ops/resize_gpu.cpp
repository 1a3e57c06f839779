#include "ops/resize_gpu.hpp"

#include <algorithm>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct ResizePush {
  std::uint32_t count;
  std::uint32_t C, H, W;
  std::uint32_t OH, OW;
  float scale_h, scale_w;
  std::uint32_t magic_c, magic_ow, magic_oh;  // fast_divisor of C, OW, OH
  std::uint32_t shifts;                       // their shifts at bits 0, 5, 10
};

}  // namespace

void encode_resize(const Encoder& enc, const ResizeParams& p, const Tensor& input,
                   const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = resize_output_shape(p, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);

  ResizePush push{};
  push.count = to_u32(numel(out), label, "output element count");
  to_u32(numel(input.shape), label, "input element count");
  push.C = to_u32(input.shape[1], label, "channels");
  push.H = to_u32(input.shape[2], label, "input height");
  push.W = to_u32(input.shape[3], label, "input width");
  push.OH = to_u32(out[2], label, "output height");
  push.OW = to_u32(out[3], label, "output width");
  // align_corners multiplies an output index by in_len - 1 in 32-bit integers.
  to_u32((out[2] - 1) * input.shape[2], label, "align_corners product (output height x input height)");
  to_u32((out[3] - 1) * input.shape[3], label, "align_corners product (output width x input width)");
  push.scale_h = p.scale_h;
  push.scale_w = p.scale_w;
  const FastDivisor dc = fast_divisor(std::max<std::uint32_t>(push.C, 1));
  const FastDivisor dow = fast_divisor(std::max<std::uint32_t>(push.OW, 1));
  const FastDivisor doh = fast_divisor(std::max<std::uint32_t>(push.OH, 1));
  push.magic_c = dc.magic;
  push.magic_ow = dow.magic;
  push.magic_oh = doh.magic;
  push.shifts = dc.shift | dow.shift << 5 | doh.shift << 10;

  // The rounding rule only matters to nearest: fold it away for linear so one pipeline serves
  // every linear resize with the same transform.
  const std::uint32_t rounding = p.mode == ResizeMode::nearest ? static_cast<std::uint32_t>(p.nearest) : 0u;
  // x read through a texel buffer where a view holds it (resize.comp's texel variants).
  const bool texel = enc.texel_reads && texel_view_fits(device, input);
  gpu::KernelSpec spec{shader_variant(enc, texel ? "resize_texel" : "resize", label), 2, sizeof(ResizePush),
                             {kLocalSize, static_cast<std::uint32_t>(p.mode), rounding,
                              static_cast<std::uint32_t>(p.transform), enc.layout == Layout::nhwc ? 1u : 0u,
                              p.length_from_scale ? 1u : 0u}};
  if (texel) {
    spec.texel_buffers = 0b1;
    spec.texel_format = texel_format(enc.precision);
  }
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
