// Encodes a conv2d (with its epilogue) onto a Recorder: picks the shader variant, fills the
// push constants, binds the tensors and sizes the dispatch.
#pragma once
#include <string>

#include "ops/conv2d.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

// conv2d_gemm.comp's tile: tm output channels x tn pixels per invocation, wn invocations along
// the pixels (64 / wn along the channels), bk k-values per staged step. tm == 0: the default.
struct ConvGemmTile {
  std::uint32_t tm = 0, tn = 0, wn = 0, bk = 0;
};

// conv2d_subgroup.comp's tile: each lane computes `channels` output channels (a multiple of the
// subgroup size) x `pixels` adjacent pixels; a subgroup covers subgroup-size x `pixels` pixels.
struct ConvSubgroupTile {
  std::uint32_t channels = 0, pixels = 0;
};

struct Conv2dOperands {
  const Tensor* input = nullptr;
  const Tensor* weight = nullptr;    // [OC, C/groups, KH, KW]
  const Tensor* bias = nullptr;      // [OC], when params.has_bias
  const Tensor* bn_stats = nullptr;  // [4, OC], when epilogue.batchnorm
  const Tensor* residual = nullptr;  // output's shape, when epilogue.residual
  const Tensor* output = nullptr;
  // [OC, C/groups, m+2, m+2]: ops::winograd_weights of `weight` for the algorithm's tile m,
  // transformed once at load. Read (instead of `weight`) when the algorithm is winograd or
  // winograd4, which need it.
  const Tensor* winograd_weight = nullptr;
};

// Checks every operand's shape against the parameters (InvalidArgument naming `label`), then
// records one dispatch. Shapes are logical NCHW; with enc.layout == nhwc the input, residual and
// output bytes are NHWC (weights stay OIHW).
//
// One invocation computes up to 8 output channels of `pixels_per_invocation` adjacent pixels of
// a row (1, 2, 4 or 8). Every choice sums each output in the same order, so the result is the
// same bit for bit; it only trades registers for fewer loads. 0 picks by device:
// conv2d_default_pixels_per_invocation.
//
// `algorithm` picks the kernel (ConvAlgorithm in ops/conv2d.hpp); automatic asks
// choose_conv_algorithm. Direct is the default here so that a caller that names no algorithm
// (the kernel suites) gets exactly the kernel it has always tested; the executor passes the
// node's choice. `pixels_per_invocation` is direct's, `gemm_tile` gemm's (zeros: the device's
// default). Both algorithms honour enc.max_dispatch_macs: direct slices by invocations, gemm by
// whole workgroup tiles; either way each output is computed by the same code, so a sliced run
// gives the same bits as a whole one of the same algorithm.
void encode_conv2d(const Encoder& enc, const Conv2dParams& params,
                   const ConvEpilogue& epilogue, const Conv2dOperands& operands,
                   const std::string& label = "conv2d", std::uint32_t pixels_per_invocation = 0,
                   ConvAlgorithm algorithm = ConvAlgorithm::direct, ConvGemmTile gemm_tile = {});

// The algorithm `automatic` means for one conv on one device at one precision.
// `allow_winograd` false: never winograd (a caller without the transformed weights, or weights
// computed at run time).
ConvAlgorithm choose_conv_algorithm(const gpu::Device& device, const Conv2dParams& params, const Shape& input,
                                    bool allow_winograd = true, Precision precision = Precision::fp32);

// Whether the device can run conv2d_winograd.comp for `algorithm` (winograd or winograd4) on
// this conv: winograd_applies (3x3, stride 1, dilation 1), subgroup shuffles, the input and
// transformed weights within maxTexelBufferElements, and for winograd4 fp32 (its rounding in
// fp16: see workbench::kConv2dWinograd4RelL2).
bool winograd_conv_fits(const gpu::Device& device, ConvAlgorithm algorithm, const Conv2dParams& params,
                        const Shape& input, Precision precision);

// The built-in kernel (shader name) an algorithm's conv dispatches run: conv2d, conv2d_gemm,
// conv2d_subgroup or conv2d_winograd (depthwise and automatic's direct run conv2d).
const char* conv2d_kernel_name(ConvAlgorithm algorithm);

// Whether the device can run conv2d_subgroup.comp on these shapes: subgroup shuffles, a
// subgroup size dividing the workgroup, input and weights within maxTexelBufferElements (the
// encoder also needs their offsets aligned to minTexelBufferOffsetAlignment).
bool subgroup_conv_fits(const gpu::Device& device, const Conv2dParams& params, const Shape& input);

// Loop iterations one invocation of `algorithm`'s kernel runs at most, as the device's loop
// limiter counts them (gpu::DeviceInfo::loop_iteration_limit). direct and subgroup walk every
// input channel of the group and its taps: measured on lavapipe, 3 + 2*KH + KH*KW per channel
// (a 1x1 conv 6, 3x3 18, 5x5 38), so a 1x1 conv over more than ~10900 channels is too long
// there; subgroup's pointwise path (conv2d_pointwise) costs about 3 per 4 channels; gemm walks
// the reduction in steps of tile.bk (3 per step, the same bound). `automatic`
// is not an algorithm here: resolve it first.
// A 1x1 conv without padding: conv2d_subgroup.comp's POINTWISE path (no tap loops, channels
// unrolled by 4; the same sums as the general path).
bool conv2d_pointwise(const Conv2dParams& params);

std::uint64_t conv2d_loop_iterations(ConvAlgorithm algorithm, const Conv2dParams& params, ConvGemmTile gemm_tile);

ConvGemmTile conv2d_default_gemm_tile(const gpu::Device& device);
ConvSubgroupTile conv2d_default_subgroup_tile(const gpu::Device& device);

// conv2d_winograd.comp's work per lane: `channels` output channels (a multiple of the subgroup
// size) x `tiles` consecutive output tiles of edge `edge` (2 or 4: winograd_tile).
struct ConvWinogradTile {
  std::uint32_t channels = 0, tiles = 0;
};
ConvWinogradTile conv2d_default_winograd_tile(const gpu::Device& device, int edge);

// 8 on a CPU Vulkan driver (lavapipe: 2.3x faster than 1 on BlazeFace back, 2.1x on PP-OCRv4
// det; 16 was slower again), 4 on a GPU (unmeasured: no GPU was at hand when it was chosen; 4 keeps
// a 3x8x4 accumulator set, 96 registers, within what GPUs hold without spilling).
std::uint32_t conv2d_default_pixels_per_invocation(const gpu::Device& device);

}  // namespace fusescope::ops
