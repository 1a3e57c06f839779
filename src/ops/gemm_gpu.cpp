#include "ops/gemm_gpu.hpp"

#include <fmt/format.h>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/encode_util.hpp"

namespace fusescope::ops {

namespace {

struct GemmPush {
  std::uint32_t M, N, K;
  std::uint32_t tiles_n;
  std::uint32_t tiles;
  float alpha, beta;
};

// shaders/gemm.comp hard-codes a 16x16 output tile computed by 128 invocations.
constexpr std::uint32_t kGemmTile = 16;
constexpr std::uint32_t kGemmLocalSize = kGemmTile * kGemmTile / 2;

}  // namespace

void encode_gemm(const Encoder& enc, const GemmParams& p,
                 const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& out,
                 const std::string& label, GemmAlgorithm algorithm) {
  gpu::Device& device = enc.device;
  gpu::Recorder& recorder = enc.recorder;
  const Shape out_shape = gemm_output_shape(p, x.shape, label);
  expect_shape(label, "weight", w.shape, gemm_weight_shape(p));
  expect_shape(label, "output", out.shape, out_shape);
  // A bias that is silently ignored (or missing) would make a fused layer differ from its
  // reference for no visible reason.
  if (p.has_bias && bias == nullptr)
    throw InvalidArgument(fmt::format("{}: has_bias is set but no bias tensor was given", label));
  if (!p.has_bias && bias != nullptr)
    throw InvalidArgument(
        fmt::format("{}: a bias tensor was given but has_bias is not set", label));
  if (bias != nullptr) expect_shape(label, "bias", bias->shape, {p.out_features});
  expect_storage_dtype(label, "input", x, enc.precision);
  expect_storage_dtype(label, "weight", w, enc.precision);
  expect_storage_dtype(label, "output", out, enc.precision);
  if (bias != nullptr) expect_dtype(label, "bias", *bias, DType::f32, enc.precision);

  const std::int64_t rows = out_shape[0];
  Conv2dParams conv;
  conv.in_channels = p.in_features;
  conv.out_channels = p.out_features;
  conv.has_bias = p.has_bias;
  const Shape conv_input{rows, p.in_features, 1, 1};
  const bool subgroup_runs = p.transpose_weight && enc.precision != Precision::fp16 &&
                             subgroup_conv_fits(device, conv, conv_input);
  if (algorithm == GemmAlgorithm::automatic)
    algorithm = subgroup_runs && device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? GemmAlgorithm::subgroup
                                                                                   : GemmAlgorithm::tiled;
  if (algorithm == GemmAlgorithm::subgroup) {
    // Layout and precision are this kernel's to refuse; the device's limits (shuffles, texel
    // buffer size, loop count) the conv encoder refuses with its own messages.
    if (!p.transpose_weight || enc.precision == Precision::fp16)
      throw InvalidArgument(fmt::format("{}: the subgroup gemm needs W stored [N, K] (transpose_weight) and fp32 "
                                        "arithmetic (fp32 or fp16s); use the tiled gemm",
                                        label));
    // [M, K] is [M, K, 1, 1] in NCHW and NHWC alike; W [N, K] is OIHW [N, K, 1, 1].
    Encoder nchw = enc;
    nchw.layout = Layout::nchw;
    const Tensor xv = view_tensor(x.buffer, conv_input, x.name, x.dtype);
    const Tensor wv = view_tensor(w.buffer, {p.out_features, p.in_features, 1, 1}, w.name, w.dtype);
    const Tensor yv = view_tensor(out.buffer, {rows, p.out_features, 1, 1}, out.name, out.dtype);
    ConvEpilogue epilogue;
    epilogue.activation = p.activation;
    Conv2dOperands o;
    o.input = &xv;
    o.weight = &wv;
    o.bias = bias;
    o.output = &yv;
    encode_conv2d(nchw, conv, epilogue, o, label, 0, ConvAlgorithm::subgroup);
    return;
  }

  GemmPush push{};
  push.M = to_u32(out_shape[0], label, "M (rows)");
  push.N = to_u32(p.out_features, label, "out_features");
  push.K = to_u32(p.in_features, label, "in_features");
  to_u32(numel(x.shape), label, "input element count");
  to_u32(numel(w.shape), label, "weight element count");
  to_u32(numel(out_shape), label, "output element count");
  push.tiles_n = (push.N + kGemmTile - 1) / kGemmTile;
  const std::uint64_t tiles =
      static_cast<std::uint64_t>((push.M + kGemmTile - 1) / kGemmTile) * push.tiles_n;
  // ceil(M/16) <= M and ceil(N/16) <= N, so tiles <= M*N, which to_u32 bounded above.
  push.tiles = static_cast<std::uint32_t>(tiles);
  push.alpha = p.activation.alpha;
  push.beta = p.activation.beta;

  // One step per 16 of K, each staging 2 elements in a loop (the 16 products are unrolled):
  // counted as 8 per step. Measured on lavapipe: K = 100000 right, 400000 wrong.
  require_loop_budget(device, 8 * ((static_cast<std::uint64_t>(push.K) + kGemmTile - 1) / kGemmTile) + 16, label,
                      "gemm", fmt::format("a reduction over {} input features", push.K));
  const gpu::KernelSpec spec{shader_variant(enc, "gemm", label), 4, sizeof(GemmPush),
                             {kGemmLocalSize, p.transpose_weight ? 1u : 0u, p.has_bias ? 1u : 0u,
                              static_cast<std::uint32_t>(p.activation.kind)}};
  const gpu::BufferView bias_buffer = bias != nullptr ? bias->buffer : device.placeholder_buffer();
  recorder.dispatch(kernel_for(enc, spec),
                    {{x.buffer, gpu::Access::read},
                     {w.buffer, gpu::Access::read},
                     {bias_buffer, gpu::Access::read},
                     {out.buffer, gpu::Access::write}},
                    push, gpu::groups_for(tiles * kGemmLocalSize, kGemmLocalSize, device), label);
}

}  // namespace fusescope::ops
