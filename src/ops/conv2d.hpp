// 2-D convolution, NCHW, weights OIHW ([out_channels, in_channels/groups, kh, kw]), with an
// epilogue that can add a bias, apply BatchNorm from its raw statistics (run-time fusion), add a
// residual tensor and apply an activation — all in the one dispatch.
#pragma once
#include <cstdint>
#include <string>

#include "ops/activation.hpp"
#include "ops/shape.hpp"

namespace fusescope::ops {

// How a convolution is computed; every algorithm takes the same parameters and epilogue.
//   direct: conv2d.comp, a few output channels x a few pixels per invocation, read straight from
//           the tensors; the only one with every group shape at full speed (depthwise).
//   gemm:   conv2d_gemm.comp, implicit GEMM on shared-memory tiles; 1x1 convs are plain GEMMs.
//   subgroup: conv2d_subgroup.comp, direct, but the lanes of a subgroup share a block of 32
//           output channels and each weight is loaded once per subgroup and shuffled to the
//           lanes; needs subgroup shuffles (every Vulkan 1.1 GPU and lavapipe have them).
//   depthwise: conv2d.comp with the kernel's height and width fixed at pipeline creation (up to
//           5x5), so its tap loops unroll: for depthwise and thin grouped convs, whose work is
//           all taps, with x and w read as texel buffers (its `texel` variants; direct's bits).
//           Runs any conv; a larger kernel runs as direct. (direct itself stays the kernel every
//           speed-up is measured against.)
//   winograd: conv2d_winograd.comp, Winograd F(2x2,3x3) for 3x3 convs of stride 1 and
//           dilation 1: 16 multiply-adds per input channel for 4 outputs instead of 36, on
//           weights transformed once at load (ops/winograd.hpp; the caller passes them as
//           Conv2dOperands::winograd_weight). Less exact than the others (more roundings per
//           output): the shader suite states by how much. Subgroup lanes share weights as in
//           `subgroup`. A conv it cannot compute is refused by the encoder; the executor runs
//           such a conv on `automatic`'s choice when winograd is forced for every conv.
//   winograd4: the same kernel with Winograd F(4x4,3x3): 36 multiply-adds per input channel for
//           16 outputs (4x fewer than direct's 144, 1.78x fewer than F(2x2)'s 64), on 6x6
//           transformed weights, with larger transform coefficients (up to 8) and so more
//           rounding than F(2x2); fp32 only (the shader suite says why and by how much), and
//           never `automatic`'s pick (the README's conv algorithm section says why).
//   automatic: the encoder picks one per shape (choose_conv_algorithm in ops/conv2d_gpu.hpp).
enum class ConvAlgorithm { automatic, direct, gemm, subgroup, depthwise, winograd, winograd4 };

// Every algorithm `automatic` can pick, for tables that run each (tests, `bench --algorithms`).
inline constexpr ConvAlgorithm kConvAlgorithms[] = {ConvAlgorithm::direct, ConvAlgorithm::gemm,
                                                    ConvAlgorithm::subgroup, ConvAlgorithm::depthwise,
                                                    ConvAlgorithm::winograd, ConvAlgorithm::winograd4};

const char* to_string(ConvAlgorithm a);
// "auto" | "automatic" | "direct" | "gemm" | "subgroup" | "depthwise" | "winograd" | "winograd4"; throws InvalidArgument naming the choices.
ConvAlgorithm parse_conv_algorithm(const std::string& text);

struct Conv2dParams {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;
  bool has_bias = false;
};

// BatchNorm in inference form; shared by the standalone BN op and the conv epilogue.
struct BatchNormParams {
  std::int64_t channels = 0;
  float epsilon = 1e-5f;
};

// What the conv epilogue does after the accumulation, in this order:
//   y = acc (+ bias) -> BN(y) from raw stats -> (+ residual) -> activation
struct ConvEpilogue {
  bool batchnorm = false;  // BN statistics bound; uses `bn` for epsilon
  BatchNormParams bn;
  bool residual = false;   // a tensor of the output's shape is added before the activation
  Activation activation;
};

Shape conv2d_weight_shape(const Conv2dParams& p);
// Validates p against the input shape and returns the output shape; throws InvalidArgument
// naming `name` (the node), the parameter and what was expected.
Shape conv2d_output_shape(const Conv2dParams& p, const Shape& input, const std::string& name = "conv2d");

}  // namespace fusescope::ops
