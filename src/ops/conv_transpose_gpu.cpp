#include "ops/conv_transpose_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct ConvTransposePush {
  std::uint32_t count;
  std::uint32_t C, H, W;
  std::uint32_t OC, OH, OW;
  std::uint32_t KH, KW;
  std::uint32_t SH, SW;
  std::int32_t PT, PL;
  std::uint32_t DH, DW;
  std::uint32_t groups;
};

}  // namespace

void encode_conv_transpose2d(const Encoder& enc, const ConvTranspose2dParams& p, const Tensor& input,
                             const Tensor& weight, const Tensor* bias, const Tensor& output,
                             const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = conv_transpose2d_output_shape(p, input.shape, label);
  expect_shape(label, "weight", weight.shape, conv_transpose2d_weight_shape(p));
  expect_shape(label, "output", output.shape, out);
  if (p.has_bias != (bias != nullptr))
    throw InvalidArgument(fmt::format("{}: has_bias is {} but a bias tensor is {}", label, p.has_bias,
                                      bias != nullptr ? "given" : "missing"));
  if (bias != nullptr) {
    expect_shape(label, "bias", bias->shape, {p.out_channels});
    expect_dtype(label, "bias", *bias, DType::f32, enc.precision);
  }
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "weight", weight, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);

  ConvTransposePush push{};
  // Several output channels per invocation share its input loads (as in conv2d): 8 when the
  // channels per group allow, else 4, else 1.
  const std::int64_t ocg = p.out_channels / p.groups;
  const std::uint32_t ocb = ocg % 8 == 0 ? 8u : ocg % 4 == 0 ? 4u : 1u;
  to_u32(numel(out), label, "output element count");
  // The upsampling form (K x K kernel, stride K, no padding or dilation, output exactly K times
  // the input; the shader's TILE): one invocation per input pixel and channel block.
  const std::int64_t k = p.kernel_h;
  const bool upsampling = k >= 2 && k <= 4 && p.kernel_w == k && p.stride_h == k && p.stride_w == k &&
                          p.dilation_h == 1 && p.dilation_w == 1 && p.pad_top == 0 && p.pad_left == 0 &&
                          out[2] == input.shape[2] * k && out[3] == input.shape[3] * k;
  push.count = to_u32(upsampling ? numel(out) / (ocb * k * k) : numel(out) / ocb, label, "invocation count");
  to_u32(numel(input.shape), label, "input element count");
  push.C = to_u32(input.shape[1], label, "in_channels");
  push.H = to_u32(input.shape[2], label, "input height");
  push.W = to_u32(input.shape[3], label, "input width");
  push.OC = to_u32(p.out_channels, label, "out_channels");
  push.OH = to_u32(out[2], label, "output height");
  push.OW = to_u32(out[3], label, "output width");
  push.KH = to_u32(p.kernel_h, label, "kernel height");
  push.KW = to_u32(p.kernel_w, label, "kernel width");
  push.SH = to_u32(p.stride_h, label, "stride height");
  push.SW = to_u32(p.stride_w, label, "stride width");
  // The shader works in int for these (rows may be negative before the stride test).
  push.PT = static_cast<std::int32_t>(to_u32(std::min<std::int64_t>(p.pad_top, INT32_MAX), label, "pad_top"));
  push.PL = static_cast<std::int32_t>(to_u32(std::min<std::int64_t>(p.pad_left, INT32_MAX), label, "pad_left"));
  push.DH = to_u32(p.dilation_h, label, "dilation height");
  push.DW = to_u32(p.dilation_w, label, "dilation width");
  push.groups = to_u32(p.groups, label, "groups");

  // Loops over the taps, and for each tap that lands over the input channels of the group.
  {
    const std::uint64_t icg = push.C / push.groups, kh = push.KH, kw = push.KW;
    require_loop_budget(device, kh * (kw * (icg + 3) + 3) + 16, label, "conv_transpose",
                        fmt::format("{} input channels per group x {}x{} taps", icg, kh, kw));
  }
  const gpu::KernelSpec spec{shader_variant(enc, "conv_transpose", label), 4, sizeof(ConvTransposePush),
                             {kLocalSize, p.has_bias ? 1u : 0u, enc.layout == Layout::nhwc ? 1u : 0u, ocb,
                              upsampling ? static_cast<std::uint32_t>(k) : 0u}};
  const gpu::BufferView unused = device.placeholder_buffer();
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read},
                     {weight.buffer, gpu::Access::read},
                     {bias != nullptr ? bias->buffer : unused, gpu::Access::read},
                     {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

}  // namespace fusescope::ops
