#include "ops/conv2d_gpu.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>
#include <limits>
#include <span>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/batchnorm.hpp"
#include "ops/encode_util.hpp"
#include "ops/winograd.hpp"

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

void check_gemm_tile(const ConvGemmTile& t, const std::string& label) {
  // The shader's loaders: WN divides the workgroup; the pixel tile BN = WN*TN is a multiple or a
  // divisor of the workgroup, and the k rows split evenly among the invocations of a column;
  // the weight tile BM*BK splits evenly among the invocations.
  const std::uint32_t bm = t.wn == 0 ? 0 : kLocalSize / t.wn * t.tm, bn = t.wn * t.tn;
  const bool ok = t.tm >= 1 && t.tn >= 1 && t.wn >= 1 && t.bk >= 1 && t.tm <= 16 && t.tn <= 16 &&
                  kLocalSize % t.wn == 0 && (bn % kLocalSize == 0 || kLocalSize % bn == 0) &&
                  (bn >= kLocalSize || t.bk % (kLocalSize / bn) == 0) && (bm * t.bk) % kLocalSize == 0;
  if (!ok)
    throw InvalidArgument(fmt::format("{}: gemm tile {}x{} per invocation, {} invocations along pixels, "
                                      "k-step {} does not fit the shader's tile loaders",
                                      label, t.tm, t.tn, t.wn, t.bk));
}

}  // namespace

ConvGemmTile conv2d_default_gemm_tile(const gpu::Device& device) {
  // Measured on lavapipe (LLVM 15, 256-bit, 2 cores), fused 128->128 3x3 conv on 28x28, GPU ms
  // with direct at ~23 in the same runs: 4x4/wn16/bk16 229, 2x2 558, 8x4/wn8 175, 4x8/wn16 197,
  // 16x4/wn16 58, 8x8/wn8/bk16 114 (66 once the k-step loop was unrolled), 8x8/wn8/bk32 63.
  // Larger register tiles win: fewer invocations share each barrier and each staged value.
  // On a GPU 8x8 would be 64 accumulators per invocation, within what GPUs hold; unmeasured.
  (void)device;
  return ConvGemmTile{8, 8, 8, 32};
}

bool conv2d_pointwise(const Conv2dParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 &&
         p.pad_right == 0;
}

std::uint64_t conv2d_loop_iterations(ConvAlgorithm algorithm, const Conv2dParams& p, ConvGemmTile tile) {
  const std::uint64_t icg = static_cast<std::uint64_t>(p.in_channels / std::max<std::int64_t>(p.groups, 1));
  const std::uint64_t kh = static_cast<std::uint64_t>(p.kernel_h), kw = static_cast<std::uint64_t>(p.kernel_w);
  constexpr std::uint64_t kSlack = 16;  // loops outside the reduction, counted generously
  if (algorithm == ConvAlgorithm::gemm) {
    const std::uint64_t bk = std::max<std::uint32_t>(tile.bk, 1);
    return 3 * ((icg * kh * kw + bk - 1) / bk) + kSlack;
  }
  // winograd, winograd4: one loop over the channels, everything inside unrolled.
  if (is_winograd(algorithm)) return 2 * icg + kSlack;
  // subgroup's pointwise path: one iteration per 4 channels, then up to 3 single ones.
  if (algorithm == ConvAlgorithm::subgroup && conv2d_pointwise(p)) return 3 * (icg / 4 + 3) + kSlack;
  return icg * (3 + 2 * kh + kh * kw) + kSlack;
}

bool subgroup_conv_fits(const gpu::Device& device, const Conv2dParams& p, const Shape& input) {
  const gpu::DeviceInfo& info = device.info();
  const std::uint64_t limit = info.max_texel_buffer_elements;
  return fits_loop_budget(device, conv2d_loop_iterations(ConvAlgorithm::subgroup, p, {})) && info.subgroup_shuffle && info.subgroup_size != 0 && kLocalSize % info.subgroup_size == 0 &&
         static_cast<std::uint64_t>(numel(input)) <= limit &&
         static_cast<std::uint64_t>(numel(conv2d_weight_shape(p))) <= limit;
}

