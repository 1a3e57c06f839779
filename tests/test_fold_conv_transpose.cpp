// fold_into_conv_transpose: a ConvTranspose followed by a constant per-channel Add (the bias as
// Paddle2ONNX exports it) and a BatchNorm becomes one ConvTranspose whose weights carry the BN
// scale per *output* channel. The folded graph, run on the device, must compute what the
// unfolded graph's float64 oracle computes; the structure and provenance must say what
// happened; and patterns that must not fold (a BN with an activation, an Add that is not per
// channel, a value read twice) stay as they are.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct Built {
  graph::Graph g;
  std::string output;
};

// x [2, C, 5, 6] -> ConvTranspose k3 s2 p1 op1 (groups) -> Add(per-channel constant) -> BN.
Built build(std::int64_t c, std::int64_t oc, std::int64_t groups, bool conv_bias, const ops::Shape& add_shape,
            std::uint32_t seed) {
  std::mt19937 rng(seed);
  graph::Graph g("deconv_bn");
  const graph::ValueId x = g.add_input("x", {2, c, 5, 6});
  ops::ConvTranspose2dParams p;
  p.in_channels = c;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  p.output_padding_h = p.output_padding_w = 1;
  p.groups = groups;
  p.has_bias = conv_bias;
  const ops::Shape w_shape = ops::conv_transpose2d_weight_shape(p);
  const graph::ValueId w = g.add_constant("w", w_shape, random_values(rng, ops::numel(w_shape), -0.3f, 0.3f));
  const graph::ValueId b = conv_bias ? g.add_constant("b", {oc}, random_values(rng, oc, -0.2f, 0.2f)) : graph::kNoValue;
  graph::ValueId y = g.add_node("deconv", "", graph::ConvTransposeAttrs{p}, {x, w, b});
  if (!add_shape.empty()) {
    const graph::ValueId k = g.add_constant("add_bias", add_shape, random_values(rng, ops::numel(add_shape), -0.5f, 0.5f));
    y = g.add_node("bias_add", "", graph::BinaryAttrs{ops::BinaryOp::add}, {y, k});
  }
  // BN statistics with a spread of scales gamma / sqrt(var + eps) from ~0.3 to ~3.
  std::vector<float> stats = random_values(rng, oc, 0.5f, 1.5f);                     // gamma
  for (float v : random_values(rng, oc, -0.3f, 0.3f)) stats.push_back(v);           // beta
  for (float v : random_values(rng, oc, -0.2f, 0.2f)) stats.push_back(v);           // mean
  for (float v : random_values(rng, oc, 0.1f, 2.5f)) stats.push_back(v);            // var
  const graph::ValueId st = g.add_constant("bn.stats", {4, oc}, std::move(stats));
  y = g.add_node("bn", "", graph::BatchNormAttrs{{oc, 1e-5f}, {}}, {y, st});
  g.mark_output(y);
  return {std::move(g), "bn"};
}

// The folded weights and bias are rounded once from float64 (2^-24 relative each), then the
// device sums at most 4 * 9 = 36 products in fp32: a few 2^-24 of the output's scale. 1e-5 as
// for conv2d; folding the scale onto the wrong axis (input instead of output channel) or missing
// the Add errs by O(0.1..1).
constexpr double kFoldedRelL2 = 1e-5;

void check_matches_oracle(const Built& b, const graph::Graph& fused, std::uint32_t seed, const std::string& what) {
  std::mt19937 rng(seed);
  const graph::Value& in = b.g.value(b.g.inputs()[0]);
  const std::vector<float> x = random_values(rng, ops::numel(in.shape));
  graph::Graph reference = b.g;
  const auto oracle = graph::run_oracle(reference, {{in.name, x}});
  graph::Executor exec(device(), fused);
  exec.set_input(x);
  exec.run();
  require_close("fold_into_conv_transpose", what, exec.read(b.output), oracle.at(b.output), kFoldedRelL2,
                kFoldedRelL2);
}

}  // namespace

TEST_CASE("ConvTranspose + bias Add + BN fold into one ConvTranspose matching the oracle", "[fusion]") {
  struct Case {
    const char* name;
    std::int64_t c, oc, groups;
    bool conv_bias;
    ops::Shape add_shape;
    std::size_t expect_changes;
  };
  const std::vector<Case> cases{
      {"PP-OCR neck: no conv bias, Add [1, OC, 1, 1], BN", 4, 6, 1, false, {1, 6, 1, 1}, 2},
      {"conv bias, Add [OC, 1, 1], BN, groups 2", 4, 6, 2, true, {6, 1, 1}, 2},
      {"scalar Add [1], depthwise (groups = channels)", 5, 5, 5, false, {1}, 2},
      {"BN directly after the ConvTranspose, groups 2 with 3 outputs per group", 4, 6, 2, true, {}, 1},
  };
  std::uint32_t seed = 52000;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const Built b = build(c.c, c.oc, c.groups, c.conv_bias, c.add_shape, seed);
      graph::Graph fused = b.g;
      const fusion::FusionReport report = fusion::fuse_all(fused);
      CHECK(report.count("fold_batchnorm_into_conv_transpose") == 1);
      CHECK(report.count("fold_bias_into_conv_transpose") == c.expect_changes - 1);
      REQUIRE(fused.nodes().size() == 1);
      const graph::Node& n = fused.nodes()[0];
      REQUIRE(n.as<graph::ConvTransposeAttrs>() != nullptr);
      CHECK(n.as<graph::ConvTransposeAttrs>()->params.has_bias);
      // The folded node computes all the original nodes and keeps the output's name.
      CHECK(n.provenance.size() == c.expect_changes + 1);
      CHECK(fused.value(n.output).name == b.output);
      check_matches_oracle(b, fused, seed + 100, c.name);
    }
    ++seed;
  }
}

TEST_CASE("fold_into_conv_transpose leaves what it must not fold", "[fusion]") {
  SECTION("an Add that varies over space is not a bias") {
    const Built b = build(4, 6, 1, false, {6, 10, 12}, 53000);
    graph::Graph fused = b.g;
    const fusion::FusionReport report = fusion::fold_into_conv_transpose(fused);
    CHECK(report.changes.empty());
    CHECK(fused.nodes().size() == 3);
  }
  SECTION("a BN with an activation stays (a ConvTranspose has no epilogue)") {
    Built b = build(4, 6, 1, false, {}, 53001);
    b.g.nodes().back().as<graph::BatchNormAttrs>()->activation = ops::Activation::relu();
    graph::Graph fused = b.g;
    const fusion::FusionReport report = fusion::fold_into_conv_transpose(fused);
    CHECK(report.changes.empty());
    CHECK(fused.nodes().size() == 2);
  }
  SECTION("an intermediate that is also a graph output is kept") {
    Built b = build(4, 6, 1, false, {}, 53002);
    b.g.mark_output(b.g.require_value("deconv"));
    graph::Graph fused = b.g;
    const fusion::FusionReport report = fusion::fold_into_conv_transpose(fused);
    CHECK(report.changes.empty());
    CHECK(fused.nodes().size() == 2);
  }
}
