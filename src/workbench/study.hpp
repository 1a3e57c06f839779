// A study: the reference network (unfused), one candidate (fused, folded, fp16 …), the isolated
// "local" run and the float64 oracle, all on one input; then, per layer in the reference's
// order and under the reference's names, how far the candidate drifts from the reference and
// each from the oracle. This is the computation behind `fusescope compare`, the window's compare
// panel and the Python module's .compare(): one computation, three faces.
//
// Provenance makes it a join on names: a fused node's output keeps the name of the original
// value it stands for, so every tensor the candidate still has is compared with its reference
// tensor; intermediates fused away say which fused node swallowed them.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fusion/at_risk.hpp"
#include "fusion/fusion_report.hpp"
#include "graph/executor.hpp"
#include "graph/graph.hpp"
#include "numerics/error_metrics.hpp"
#include "numerics/tensor_comparison.hpp"
#include "reference/host_tensor.hpp"
#include "workbench/candidate.hpp"

namespace fusescope::gpu {
class Device;
class ShaderOverride;
}

namespace fusescope::workbench {

struct StudyOptions {
  Candidate candidate;
  // How the reference runs on the device: `compare` runs both networks at one precision; the
  // window keeps the reference at fp32 so an fp16 candidate shows what fp16 costs.
  graph::ExecutorOptions reference;
  bool oracle = true;  // the float64 CPU oracle (slow on big inputs)
  // 0: each network runs in one queue submission (fastest). Otherwise piece by piece
  // (Executor::step_piece), convolutions split at this many multiply-adds: a queue runs one
  // submission at a time, and the window's frames, on the same queue, must wait behind one
  // short piece at most — not behind a network, nor behind a 100 ms convolution.
  std::uint64_t piece_macs = 0;
  // Called from the thread that runs the study: what it does now and how far it is (0..1).
  graph::Progress progress;
};

struct LayerRow {
  std::string layer;     // the reference value's name
  std::string node;      // the reference node computing it
  std::string op, shape;
  std::string fused_as;  // the candidate node computing it: "name", "name (+2)", "inside name"
  bool fused_present = false;  // the candidate still has this tensor
  // local: the candidate's node fed the reference's own inputs (its own error only);
  // end to end: both networks run through (every earlier layer's drift included).
  numerics::ErrorStats local, fused_vs_unfused, unfused_vs_oracle, fused_vs_oracle;
};

struct StudyReport {
  std::string model, device;
  ops::Shape input_shape;
  Candidate candidate;
  ops::Precision reference_precision = ops::Precision::fp32;
  ops::ConvAlgorithm reference_algorithm = ops::ConvAlgorithm::automatic;
  bool reference_autotune = false;  // --autotune: each conv's algorithm measured (both networks)
  fusion::FusionReport fusion;
  bool has_oracle = false;
  double oracle_seconds = 0;
  std::vector<LayerRow> layers;  // every reference node, in order
  std::string output_name;
  ops::Shape output_shape;
  numerics::TensorComparison output;  // candidate vs reference, in detail
  std::optional<numerics::TopKAgreement> topk_vs_unfused, topk_vs_oracle;  // classifiers
  std::string worst_layer, worst_local_layer;  // largest end-to-end / local rel-L2 ("" if none)
  double worst_end_to_end = 0, worst_local = 0;
  std::vector<fusion::AtRiskChannel> at_risk;
};

// One tensor in detail, both ways and against the oracle (what the compare panel shows).
struct LayerDetail {
  std::string layer;
  ops::Shape shape;
  std::optional<numerics::TensorComparison> fused_vs_unfused, unfused_vs_oracle, fused_vs_oracle;
};

class Study {
 public:
  // Builds both graphs' executors (every value tapped). Nothing runs yet.
  Study(gpu::Device& device, graph::Graph reference, std::vector<float> input, StudyOptions options);
  ~Study();
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  // Runs the reference, the candidate, the local run and the oracle; fills report(). The oracle
  // runs once: the reference and its input never change, so a later run() (after an edit) reuses it.
  void run();

  // The candidate's edited kernels (the window's shader sandbox): replaces
  // options().candidate.kernel_overrides and the candidate executor's, all or nothing — on a
  // compile, interface or pipeline error this throws and the study runs as before. run() again
  // to see the edit in report().
  void set_kernel_overrides(std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> overrides);
  // The options the candidate (and its local run) executes with, edits included.
  graph::ExecutorOptions candidate_options() const;

  const StudyReport& report() const { return report_; }
  const StudyOptions& options() const { return options_; }
  const graph::Graph& reference_graph() const { return reference_->graph(); }
  const graph::Graph& candidate_graph() const { return candidate_->graph(); }
  graph::Executor& reference() { return *reference_; }
  graph::Executor& candidate() { return *candidate_; }
  const graph::Executor& reference() const { return *reference_; }
  const graph::Executor& candidate() const { return *candidate_; }
  const std::vector<float>& input() const { return input_; }
  // The oracle's value of a reference tensor, or nullptr (no oracle, or not a reference value).
  const reference::HostTensor* oracle(const std::string& value) const;

  // The candidate's value standing for reference value `layer`, when it has one.
  bool candidate_has(const std::string& layer) const;
  LayerDetail detail(const std::string& layer) const;
  // The same from values already read (NCHW, whole tensors; empty: that network lacks it now),
  // for a caller that needs them anyway: the device is not read twice.
  LayerDetail detail(const std::string& layer, std::span<const float> reference,
                     std::span<const float> candidate) const;

 private:
  gpu::Device& device_;
  StudyOptions options_;
  std::vector<float> input_;
  std::unique_ptr<graph::Executor> reference_, candidate_;
  std::map<std::string, reference::HostTensor> oracle_;
  StudyReport report_;
};

// The report as `compare --json` writes it (and the Python module returns it).
std::string study_json(const StudyReport& report);

}  // namespace fusescope::workbench