bool winograd_conv_fits(const gpu::Device& device, ConvAlgorithm algorithm, const Conv2dParams& p,
                        const Shape& input, Precision precision) {
  const gpu::DeviceInfo& info = device.info();
  const std::uint64_t limit = info.max_texel_buffer_elements;
  return is_winograd(algorithm) && winograd_applies(p) &&
         (algorithm != ConvAlgorithm::winograd4 || precision == Precision::fp32) &&
         fits_loop_budget(device, conv2d_loop_iterations(algorithm, p, {})) && info.subgroup_shuffle &&
         info.subgroup_size != 0 && kLocalSize % info.subgroup_size == 0 &&
         static_cast<std::uint64_t>(numel(input)) <= limit &&
         static_cast<std::uint64_t>(numel(winograd_weight_shape(p, winograd_tile(algorithm)))) <= limit;
}

const char* conv2d_kernel_name(ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ConvAlgorithm::gemm: return "conv2d_gemm";
    case ConvAlgorithm::subgroup: return "conv2d_subgroup";
    case ConvAlgorithm::winograd:
    case ConvAlgorithm::winograd4: return "conv2d_winograd";
    case ConvAlgorithm::direct:
    case ConvAlgorithm::depthwise:
    case ConvAlgorithm::automatic: break;
  }
  return "conv2d";
}

ConvAlgorithm choose_conv_algorithm(const gpu::Device& device, const Conv2dParams& p, const Shape& input,
                                    bool allow_winograd, Precision precision) {
  // lavapipe: gemm lost to direct on every shape measured (fused, GPU ms, direct vs gemm's best
  // tile): 128->128 3x3 at 28x28 23 vs 63, 64->64 3x3 at 56x56 21 vs 64, 256->256 1x1 at 56x56
  // 82 vs 116. subgroup beats direct 2.2-4x on every resnet50-keras conv (32-channel blocks, so
  // it wants 16+ output channels per group); depthwise and thin grouped convs get depthwise,
  // the direct kernel with its taps unrolled (BlazeFace front: direct 69 ms, auto 52 ms).
  // A reduction longer than the driver lets one invocation loop (lavapipe: a 1x1 conv over
  // ~10900+ channels, VGG's classifier run as a conv) goes to gemm, which walks it in steps.
  if (!fits_loop_budget(device, conv2d_loop_iterations(ConvAlgorithm::direct, p, {})))
    return ConvAlgorithm::gemm;
  if (device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    const std::int64_t ocg = p.out_channels / p.groups;
    // 3x3 stride-1 convs: winograd beat subgroup 1.2-1.4x on resnet45's 64..512-channel convs
    // and auto (depthwise) 3-7x on dpn92's 32-group 3x3 convs (4..32 channels per group), in
    // one interleaved bench each. Depthwise convs (1 channel per group) keep the depthwise
    // kernel: a 16-channel block of one channel would waste 15 (unmeasured).
    // winograd4 is not picked, though faster where its 4x4 tiles fill the lanes (resnet50-keras'
    // 3x3 convs 1.2-1.55x at 56x56 and 28x28, 0.54-0.71x at 7x7; resnet45 1.28x, one interleaved
    // bench each): it is 5-7x less exact than winograd, and with it dpn92 at 32x32 ends 8.2e-5
    // from the float64 oracle where ONNX Runtime is 2.8e-5 off (tools/ort/check_zoo_export.sh
    // fails it), so it stays a choice: --algorithm winograd4, or --autotune.
    if (allow_winograd && ocg >= 4 && winograd_conv_fits(device, ConvAlgorithm::winograd, p, input, precision))
      return ConvAlgorithm::winograd;
    if (ocg >= 16 && subgroup_conv_fits(device, p, input)) return ConvAlgorithm::subgroup;
    return p.kernel_h <= 5 && p.kernel_w <= 5 ? ConvAlgorithm::depthwise : ConvAlgorithm::direct;
  }
  // A GPU (unmeasured: none was at hand): tiles pay off when both GEMM sides fill them, so
  // gemm for 16+ output channels per group over a reduction of 32+; depthwise and tiny convs
  // stay direct (a 64-channel tile of one channel wastes 63 rows).
  const std::int64_t icg = p.in_channels / p.groups, ocg = p.out_channels / p.groups;
  if (icg * p.kernel_h * p.kernel_w >= 32 && ocg >= 16) return ConvAlgorithm::gemm;
  return p.kernel_h <= 5 && p.kernel_w <= 5 ? ConvAlgorithm::depthwise : ConvAlgorithm::direct;
}

