// The fusion modes users pick (--fuse bn, --fuse all, --fuse runtime): which passes run, in which order.
// The order matters: each pass finds the patterns the previous ones leave (see passes.hpp).
#include "fusion/passes.hpp"

namespace fusescope::fusion {

FusionReport fuse_batchnorm_only(graph::Graph& g, FoldPrecision precision) {
  FusionReport report = fold_batchnorm(g, precision);
  const std::size_t before = report.nodes_before;
  report.append(fold_into_conv_transpose(g));
  report.append(fold_standalone_batchnorm(g));
  report.nodes_before = before;
  report.nodes_after = g.nodes().size();
  return report;
}

FusionReport fuse_all(graph::Graph& g, FoldPrecision precision) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  report.append(reparameterize_repvgg(g));
  report.append(fold_batchnorm(g, precision));
  report.append(fold_affine_into_conv(g));
  report.append(fold_into_conv_transpose(g));
  report.append(fold_standalone_batchnorm(g));
  report.append(fuse_residual_add(g));
  report.append(fuse_hard_swish_pattern(g));
  report.append(fuse_gelu_pattern(g));
  report.append(fuse_layer_norm_pattern(g));
  report.append(fold_bias_into_gemm(g));
  report.append(fuse_activation(g));
  report.append(fuse_post_activation_affine(g));
  report.nodes_after = g.nodes().size();
  return report;
}

FusionReport fuse_at_run_time(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  report.append(fuse_batchnorm_into_epilogue(g));
  report.append(fuse_residual_add(g));
  report.append(fuse_activation(g));
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
