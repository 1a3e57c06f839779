// The workbench: model and input sources, candidates and the study every front end prints.
#include <catch2/catch.hpp>

#include "models/zoo.hpp"
#include "test_support.hpp"
#include "workbench/candidate.hpp"
#include "workbench/kernel_cases.hpp"
#include "workbench/model_source.hpp"
#include "workbench/node_label.hpp"
#include "workbench/study.hpp"

using namespace fusescope;

namespace {

workbench::StudyReport study_of(const std::string& model, const std::string& size, workbench::Candidate c,
                                bool oracle, ops::ConvAlgorithm reference_algorithm = ops::ConvAlgorithm::automatic) {
  workbench::ModelSource src;
  src.model = model;
  src.size = size;
  graph::Graph g = workbench::load_model(src);
  std::vector<float> x = workbench::load_input(src, g);
  workbench::StudyOptions so;
  so.candidate = c;
  so.oracle = oracle;
  so.reference.conv_algorithm = reference_algorithm;
  workbench::Study study(testing::device(), std::move(g), std::move(x), so);
  study.run();
  testing::require_no_validation_messages();
  return study.report();
}

}  // namespace

// Run-time fusion changes no rounding: the BN is applied in the epilogue with the same formula
// as the BatchNorm kernel, the residual added and the activation applied in the same order, so
// every tensor the fused network still has must equal the unfused one bit for bit. Any
// difference is a kernel bug, which is what makes this candidate the control group.
TEST_CASE("workbench: run-time fusion is bit-identical to the unfused network on every zoo model", "[workbench][fusion]") {
  const std::vector<std::pair<std::string, std::string>> models = {
      {"conv_bn_layer", ""}, {"resnet50-keras", "32"}, {"resnet45", "16x32"}, {"repvgg-a0", "32"},
      {"ppyoloe-repvgg-block", "16"}, {"dpn26", ""}};
  for (const auto& [model, size] : models) {
    for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
      INFO(model << " layout " << ops::to_string(layout));
      workbench::Candidate c;
      c.fuse = workbench::FuseMode::runtime;
      c.layout = layout;
      const workbench::StudyReport r = study_of(model, size, c, false);
      CHECK(r.fusion.nodes_after < r.fusion.nodes_before);
      std::size_t compared = 0;
      for (const auto& row : r.layers) {
        if (!row.fused_present) continue;
        ++compared;
        INFO(row.layer);
        REQUIRE(row.fused_vs_unfused.max_abs == 0.0);
        REQUIRE(row.local.max_abs == 0.0);
      }
      CHECK(compared > 0);
      CHECK(r.output.max_abs == 0.0);
    }
  }
}

// The study's numbers: a float64 fold differs from the unfused network (it rounds different
// weights) but both stay close to the oracle; the report's rows follow the reference's order.
TEST_CASE("workbench: a folding study reports drift against the unfused network and the oracle", "[workbench]") {
  workbench::Candidate c;  // fuse all, float64 fold, fp32
  const workbench::StudyReport r = study_of("resnet50-keras", "32", c, true);
  REQUIRE(r.has_oracle);
  REQUIRE(r.layers.size() == 175);
  CHECK(r.layers.front().layer == "conv1_conv");
  CHECK(r.worst_end_to_end > 0);  // folding rounds other weights: never exactly equal end to end
  // fp32 networks of this depth stay within ~1e-5 of float64 (measured ~1e-6); 1e-4 leaves room
  // for lavapipe's summation orders while still catching a wrong fold (which gives ~1e-1).
  const auto& last = r.layers.back();
  CHECK(last.unfused_vs_oracle.rel_l2 < 1e-4);
  CHECK(last.fused_vs_oracle.rel_l2 < 1e-4);
  CHECK(r.output.rel_l2 < 1e-4);
  REQUIRE(r.topk_vs_unfused.has_value());
  const std::string json = workbench::study_json(r);
  CHECK(json.find("\"reference_precision\": \"fp32\"") != std::string::npos);
  CHECK(json.find("\"fuse\": \"all\"") != std::string::npos);
}