ConvSubgroupTile conv2d_default_subgroup_tile(const gpu::Device& device) {
  // Channels: a multiple of the subgroup size, so each lane loads whole weights. 4 weights per
  // lane and tap (32 channels at lavapipe's 8 lanes); pixels per lane 4. Measured on lavapipe: see
  // the README's conv algorithm table.
  const std::uint32_t sg = std::max<std::uint32_t>(device.info().subgroup_size, 1);
  ConvSubgroupTile t{sg * 4, 4};
  return t;
}

ConvWinogradTile conv2d_default_winograd_tile(const gpu::Device& device, int edge) {
  // Two weights per lane and element (16 channels at lavapipe's 8 lanes) x 2 tiles per lane:
  // 16 x 2 x 16 accumulators per lane. Measured on lavapipe, resnet45 fused, three rounds while
  // other work ran (GPU ms): 8 channels x 2 tiles 295-355, 8 x 4 258-355, 16 x 2 245-303,
  // 16 x 4 262-301; resnet50-keras 8 x 2 526-639, 16 x 2 502-590, 16 x 4 620-637.
  // 4x4 tiles (36 sums per channel and tile): 16 channels x 1 tile, the fastest of 8 x 1, 16 x 1
  // and 8 x 2 on resnet45 fused (winograd4 over winograd in one interleaved bench each: 1.18x,
  // 1.29x, 1.28x).
  const std::uint32_t sg = std::max<std::uint32_t>(device.info().subgroup_size, 1);
  if (edge == 4) return ConvWinogradTile{sg * 2, 1};
  return ConvWinogradTile{sg * 2, 2};
}

std::uint32_t conv2d_default_pixels_per_invocation(const gpu::Device& device) {
  return device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 8u : 4u;
}

