#include "ops/conv2d_gpu.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/batchnorm.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct ConvPush {
  std::uint32_t N, C, H, W;
  std::uint32_t OC, OH, OW;
  std::uint32_t KH, KW;
  std::uint32_t SH, SW;
  std::int32_t PT, PL;
  std::uint32_t DH, DW;
  std::uint32_t groups;
  float alpha, beta;
  float eps;
  std::uint32_t first, end;  // the work indices one dispatch covers
};

const Tensor& require(const Tensor* t, const std::string& label, const char* what) {
  if (t == nullptr) throw InvalidArgument(fmt::format("{}: {} tensor is missing", label, what));
  return *t;
}

}  // namespace

std::uint32_t conv2d_default_pixels_per_invocation(const gpu::Device& device) {
  return device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 8u : 4u;
}

void encode_conv2d(const Encoder& enc, const Conv2dParams& p, const ConvEpilogue& epilogue,
                   const Conv2dOperands& o, const std::string& label, std::uint32_t pixels_per_invocation) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Tensor& input = require(o.input, label, "input");
  const Tensor& weight = require(o.weight, label, "weight");
  const Tensor& output = require(o.output, label, "output");
  const Shape out_shape = conv2d_output_shape(p, input.shape, label);
  expect_shape(label, "weight", weight.shape, conv2d_weight_shape(p));
  expect_shape(label, "output", output.shape, out_shape);
  if (p.has_bias) expect_shape(label, "bias", require(o.bias, label, "bias").shape, {p.out_channels});
  if (epilogue.batchnorm) {
    BatchNormParams bn = epilogue.bn;
    bn.channels = p.out_channels;
    batchnorm_output_shape(bn, out_shape, label + " (batchnorm epilogue)");
    expect_shape(label, "batchnorm statistics", require(o.bn_stats, label, "batchnorm statistics").shape,
                 {4, p.out_channels});
  }
  if (epilogue.residual)
    expect_shape(label, "residual", require(o.residual, label, "residual").shape, out_shape);
  const Precision prec = enc.precision;
  expect_storage_dtype(label, "input", input, prec);
  expect_storage_dtype(label, "weight", weight, prec);
  expect_storage_dtype(label, "output", output, prec);
  if (p.has_bias) expect_dtype(label, "bias", *o.bias, DType::f32, prec);
  if (epilogue.batchnorm) expect_dtype(label, "batchnorm statistics", *o.bn_stats, DType::f32, prec);
  if (epilogue.residual) expect_storage_dtype(label, "residual", *o.residual, prec);

  ConvPush push{};
  push.N = to_u32(input.shape[0], label, "batch");
  push.C = to_u32(input.shape[1], label, "in_channels");
  push.H = to_u32(input.shape[2], label, "input height");
  push.W = to_u32(input.shape[3], label, "input width");
  push.OC = to_u32(p.out_channels, label, "out_channels");
  push.OH = to_u32(out_shape[2], label, "output height");
  push.OW = to_u32(out_shape[3], label, "output width");
  push.KH = to_u32(p.kernel_h, label, "kernel height");
  push.KW = to_u32(p.kernel_w, label, "kernel width");
  push.SH = to_u32(p.stride_h, label, "stride height");
  push.SW = to_u32(p.stride_w, label, "stride width");
  push.PT = static_cast<std::int32_t>(to_u32(p.pad_top, label, "pad_top"));
  push.PL = static_cast<std::int32_t>(to_u32(p.pad_left, label, "pad_left"));
  push.DH = to_u32(p.dilation_h, label, "dilation height");
  push.DW = to_u32(p.dilation_w, label, "dilation width");
  push.groups = to_u32(p.groups, label, "groups");
  push.alpha = epilogue.activation.alpha;
  push.beta = epilogue.activation.beta;
  push.eps = epilogue.bn.epsilon;

  // Several output channels per invocation reuse each input load: 8 when the channels per
  // group allow (1.37x over 4 on lavapipe for a 128->128 3x3 conv; 16 was no faster), else 4,
  // else 1 (depthwise).
  const std::uint32_t ocg = static_cast<std::uint32_t>(p.out_channels / p.groups);
  const std::uint32_t ocb = ocg % 8 == 0 ? 8u : ocg % 4 == 0 ? 4u : 1u;
  // And several adjacent pixels of a row, so each weight load serves PXB outputs too.
  const std::uint32_t pxb =
      pixels_per_invocation != 0 ? pixels_per_invocation : conv2d_default_pixels_per_invocation(device);
  if (pxb != 1 && pxb != 2 && pxb != 4 && pxb != 8)
    throw InvalidArgument(fmt::format("{}: {} pixels per invocation; 1, 2, 4 or 8 are supported", label, pxb));
  const std::uint64_t invocations = static_cast<std::uint64_t>(push.N) * (push.OC / ocb) * push.OH *
                                    ((push.OW + pxb - 1) / pxb);
  if (invocations > std::numeric_limits<std::uint32_t>::max())
    throw InvalidArgument(fmt::format("{}: {} work items exceed 32-bit indexing", label, invocations));
  const gpu::KernelSpec spec{
      shader_variant(enc, "conv2d", label), 6, sizeof(ConvPush),
      {kLocalSize, p.has_bias ? 1u : 0u, epilogue.batchnorm ? 1u : 0u, epilogue.residual ? 1u : 0u,
       static_cast<std::uint32_t>(epilogue.activation.kind),
       enc.layout == Layout::nhwc ? 1u : 0u, ocb, pxb}};
  const gpu::BufferView unused = device.placeholder_buffer();
  auto buf = [&](const Tensor* t, bool used) { return used ? t->buffer : unused; };
  const gpu::Binding bindings[] = {{input.buffer, gpu::Access::read},
                                   {weight.buffer, gpu::Access::read},
                                   {buf(o.bias, p.has_bias), gpu::Access::read},
                                   {buf(o.bn_stats, epilogue.batchnorm), gpu::Access::read},
                                   {buf(o.residual, epilogue.residual), gpu::Access::read},
                                   {output.buffer, gpu::Access::write}};
  const gpu::Kernel& kernel = device.kernel(spec);

  // One dispatch, or slices of at most enc.max_dispatch_macs multiply-adds, each in its own
  // recorder segment so that a caller can submit them one by one (see Encoder).
  const std::uint64_t macs_per_item = static_cast<std::uint64_t>(ocb) * pxb * (push.C / push.groups) * push.KH * push.KW;
  std::uint64_t slice = invocations;
  if (enc.max_dispatch_macs != 0) {
    const std::uint64_t items = enc.max_dispatch_macs / std::max<std::uint64_t>(macs_per_item, 1);
    slice = std::max<std::uint64_t>(kLocalSize, items / kLocalSize * kLocalSize);  // whole workgroups
  }
  const std::size_t slices = static_cast<std::size_t>((invocations + slice - 1) / slice);
  for (std::size_t i = 0; i < std::max<std::size_t>(slices, 1); ++i) {
    push.first = static_cast<std::uint32_t>(i * slice);
    push.end = static_cast<std::uint32_t>(std::min<std::uint64_t>(invocations, (i + 1) * slice));
    if (i > 0) recorder.begin_segment();
    recorder.dispatch(kernel, bindings, std::as_bytes(std::span<const ConvPush>(&push, 1)),
                      gpu::groups_for(push.end - push.first, kLocalSize, device),
                      slices > 1 ? fmt::format("{} [{}/{}]", label, i + 1, slices) : label);
  }
}

}  // namespace fusescope::ops
