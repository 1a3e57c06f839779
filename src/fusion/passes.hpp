// Fusion passes: each rewrites a Graph in place and reports what it changed. They compose;
// fuse_all runs them in the order that lets each find the patterns the previous one leaves:
//   reparameterize_repvgg -> fold_batchnorm -> fold_affine_into_conv -> fold_into_conv_transpose
//   -> fold_standalone_batchnorm
//   -> fuse_residual_add -> fuse_hard_swish_pattern -> fuse_gelu_pattern -> fuse_layer_norm_pattern
//   -> fold_bias_into_gemm
//   -> fuse_activation -> fuse_post_activation_affine
// Every rewritten node keeps provenance (the original nodes it computes) and its output keeps
// the name of the original value it stands for, so fused tensors join the reference by name.
#pragma once
#include "fusion/fold_batchnorm.hpp"
#include "fusion/fusion_report.hpp"
#include "graph/graph.hpp"

namespace fusescope::fusion {

// conv -> BN (conv output read by nothing else): BN folded into the conv's weights and bias;
// a BN activation (Paddle's batch_norm(act=...)) moves into the conv epilogue.
FusionReport fold_batchnorm(graph::Graph& g, FoldPrecision precision = FoldPrecision::float64);

// conv -> BN (conv output read by nothing else): the BN is applied in the conv's epilogue from
// its raw statistics (weights untouched), its activation too. Bit-identical to the unfused pair.
FusionReport fuse_batchnorm_into_epilogue(graph::Graph& g);

// conv -> Mul/Div by and/or Add/Sub of constants, one scalar or one value per output channel
// each (Paddle2ONNX's LearnableAffineBlock, MobileOne's scalar branch weights): folded into the
// conv's weights and bias in float64, like a BatchNorm.
FusionReport fold_affine_into_conv(graph::Graph& g);

// A ConvTranspose followed by a constant per-channel Add (its bias, as Paddle2ONNX exports it)
// and/or an inference BN: both fold into its bias and weights, the BN per *output* channel
// (weight[c, o, :, :] *= s[g * OCg + o] for the [C, OC/groups, KH, KW] layout), in float64.
FusionReport fold_into_conv_transpose(graph::Graph& g);

// A 4-D BN with no conv to fold into becomes a per-channel scale-shift: a depthwise 1x1 conv
// with weight s = gamma/sqrt(var+eps) and bias beta - mean*s (its activation in the epilogue).
FusionReport fold_standalone_batchnorm(graph::Graph& g);

// x * Clip(x + 3, 0, 6) / 6 (or * 1/6), hardswish as Paddle2ONNX writes it in four nodes, and
// x * HardSigmoid(x; 1/6, 1/2) as torch.onnx.export writes it below opset 14: one hard_swish
// activation node, which fuse_activation can then put in a conv epilogue.
FusionReport fuse_hard_swish_pattern(graph::Graph& g);

// gemm [-> reshape] -> Add of a constant [N] (nn.Linear on an N-D activation as torch exports
// it: MatMul, then Add of the bias): the bias moves into the gemm's epilogue, same bits.
FusionReport fold_bias_into_gemm(graph::Graph& g);

// x * (1 + Erf(x / sqrt 2)) * 0.5 (PyTorch's exact GELU as exported, or as fusescope exports it):
// one gelu activation node, which fuse_activation can then put in a conv epilogue.
FusionReport fuse_gelu_pattern(graph::Graph& g);

// ReduceMean / Sub / Pow 2 / ReduceMean / Add eps / Sqrt / Div [/ Mul gamma / Add beta] over one
// axis (nn.LayerNorm exported below opset 17): one layer_norm node, one dispatch.
FusionReport fuse_layer_norm_pattern(graph::Graph& g);

// activation after a conv (or a BN) whose output nothing else reads: into its epilogue.
FusionReport fuse_activation(graph::Graph& g);

// hard_swish (in a conv or BN epilogue, or an activation node) then Mul by and/or Add of scalar
// constants (PP-LCNetV3's LearnableAffineBlock): the activation becomes hard_swish_affine(s, t)
// and the Mul and Add nodes go. A Mul after the Add, or a second Mul, stays a node.
FusionReport fuse_post_activation_affine(graph::Graph& g);

// add(conv(x), r) of equal shapes: r becomes the conv's residual input, and a ReLU (or any
// activation) right after the add joins the epilogue too — the ResNet block tail.
FusionReport fuse_residual_add(graph::Graph& g);

// RepVGG / PP-YOLOE RepVggBlock: a sum of BN(conv3x3(x)), BN(conv1x1(x)) (optionally times a
// scalar alpha) and BN(x) becomes one 3x3 conv: each branch's BN folds (float64), the 1x1
// kernel is zero-padded to 3x3 at the centre, the identity is a 3x3 kernel with 1 at the
// centre of channel i in output i (per group), alpha scales its branch, kernels and biases add.
FusionReport reparameterize_repvgg(graph::Graph& g);

// What reparameterize_repvgg would merge, without merging: per block, each branch's kernel with
// its BN folded in (a 1x1 at the centre of a 3x3, the identity as 1 at the centre of its own
// channel, alpha applied), in float64 — the merged kernel is their sum. For looking at (the
// window's fusion panel), not for computing.
struct RepvggBranchKernel {
  std::string label;           // "3x3: conv + bn", "1x1: … x alpha 0.5", "identity: bn"
  std::vector<double> kernel;  // [out_channels, in_channels_per_group, 3, 3]
  std::vector<double> bias;    // [out_channels]
};
struct RepvggBlockKernels {
  std::string node;  // the conv the block becomes (its dense 3x3 conv's name)
  std::int64_t out_channels = 0, in_channels_per_group = 0;
  std::vector<RepvggBranchKernel> branches;
};
std::vector<RepvggBlockKernels> repvgg_block_kernels(const graph::Graph& unfused);

// All of the above, like torch's fuse_conv_bn_eval over a whole model plus the rest.
FusionReport fuse_all(graph::Graph& g, FoldPrecision precision = FoldPrecision::float64);

// --fuse runtime: BN, residual adds and activations into conv epilogues, nothing folded into
// weights, so every number is computed exactly as in the unfused network (the control group).
FusionReport fuse_at_run_time(graph::Graph& g);

// Only the BatchNorm folds (--fuse bn).
FusionReport fuse_batchnorm_only(graph::Graph& g, FoldPrecision precision = FoldPrecision::float64);

}  // namespace fusescope::fusion
