#include "workbench/candidate.hpp"

#include "gpu/shader_override.hpp"

#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "ops/conv2d.hpp"

namespace fusescope::workbench {

FuseMode parse_fuse_mode(const std::string& t) {
  if (t == "none") return FuseMode::none;
  if (t == "bn") return FuseMode::bn;
  if (t == "all") return FuseMode::all;
  if (t == "runtime") return FuseMode::runtime;
  throw ops::InvalidArgument(fmt::format("--fuse {}: expected none, bn, all or runtime", t));
}

const char* to_string(FuseMode m) {
  switch (m) {
    case FuseMode::none: return "none";
    case FuseMode::bn: return "bn";
    case FuseMode::all: return "all";
    case FuseMode::runtime: return "runtime";
  }
  return "?";
}

ops::Precision parse_precision(const std::string& t) {
  if (t == "fp32") return ops::Precision::fp32;
  if (t == "fp16s") return ops::Precision::fp16s;
  if (t == "fp16") return ops::Precision::fp16;
  throw ops::InvalidArgument(fmt::format("--precision {}: expected fp32, fp16s or fp16", t));
}

graph::Layout parse_layout(const std::string& t) {
  if (t == "nchw") return graph::Layout::nchw;
  if (t == "nhwc") return graph::Layout::nhwc;
  throw ops::InvalidArgument(fmt::format("--layout {}: expected nchw or nhwc", t));
}

fusion::FoldPrecision parse_fold_precision(const std::string& t) {
  if (t == "float64") return fusion::FoldPrecision::float64;
  if (t == "float32" || t == "pytorch") return fusion::FoldPrecision::float32_pytorch;
  throw ops::InvalidArgument(fmt::format("--fold {}: expected float64 or float32 (PyTorch's order)", t));
}

graph::ExecutorOptions executor_options(const std::string& precision, const std::string& layout,
                                        const std::string& algorithm) {
  graph::ExecutorOptions eo;
  eo.precision = parse_precision(precision);
  eo.layout = parse_layout(layout);
  eo.conv_algorithm = ops::parse_conv_algorithm(algorithm);
  return eo;
}

std::string Candidate::describe() const {
  const bool folds = fuse == FuseMode::bn || fuse == FuseMode::all;
  std::string overrides;
  for (const auto& [node, source] : kernel_overrides) overrides += fmt::format(", {} <- {}", node, source->file_name());
  return fmt::format("fuse {}{}, {}, {}{}{}", to_string(fuse),
                     folds ? fmt::format(", folded in {}", fusion::to_string(fold)) : "",
                     ops::to_string(precision), ops::to_string(layout),
                     algorithm ? fmt::format(", conv algorithm {}", ops::to_string(*algorithm)) : "", overrides);
}

graph::ExecutorOptions Candidate::executor_options() const {
  graph::ExecutorOptions eo;
  eo.precision = precision;
  eo.layout = layout;
  eo.kernel_overrides = kernel_overrides;
  if (algorithm) eo.conv_algorithm = *algorithm;
  return eo;
}

std::vector<NamedCandidate> standard_candidates(graph::Layout layout) {
  using fusion::FoldPrecision;
  using ops::Precision;
  std::vector<NamedCandidate> all{
      {"folded-float64", "folded, float64", {FuseMode::all, FoldPrecision::float64, Precision::fp32, layout}},
      {"folded-float32", "folded, float32 (PyTorch order)",
       {FuseMode::all, FoldPrecision::float32_pytorch, Precision::fp32, layout}},
      {"runtime-fused", "run-time fused (weights untouched)",
       {FuseMode::runtime, FoldPrecision::float64, Precision::fp32, layout}},
      {"fp16s", "folded, fp16 storage", {FuseMode::all, FoldPrecision::float64, Precision::fp16s, layout}},
      {"fp16", "folded, fp16 arithmetic", {FuseMode::all, FoldPrecision::float64, Precision::fp16, layout}},
  };
  // An algorithm's own cost: the same unfused network, every conv forced onto one algorithm, as
  // --algorithm forces it (depthwise runs kernels above 5x5 as direct; a conv too long for the
  // device's loop limit is refused naming the node).
  for (ops::ConvAlgorithm a : ops::kConvAlgorithms) {
    Candidate c{FuseMode::none, FoldPrecision::float64, Precision::fp32, layout};
    c.algorithm = a;
    all.push_back({fmt::format("algorithm-{}", ops::to_string(a)), fmt::format("unfused, every conv on {}", ops::to_string(a)), c});
  }
  return all;
}

NamedCandidate find_candidate(const std::string& name, graph::Layout layout) {
  std::string names;
  for (const NamedCandidate& c : standard_candidates(layout)) {
    if (c.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  throw ops::InvalidArgument(fmt::format("--candidate {}: expected one of {}", name, names));
}

graph::Graph fused_copy(const graph::Graph& g, FuseMode mode, fusion::FoldPrecision fold,
                        fusion::FusionReport* report) {
  graph::Graph f = g;
  fusion::FusionReport r;
  r.nodes_before = r.nodes_after = g.nodes().size();
  if (mode == FuseMode::bn) r = fusion::fuse_batchnorm_only(f, fold);
  if (mode == FuseMode::all) r = fusion::fuse_all(f, fold);
  if (mode == FuseMode::runtime) r = fusion::fuse_at_run_time(f);
  if (report) *report = r;
  return f;
}

}  // namespace fusescope::workbench