void encode_conv2d(const Encoder& enc, const Conv2dParams& p, const ConvEpilogue& epilogue,
                   const Conv2dOperands& o, const std::string& label, std::uint32_t pixels_per_invocation,
                   ConvAlgorithm algorithm, ConvGemmTile gemm_tile) {
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

  const gpu::BufferView unused = device.placeholder_buffer();
  auto buf = [&](const Tensor* t, bool used) { return used ? t->buffer : unused; };
  const gpu::Binding bindings[] = {{input.buffer, gpu::Access::read},
                                   {weight.buffer, gpu::Access::read},
                                   {buf(o.bias, p.has_bias), gpu::Access::read},
                                   {buf(o.bn_stats, epilogue.batchnorm), gpu::Access::read},
                                   {buf(o.residual, epilogue.residual), gpu::Access::read},
                                   {output.buffer, gpu::Access::write}};
  const std::vector<std::uint32_t> epilogue_constants = {
      kLocalSize, p.has_bias ? 1u : 0u, epilogue.batchnorm ? 1u : 0u, epilogue.residual ? 1u : 0u,
      static_cast<std::uint32_t>(epilogue.activation.kind), enc.layout == Layout::nhwc ? 1u : 0u};
  const std::uint64_t k_per_output = static_cast<std::uint64_t>(push.C / push.groups) * push.KH * push.KW;

  // `items` work items (invocations for direct, workgroup tiles for gemm) of `macs_per_item`
  // multiply-adds each: one dispatch, or slices of at most enc.max_dispatch_macs multiply-adds,
  // each in its own recorder segment so that a caller can submit them one by one (see Encoder).
  // `granule` keeps a slice whole workgroups; first and end in the push constants are in items.
  auto dispatch_sliced_with = [&](const gpu::Kernel& kernel, std::span<const gpu::Binding> dispatch_bindings,
                                  std::uint64_t items, std::uint64_t macs_per_item,
                                  std::uint32_t invocations_per_item, std::uint64_t granule) {
    std::uint64_t slice = items;
    if (enc.max_dispatch_macs != 0) {
      const std::uint64_t n = enc.max_dispatch_macs / std::max<std::uint64_t>(macs_per_item, 1);
      slice = std::max<std::uint64_t>(granule, n / granule * granule);
    }
    const std::size_t slices = static_cast<std::size_t>((items + slice - 1) / slice);
    for (std::size_t i = 0; i < std::max<std::size_t>(slices, 1); ++i) {
      push.first = static_cast<std::uint32_t>(i * slice);
      push.end = static_cast<std::uint32_t>(std::min<std::uint64_t>(items, (i + 1) * slice));
      if (i > 0) recorder.begin_segment();
      recorder.dispatch(kernel, dispatch_bindings, std::as_bytes(std::span<const ConvPush>(&push, 1)),
                        gpu::groups_for(static_cast<std::uint64_t>(push.end - push.first) * invocations_per_item,
                                        kLocalSize, device),
                        slices > 1 ? fmt::format("{} [{}/{}]", label, i + 1, slices) : label);
    }
  };
  auto dispatch_sliced = [&](const gpu::Kernel& kernel, std::uint64_t items, std::uint64_t macs_per_item,
                             std::uint32_t invocations_per_item, std::uint64_t granule) {
    dispatch_sliced_with(kernel, bindings, items, macs_per_item, invocations_per_item, granule);
  };

  // Winograd needs weights transformed at load: automatic picks it (F(2x2) only) when the caller
  // gave them for that tile.
  if (algorithm == ConvAlgorithm::automatic)
    algorithm = choose_conv_algorithm(
        device, p, input.shape,
        o.winograd_weight != nullptr && o.winograd_weight->shape == winograd_weight_shape(p, 2), enc.precision);
  {
    const ConvGemmTile tile = gemm_tile.tm != 0 ? gemm_tile : conv2d_default_gemm_tile(device);
    require_loop_budget(device, conv2d_loop_iterations(algorithm, p, tile), label,
                        fmt::format("the {} conv", to_string(algorithm)),
                        fmt::format("{} input channels per group x {}x{} taps", p.in_channels / p.groups, p.kernel_h,
                                    p.kernel_w),
                        algorithm == ConvAlgorithm::gemm ? "" : "--algorithm gemm (or auto) walks it in steps");
  }

  if (algorithm == ConvAlgorithm::gemm) {
    const ConvGemmTile tile = gemm_tile.tm != 0 ? gemm_tile : conv2d_default_gemm_tile(device);
    check_gemm_tile(tile, label);
    const std::uint64_t bm = static_cast<std::uint64_t>(kLocalSize / tile.wn) * tile.tm;
    const std::uint64_t bn = static_cast<std::uint64_t>(tile.wn) * tile.tn;
    const std::uint64_t pixels = static_cast<std::uint64_t>(push.N) * push.OH * push.OW;
    const std::uint64_t ocg = push.OC / push.groups;
    const std::uint64_t tiles = push.groups * ((ocg + bm - 1) / bm) * ((pixels + bn - 1) / bn);
    if (pixels > std::numeric_limits<std::uint32_t>::max() || tiles * kLocalSize > std::numeric_limits<std::uint32_t>::max())
      throw InvalidArgument(fmt::format("{}: {} output pixels exceed 32-bit indexing", label, pixels));
    std::vector<std::uint32_t> constants = epilogue_constants;
    constants.insert(constants.end(), {tile.tm, tile.tn, tile.wn, tile.bk});
    const gpu::KernelSpec spec{shader_variant(enc, "conv2d_gemm", label), 6, sizeof(ConvPush), constants};
    dispatch_sliced(kernel_for(enc, spec), tiles, bm * bn * k_per_output, kLocalSize, 1);
    return;
  }

  // subgroup and winograd: lanes share weights through shuffles, and read x and the weights
  // as texel buffers (element counts within maxTexelBufferElements, offsets aligned).
  const gpu::DeviceInfo& info = device.info();
  auto texel_readable = [&](const Tensor& t) { return texel_view_fits(device, t); };
  auto require_subgroup_kernel = [&](const char* what, std::initializer_list<const Tensor*> texel_reads) {
    const std::uint32_t sg = info.subgroup_size;
    if (!info.subgroup_shuffle || sg == 0 || kLocalSize % sg != 0)
      throw InvalidArgument(fmt::format("{}: the {} conv needs subgroup shuffles in compute shaders and a "
                                        "subgroup size dividing {}; {} has {}subgroup size {}",
                                        label, what, kLocalSize, info.name, info.subgroup_shuffle ? "" : "no shuffles, ", sg));
    for (const Tensor* t : texel_reads) {
      if (!texel_readable(*t))
        throw InvalidArgument(fmt::format("{}: the {} conv reads '{}' ({} elements at byte offset {}) as a texel "
                                          "buffer; {} allows {} elements at offsets aligned to {} bytes",
                                          label, what, t->name, t->buffer.size / dtype_bytes(t->dtype), t->buffer.offset,
                                          info.name, info.max_texel_buffer_elements,
                                          info.min_texel_buffer_offset_alignment));
    }
  };
  auto texel_spec = [&](const char* shader, std::vector<std::uint32_t> constants) {
    gpu::KernelSpec spec{shader_variant(enc, shader, label), 6, sizeof(ConvPush), std::move(constants)};
    spec.texel_buffers = 0b11;
    spec.texel_format = texel_format(prec);
    return spec;
  };

  // A subgroup kernel's work items: one per (image, group, block of `channels` output channels,
  // `per_item` consecutive units of a plane of `plane` units: pixels, or winograd's output tiles).
  auto subgroup_items = [&](std::uint64_t channels, std::uint64_t per_item, std::uint64_t plane) {
    const std::uint64_t ocg = push.OC / push.groups;
    const std::uint64_t items = static_cast<std::uint64_t>(push.N) * push.groups * ((ocg + channels - 1) / channels) *
                                ((plane + per_item - 1) / per_item);
    if (items * info.subgroup_size > std::numeric_limits<std::uint32_t>::max())
      throw InvalidArgument(fmt::format("{}: {} work items exceed 32-bit indexing", label, items * info.subgroup_size));
    return items;
  };

  if (algorithm == ConvAlgorithm::subgroup) {
    require_subgroup_kernel("subgroup", {&input, &weight});
    const std::uint32_t sg = info.subgroup_size;
    const ConvSubgroupTile tile = conv2d_default_subgroup_tile(device);
    const std::uint64_t tile_px = static_cast<std::uint64_t>(sg) * tile.pixels;
    const std::uint64_t items =
        subgroup_items(tile.channels, tile_px, static_cast<std::uint64_t>(push.OH) * push.OW);
    std::vector<std::uint32_t> constants = epilogue_constants;
    // Kernels up to 3x3 get their size as constants, so the tap loops unroll (larger ones would
    // multiply the code, and the compile time, for little: the stems run once).
    const bool fixed_taps = p.kernel_h <= 3 && p.kernel_w <= 3;
    constants.insert(constants.end(), {tile.channels, tile.pixels, sg, conv2d_pointwise(p) ? 1u : 0u,
                                       fixed_taps ? push.KH : 0u, fixed_taps ? push.KW : 0u});
    dispatch_sliced(kernel_for(enc, texel_spec("conv2d_subgroup", std::move(constants))), items,
                    static_cast<std::uint64_t>(tile.channels) * tile_px * k_per_output, sg, kLocalSize / sg);
    return;
  }

  if (is_winograd(algorithm)) {
    const int edge = winograd_tile(algorithm);
    const char* name = to_string(algorithm);
    if (!winograd_applies(p))
      throw InvalidArgument(fmt::format("{}: the {} conv computes 3x3 convs of stride 1 and dilation 1; this one "
                                        "is {}x{} with stride {}x{} and dilation {}x{} (--algorithm auto picks a "
                                        "kernel per conv)",
                                        label, name, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h,
                                        p.dilation_w));
    if (algorithm == ConvAlgorithm::winograd4 && prec != Precision::fp32)
      throw InvalidArgument(fmt::format("{}: the winograd4 conv computes in fp32 only ({} was asked: F(4x4,3x3)'s "
                                        "transforms lose too much in fp16; winograd is F(2x2,3x3))",
                                        label, to_string(prec)));
    if (o.winograd_weight == nullptr)
      throw InvalidArgument(fmt::format("{}: the {} conv reads its weights transformed once at load "
                                        "(ops::winograd_weights); none were given",
                                        label, name));
    const Tensor& u = *o.winograd_weight;
    expect_shape(label, "winograd weight", u.shape, winograd_weight_shape(p, edge));
    expect_storage_dtype(label, "winograd weight", u, prec);
    require_subgroup_kernel(name, {&input, &u});
    const std::uint32_t sg = info.subgroup_size;
    const ConvWinogradTile tile = conv2d_default_winograd_tile(device, edge);
    const std::uint64_t item_tiles = static_cast<std::uint64_t>(sg) * tile.tiles;
    const std::uint64_t m = static_cast<std::uint64_t>(edge);
    const std::uint64_t items =
        subgroup_items(tile.channels, item_tiles, ((push.OH + m - 1) / m) * ((push.OW + m - 1) / m));
    std::vector<std::uint32_t> constants = epilogue_constants;
    constants.insert(constants.end(), {tile.channels, tile.tiles, sg, static_cast<std::uint32_t>(edge)});
    gpu::KernelSpec spec = texel_spec("conv2d_winograd", std::move(constants));
    // Binding 1 is U, not the OIHW weights.
    gpu::Binding winograd_bindings[std::size(bindings)];
    std::copy(std::begin(bindings), std::end(bindings), winograd_bindings);
    winograd_bindings[1] = {u.buffer, gpu::Access::read};
    // Slices are sized by the direct conv's multiply-adds for the same outputs, like the others.
    const std::uint64_t macs_per_item = static_cast<std::uint64_t>(tile.channels) * item_tiles * m * m * k_per_output;
    dispatch_sliced_with(kernel_for(enc, spec), winograd_bindings, items, macs_per_item, sg, kLocalSize / sg);
    return;
  }

  // Direct. Several output channels per invocation reuse each input load: 8 when the channels
  // per group allow (1.37x over 4 on lavapipe for a 128->128 3x3 conv; 16 was no faster), else
  // 4, else 1 (depthwise).
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
  std::vector<std::uint32_t> constants = epilogue_constants;
  // depthwise: kernels up to 5x5 get their size as constants so the tap loops unroll (BlazeFace's
  // 5x5, MobileNet's 3x3: for depthwise convs the taps are the whole loop). direct keeps them
  // run-time values: it is the baseline every speed-up is measured against.
  const bool fixed_taps = algorithm == ConvAlgorithm::depthwise && p.kernel_h <= 5 && p.kernel_w <= 5;
  // With a horizontal stride of 1 or 2 and no horizontal dilation, a row's inputs are loaded once
  // for all its taps (ROW_WINDOW_STRIDE; same sums, same bits).
  const bool row_window = fixed_taps && (push.SW == 1 || push.SW == 2) && push.DW == 1;
  constants.insert(constants.end(),
                   {ocb, pxb, fixed_taps ? push.KH : 0u, fixed_taps ? push.KW : 0u, row_window ? push.SW : 0u});
  // depthwise reads x and w through texel buffers (conv2d.comp's texel variants: 1.7x on
  // BlazeFace back's depthwise convs on lavapipe, the same bits); where a view cannot hold them it
  // runs the storage variant, which computes the same outputs, a little slower.
  const bool texel =
      algorithm == ConvAlgorithm::depthwise && enc.texel_reads && texel_readable(input) && texel_readable(weight);
  gpu::KernelSpec spec = texel ? texel_spec("conv2d_texel", constants)
                               : gpu::KernelSpec{shader_variant(enc, "conv2d", label), 6, sizeof(ConvPush), constants};
  dispatch_sliced(kernel_for(enc, spec), invocations, static_cast<std::uint64_t>(ocb) * pxb * k_per_output, 1,
                  kLocalSize);
}

}  // namespace fusescope::ops
