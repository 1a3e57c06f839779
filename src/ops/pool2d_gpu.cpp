#include "ops/pool2d_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct Pool2dPush {
  std::uint32_t count;
  std::uint32_t H, W;
  std::uint32_t OH, OW;
  std::uint32_t KH, KW;
  std::uint32_t SH, SW;
  std::int32_t PT, PL, PB, PR;
  std::uint32_t C;
  std::uint32_t DH, DW;  // max pooling's dilation (1 for average)
};

struct GlobalAveragePoolPush {
  std::uint32_t planes;
  std::uint32_t plane_size;
  std::uint32_t channels;
};

// The reduction tree's width: 128 is the largest workgroup every Vulkan device must accept, and
// wide enough that a 7x7 plane leaves few lanes idle while 56x56 takes 25 loads per lane.
constexpr std::uint32_t kReduceLocalSize = 128;

}  // namespace

void encode_pool2d(const Encoder& enc, const Pool2dParams& p,
                   const Tensor& input, const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = pool2d_output_shape(p, input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);

  Pool2dPush push{};
  push.count = to_u32(numel(out), label, "output element count");
  to_u32(numel(input.shape), label, "input element count");
  push.H = to_u32(input.shape[2], label, "input height");
  push.W = to_u32(input.shape[3], label, "input width");
  push.OH = to_u32(out[2], label, "output height");
  push.OW = to_u32(out[3], label, "output width");
  push.KH = to_u32(p.kernel_h, label, "kernel height");
  push.KW = to_u32(p.kernel_w, label, "kernel width");
  push.SH = to_u32(p.stride_h, label, "stride height");
  push.SW = to_u32(p.stride_w, label, "stride width");
  push.PT = static_cast<std::int32_t>(to_u32(p.pad_top, label, "pad_top"));
  push.PL = static_cast<std::int32_t>(to_u32(p.pad_left, label, "pad_left"));
  push.PB = static_cast<std::int32_t>(to_u32(p.pad_bottom, label, "pad_bottom"));
  push.PR = static_cast<std::int32_t>(to_u32(p.pad_right, label, "pad_right"));
  push.C = to_u32(input.shape[1], label, "channels");
  push.DH = to_u32(p.dilation_h, label, "dilation height");
  push.DW = to_u32(p.dilation_w, label, "dilation width");

  // One loop over the window's rows, one over each row's columns.
  require_loop_budget(device,
                      static_cast<std::uint64_t>(push.KH) * (static_cast<std::uint64_t>(push.KW) + 3) + 16, label,
                      "pool2d", fmt::format("a {}x{} window", push.KH, push.KW));
  // count_include_pad only matters to average pooling: fold it away for max so both settings
  // share one pipeline.
  const bool include_pad = p.kind == PoolKind::average && p.count_include_pad;
  const gpu::KernelSpec spec{
      shader_variant(enc, "pool2d", label), 2, sizeof(Pool2dPush),
      {kLocalSize, static_cast<std::uint32_t>(p.kind), include_pad ? 1u : 0u,
       enc.layout == Layout::nhwc ? 1u : 0u}};
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(push.count, kLocalSize, device), label);
}

void encode_global_average_pool(const Encoder& enc, const Tensor& input,
                                const Tensor& output, const std::string& label) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out = global_average_pool_output_shape(input.shape, label);
  expect_shape(label, "output", output.shape, out);
  expect_storage_dtype(label, "input", input, enc.precision);
  expect_storage_dtype(label, "output", output, enc.precision);
  to_u32(numel(input.shape), label, "input element count");
  GlobalAveragePoolPush push{to_u32(input.shape[0] * input.shape[1], label, "planes (N*C)"),
                             to_u32(input.shape[2] * input.shape[3], label, "plane size (H*W)"),
                             to_u32(input.shape[1], label, "channels")};
  // Planes up to kSerialPlaneSize elements: one invocation per plane (SERIAL), summing it in
  // order; larger ones: a workgroup per plane, each invocation every local-th element, then the tree.
  constexpr std::uint32_t kSerialPlaneSize = 1024;
  const bool serial = push.plane_size <= kSerialPlaneSize;
  const std::uint32_t local = serial ? kLocalSize : reduction_local_size(push.plane_size, kReduceLocalSize);
  require_loop_budget(device,
                      serial ? push.plane_size : (static_cast<std::uint64_t>(push.plane_size) + local - 1) / local + 32,
                      label, "global_average_pool", fmt::format("a plane of {} elements", push.plane_size));
  const gpu::KernelSpec spec{shader_variant(enc, "global_average_pool", label), 2, sizeof(GlobalAveragePoolPush),
                             {local, enc.layout == Layout::nhwc ? 1u : 0u, serial ? 1u : 0u}};
  // Tree: one workgroup per plane, so ask for planes * local invocations and groups_for returns
  // exactly `planes` workgroups (folded into y past the x limit).
  const std::uint64_t invocations = serial ? push.planes : static_cast<std::uint64_t>(push.planes) * local;
  recorder.dispatch(kernel_for(enc, spec),
                    {{input.buffer, gpu::Access::read}, {output.buffer, gpu::Access::write}},
                    push, gpu::groups_for(invocations, local, device), label);
}

}  // namespace fusescope::ops
