// fuse_post_activation_affine: hard_swish then a scalar Mul and/or Add (PP-LCNetV3's
// LearnableAffineBlock after its activation, as Paddle2ONNX writes PP-OCRv4) becomes the
// epilogue activation hard_swish_affine(s, t); what would round differently (a second scale, a
// scale after the shift), a per-channel constant, another activation, or an intermediate someone
// else reads stays a node.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "graph/oracle_runner.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct Step {
  ops::BinaryOp op;
  ops::Shape constant_shape = {1};
  bool constant_first = false;
};

// conv (3 -> 6, 3x3) -> activation node -> steps, each with a seeded constant in +-[0.5, 2).
graph::Graph chain(const std::vector<Step>& steps, ops::Activation act = ops::Activation::hard_swish(),
                   bool activation_is_output = false) {
  graph::Graph g("post_activation_affine");
  std::mt19937 rng(17);
  const graph::ValueId x = g.add_input("x", {1, 3, 9, 10});
  const ops::Conv2dParams p = conv_params(3, 6, 3, 1, 1, 1, 1, true);
  const graph::ValueId w = g.add_constant("w", ops::conv2d_weight_shape(p), random_values(rng, 6 * 27, -0.7f, 0.7f));
  const graph::ValueId b = g.add_constant("b", {6}, random_values(rng, 6));
  graph::ValueId y = g.add_node("conv", "", graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic},
                                {x, w, b, graph::kNoValue, graph::kNoValue});
  y = g.add_node("act", "", graph::ActivationAttrs{act}, {y});
  if (activation_is_output) g.mark_output(y);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::vector<float> k = random_values(rng, ops::numel(steps[i].constant_shape), 0.5f, 2.0f);
    if (i % 2 == 1) k[0] = -k[0];
    const graph::ValueId c = g.add_constant(fmt::format("k{}", i), steps[i].constant_shape, std::move(k));
    y = g.add_node(fmt::format("step{}", i), "", graph::BinaryAttrs{steps[i].op},
                   steps[i].constant_first ? std::vector{c, y} : std::vector{y, c});
  }
  g.mark_output(y);
  return g;
}

const ops::Activation& conv_activation(const graph::Graph& g) {
  return g.nodes()[0].as<graph::ConvAttrs>()->epilogue.activation;
}

}  // namespace

TEST_CASE("fuse_post_activation_affine: hard_swish then scalar Mul and Add joins the conv epilogue", "[fusion]") {
  using ops::BinaryOp;
  struct Case {
    const char* name;
    std::vector<Step> steps;
    float alpha, beta;  // what the activation reads, from the seeded constants
  };
  const graph::Graph probe = chain({{BinaryOp::mul}, {BinaryOp::add}});
  const float s = probe.value(probe.find_value("k0")).data[0];
  const float t = probe.value(probe.find_value("k1")).data[0];
  const std::vector<Case> cases = {
      {"LearnableAffineBlock: * s, + t", {{BinaryOp::mul}, {BinaryOp::add}}, s, t},
      {"constants first, rank 0", {{BinaryOp::mul, {}, true}, {BinaryOp::add, {}, true}}, s, t},
      {"only the scale", {{BinaryOp::mul}}, s, 0.0f},
      {"only the shift", {{BinaryOp::add}}, 1.0f, s}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const graph::Graph g = chain(c.steps);
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fuse_all(f);
      CHECK(report.count("fuse_post_activation_affine") == c.steps.size());
      REQUIRE(f.nodes().size() == 1);
      CHECK(conv_activation(f).kind == ops::ActivationKind::hard_swish_affine);
      CHECK(conv_activation(f).alpha == c.alpha);
      CHECK(conv_activation(f).beta == c.beta);
      std::vector<std::string> provenance{"conv", "act"};
      for (std::size_t i = 0; i < c.steps.size(); ++i) provenance.push_back(fmt::format("step{}", i));
      CHECK(f.nodes()[0].provenance == provenance);
      CHECK(f.value(f.nodes()[0].output).name == g.value(g.outputs()[0]).name);

      // Against the unfused graph's float64 oracle: the same roundings as the four kernels it
      // replaces (a product, then a sum), a few ulp; a lost shift or a scale applied to the
      // shift is O(0.1) off.
      std::mt19937 rng(4);
      const std::vector<float> x = random_values(rng, 3 * 9 * 10);
      graph::Graph reference = g;
      const auto oracle = graph::run_oracle(reference, {{"x", x}});
      const std::string out = g.value(g.outputs()[0]).name;
      require_close("fuse_post_activation_affine", c.name, run_graph(f, x), oracle.at(out), 1e-6, 1e-6);
    }
  }
}

TEST_CASE("fuse_post_activation_affine leaves what would round differently or is not the pattern", "[fusion]") {
  using ops::BinaryOp;
  struct Case {
    const char* name;
    graph::Graph g;
    std::size_t nodes_after;  // after fuse_all: the conv plus the steps that stay
  };
  const std::vector<Case> cases = {
      {"a second scale stays", chain({{BinaryOp::mul}, {BinaryOp::mul}}), 2},
      {"a scale after the shift stays", chain({{BinaryOp::add}, {BinaryOp::mul}}), 2},
      {"a per-channel constant stays", chain({{BinaryOp::mul, {1, 6, 1, 1}}}), 2},
      {"after relu: not the pattern", chain({{BinaryOp::mul}}, ops::Activation::relu()), 2},
      {"the activation's output is read outside", chain({{BinaryOp::mul}}, ops::Activation::hard_swish(), true), 2}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      graph::Graph f = c.g;
      fusion::fuse_all(f);
      CHECK(f.nodes().size() == c.nodes_after);
    }
  }
}