TEST_CASE("workbench: candidates by name", "[workbench]") {
  const auto all = workbench::standard_candidates();
  REQUIRE(all.size() == 5 + std::size(ops::kConvAlgorithms));
  CHECK(workbench::find_candidate("fp16").candidate.precision == ops::Precision::fp16);
  CHECK(workbench::find_candidate("runtime-fused").candidate.fuse == workbench::FuseMode::runtime);
  CHECK_THROWS_WITH(workbench::find_candidate("fp8"), Catch::Contains("folded-float64"));
  CHECK_THROWS_WITH(workbench::parse_fuse_mode("sideways"), Catch::Contains("runtime"));
}

// A conv algorithm is one more candidate (issue 11): the unfused network with every conv on one
// algorithm, against the unfused network on another and the oracle. Same algorithm on both sides:
// bit-identical rows (the control). gemm against direct: other summation orders, so some row
// differs (proof the candidate really ran gemm), yet every conv's own error stays within the
// shader suite's fp32 conv tolerance and the output within the deep-network bound used above.
TEST_CASE("workbench: a conv algorithm is a candidate, measured against another and the oracle", "[workbench]") {
  const workbench::Candidate direct = workbench::find_candidate("algorithm-direct").candidate;
  REQUIRE(direct.fuse == workbench::FuseMode::none);
  const workbench::StudyReport same = study_of("resnet45", "16x32", direct, false, ops::ConvAlgorithm::direct);
  for (const auto& row : same.layers) {
    INFO(row.layer);
    REQUIRE(row.fused_present);
    REQUIRE(row.fused_vs_unfused.max_abs == 0.0);
  }

  const workbench::Candidate gemm = workbench::find_candidate("algorithm-gemm").candidate;
  const workbench::StudyReport r = study_of("resnet45", "16x32", gemm, true, ops::ConvAlgorithm::direct);
  REQUIRE(r.has_oracle);
  double worst_difference = 0.0;
  for (const auto& row : r.layers) {
    INFO(row.layer << " " << row.op);
    REQUIRE(row.fused_present);
    worst_difference = std::max(worst_difference, row.fused_vs_unfused.max_abs);
    if (row.op == "conv2d") CHECK(row.local.rel_l2 < workbench::kConv2dRelL2);  // the shader suite's
  }
  CHECK(worst_difference > 0.0);
  CHECK(r.layers.back().fused_vs_oracle.rel_l2 < 1e-4);
  const std::string json = workbench::study_json(r);
  CHECK(json.find("\"algorithm\": \"direct\"") != std::string::npos);
  CHECK(json.find("\"candidate_algorithm\": \"gemm\"") != std::string::npos);
}

TEST_CASE("workbench: a long node name keeps its end, the part that tells nodes apart", "[workbench]") {
  const std::string name = "StatefulPartitionedCall/functional_1/depthwise_conv2d_1/depthwise";
  CHECK(workbench::keep_name_end(name, name.size()) == name);
  CHECK(workbench::keep_name_end(name, 20) == "...onv2d_1/depthwise");
  CHECK(workbench::keep_name_end("conv1", 5) == "conv1");
  CHECK(workbench::keep_name_end("abcdefgh", 0) == "...h");  // never below 4 characters
  // A multi-byte character at the cut is not split.
  CHECK(workbench::keep_name_end("aaaa\xC3\xA9z", 5) == "...z");
}

TEST_CASE("workbench: the scope prefix every scope shares is said once", "[workbench]") {
  using V = std::vector<std::string_view>;
  // A TensorFlow export: every scope under StatefulPartitionedCall/functional_1.
  CHECK(workbench::common_scope_prefix(V{"StatefulPartitionedCall/functional_1/conv2d", "",
                                         "StatefulPartitionedCall/functional_1/re_lu",
                                         "StatefulPartitionedCall/functional_1/conv2d_1"}) ==
        "StatefulPartitionedCall/functional_1/");
  // Whole components: "conv2" and "conv3" share "conv", not a component.
  CHECK(workbench::common_scope_prefix(V{"conv2/block1", "conv3/block1"}).empty());
  CHECK(workbench::common_scope_prefix(V{"layer1/0", "layer1/1", "layer1/2"}) == "layer1/");
  // One scope nested in another: the outer one must not show empty.
  CHECK(workbench::common_scope_prefix(V{"a/b", "a/b/c"}) == "a/");
  // A single scope (or one repeated) is shown as it is.
  CHECK(workbench::common_scope_prefix(V{"stem/conv", "stem/conv"}).empty());
  CHECK(workbench::common_scope_prefix(V{}).empty());
}
