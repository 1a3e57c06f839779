// A candidate: one way of running a network that a user wants to set against the reference
// (the unfused graph) — which fusion, which folding arithmetic, which device precision and
// activation layout. The CLI's --fuse/--fold/--precision/--layout, the window's candidate
// switch and the Python module's keywords all name the same few choices, parsed here.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusion/fold_batchnorm.hpp"
#include "fusion/fusion_report.hpp"
#include "graph/executor.hpp"
#include "graph/graph.hpp"

namespace fusescope::workbench {

// none: as built; bn: BatchNorms folded into weights; all: every fusion pass (fusion::fuse_all);
// runtime: BN, residual adds and activations moved into conv epilogues without touching a
// weight (bit-identical to none: the control group of every fold).
enum class FuseMode { none, bn, all, runtime };

FuseMode parse_fuse_mode(const std::string& text);  // none | bn | all | runtime
const char* to_string(FuseMode mode);
ops::Precision parse_precision(const std::string& text);  // fp32 | fp16s | fp16
graph::Layout parse_layout(const std::string& text);      // nchw | nhwc
fusion::FoldPrecision parse_fold_precision(const std::string& text);  // float64 | float32

// The executor options three words name (taps left empty): precision fp32 | fp16s | fp16, layout
// nchw | nhwc, algorithm auto | direct | gemm | subgroup | depthwise. Shared by the CLI's
// --precision/--layout/--algorithm and the Python module's keywords, so a bad word gets the same
// message (ops::InvalidArgument naming the flag) from both, before any slow work.
graph::ExecutorOptions executor_options(const std::string& precision, const std::string& layout,
                                        const std::string& algorithm = "auto");

struct Candidate {
  FuseMode fuse = FuseMode::all;
  fusion::FoldPrecision fold = fusion::FoldPrecision::float64;
  ops::Precision precision = ops::Precision::fp32;
  graph::Layout layout = graph::Layout::nchw;
  // The conv algorithm of every conv in the candidate; unset: the reference's (--algorithm). Set,
  // with fuse none, the study measures that algorithm's numerical cost alone — one more
  // candidate beside fusion's (issue 11).
  std::optional<ops::ConvAlgorithm> algorithm;
  // Nodes (of the fused graph) that run a user's kernel instead of the built-in one (the shader
  // sandbox; graph::ExecutorOptions::kernel_overrides). The reference never does: it is what an
  // edit is measured against.
  std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> kernel_overrides;

  // "fuse all, folded in float64, fp32, nchw"
  std::string describe() const;
  // The executor options (taps empty) that run this candidate.
  graph::ExecutorOptions executor_options() const;
};

// The candidates the window offers by name, in the order it lists them: "folded-float64",
// "folded-float32" (PyTorch's fold order), "runtime-fused", "fp16s", "fp16" (both folded in
// float64), then one per conv algorithm, unfused: "algorithm-direct", "algorithm-gemm",
// "algorithm-subgroup", "algorithm-depthwise", "algorithm-winograd", "algorithm-winograd4".
// `layout` applies to all of them.
struct NamedCandidate {
  std::string name;   // what --candidate takes
  std::string label;  // what the window shows
  Candidate candidate;
};
std::vector<NamedCandidate> standard_candidates(graph::Layout layout = graph::Layout::nchw);
// The standard candidate called `name`; throws ops::InvalidArgument listing the names.
NamedCandidate find_candidate(const std::string& name, graph::Layout layout = graph::Layout::nchw);

// A copy of `g` fused by `mode`.
graph::Graph fused_copy(const graph::Graph& g, FuseMode mode, fusion::FoldPrecision fold,
                        fusion::FusionReport* report = nullptr);

}  // namespace fusescope::workbench
