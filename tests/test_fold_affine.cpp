// fold_affine_into_conv: constant scales and shifts after a conv (PP-LCNetV3's
// LearnableAffineBlock as Paddle2ONNX writes it: Mul(conv, s), Add(., t)) fold into the conv's
// weights and bias; what does not commute with that (k - y, k / y, a broadcast that grows the
// tensor, an intermediate someone else reads, a conv with an activation epilogue) stays.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct Step {
  ops::BinaryOp op;
  ops::Shape constant_shape;  // {} or {1}: a scalar; {C,1,1} / {1,C,1,1}: per channel
  bool constant_first = false;
};

constexpr std::int64_t kC = 6;

// conv (3 -> 6, 3x3, with or without bias) followed by `steps`, each with a seeded constant.
graph::Graph affine_graph(const std::vector<Step>& steps, bool conv_bias, bool relu_in_epilogue = false) {
  graph::Graph g("affine_chain");
  std::mt19937 rng(91);
  const graph::ValueId x = g.add_input("x", {1, 3, 7, 8});
  ops::Conv2dParams p = conv_params(3, kC, 3, 1, 1, 1, 1, conv_bias);
  const graph::ValueId w = g.add_constant("w", ops::conv2d_weight_shape(p), random_values(rng, kC * 27, -0.5f, 0.5f));
  const graph::ValueId b = conv_bias ? g.add_constant("b", {kC}, random_values(rng, kC)) : graph::kNoValue;
  graph::ConvAttrs attrs{p, {}, graph::ConvAlgorithm::automatic};
  if (relu_in_epilogue) attrs.epilogue.activation = ops::Activation::relu();
  graph::ValueId y = g.add_node("conv", "", attrs, {x, w, b, graph::kNoValue, graph::kNoValue});
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    // Magnitudes in [0.5, 2) with either sign, so a division never meets a tiny divisor.
    std::vector<float> k = random_values(rng, ops::numel(s.constant_shape), 0.5f, 2.0f);
    for (float& v : k) v = std::uniform_int_distribution<int>(0, 1)(rng) ? v : -v;
    const graph::ValueId c = g.add_constant(fmt::format("k{}", i), s.constant_shape, std::move(k));
    y = g.add_node(fmt::format("step{}", i), "", graph::BinaryAttrs{s.op},
                   s.constant_first ? std::vector{c, y} : std::vector{y, c});
  }
  g.mark_output(y);
  return g;
}


}  // namespace

TEST_CASE("fold_affine_into_conv folds constant scales and shifts into weights and bias", "[fusion]") {
  using ops::BinaryOp;
  struct Case {
    const char* name;
    std::vector<Step> steps;
    bool bias;
  };
  const std::vector<Case> cases = {
      {"LearnableAffineBlock: * scalar, + scalar", {{BinaryOp::mul, {1}}, {BinaryOp::add, {1}}}, true},
      {"scalar first, rank 0, no conv bias", {{BinaryOp::mul, {}, true}, {BinaryOp::add, {}, true}}, false},
      {"per channel [1,C,1,1] scale, [C,1,1] shift", {{BinaryOp::mul, {1, kC, 1, 1}}, {BinaryOp::add, {kC, 1, 1}}}, true},
      {"/ k then - k", {{BinaryOp::div, {1}}, {BinaryOp::sub, {kC, 1, 1}}}, true},
      {"three steps", {{BinaryOp::add, {1}}, {BinaryOp::mul, {kC, 1, 1}}, {BinaryOp::add, {1}}}, false}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const graph::Graph g = affine_graph(c.steps, c.bias);
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fold_affine_into_conv(f);
      CHECK(report.count("fold_affine_into_conv") == c.steps.size());
      REQUIRE(f.nodes().size() == 1);
      std::vector<std::string> provenance{"conv"};
      for (std::size_t i = 0; i < c.steps.size(); ++i) provenance.push_back(fmt::format("step{}", i));
      CHECK(f.nodes()[0].provenance == provenance);
      CHECK(f.value(f.nodes()[0].output).name == g.value(g.outputs()[0]).name);

      // The folded conv against the unfused graph's float64 oracle: the fold rounds each weight
      // once more (2^-24 relative), far inside 1e-6; a wrong scale or a shift applied before the
      // scale is O(0.1) off.
      std::mt19937 rng(3);
      const std::vector<float> x = random_values(rng, 3 * 7 * 8);
      graph::Graph reference = g;
      const auto oracle = graph::run_oracle(reference, {{"x", x}});
      const std::string out = g.value(g.outputs()[0]).name;
      require_close("fold_affine_into_conv", c.name, run_graph(f, x), oracle.at(out), 1e-6, 1e-6);
      require_close("fold_affine_into_conv", std::string(c.name) + " (unfused)", run_graph(g, x), oracle.at(out), 1e-6, 1e-6);
    }
  }
}

TEST_CASE("fold_affine_into_conv leaves what does not commute with the conv", "[fusion]") {
  using ops::BinaryOp;
  struct Case {
    const char* name;
    std::vector<Step> steps;
    bool relu = false;
  };
  const std::vector<Case> cases = {
      {"k - y", {{BinaryOp::sub, {1}, true}}},
      {"k / y", {{BinaryOp::div, {1}, true}}},
      {"y ^ k", {{BinaryOp::pow, {1}}}},
      {"per-row constant [1,1,7,1]", {{BinaryOp::mul, {1, 1, 7, 1}}}},
      {"broadcast grows the tensor [2,C,1,1]", {{BinaryOp::add, {2, kC, 1, 1}}}},
      {"conv with a relu epilogue", {{BinaryOp::mul, {1}}}, true}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      graph::Graph f = affine_graph(c.steps, true, c.relu);
      CHECK(fusion::fold_affine_into_conv(f).changes.empty());
      CHECK(f.nodes().size() == 1 + c.steps.size());
    }
  }
}
