// fuse_hard_swish_pattern: the four-node hardswish Paddle2ONNX writes,
// x * Clip(x + 3, 0, 6) / 6, becomes one hard_swish node (and then part of the conv epilogue
// under fuse_all); chains that differ in any constant, or whose intermediates someone else
// reads, stay as they are.
#include <catch2/catch.hpp>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct Chain {
  float add = 3.0f, clip_hi = 6.0f, scale = 6.0f;
  bool multiply_by_inverse = false;  // m * (1/6) instead of m / 6
  bool constant_first = false;       // 3 + x instead of x + 3
  bool extra_reader = false;         // the Add's output is a graph output too
};

// conv (4 -> 8, 3x3) -> hardswish chain -> relu, on a 1x4x9x11 input.
graph::Graph chain_graph(const Chain& c) {
  graph::Graph g("hardswish_chain");
  std::mt19937 rng(77);
  const graph::ValueId x = g.add_input("x", {1, 4, 9, 11});
  const ops::Conv2dParams p = conv_params(4, 8, 3, 1, 1);
  const graph::ValueId w = g.add_constant("w", ops::conv2d_weight_shape(p), random_values(rng, 8 * 4 * 9, -0.5f, 0.5f));
  const graph::ValueId b = g.add_constant("b", {8}, random_values(rng, 8, -1.0f, 1.0f));
  const graph::ValueId conv = g.add_node("conv", "", graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic},
                                         {x, w, b, graph::kNoValue, graph::kNoValue});
  const graph::ValueId k_add = g.add_constant("three", {1}, {c.add});
  const graph::ValueId t = g.add_node("add", "", graph::BinaryAttrs{ops::BinaryOp::add},
                                      c.constant_first ? std::vector{k_add, conv} : std::vector{conv, k_add});
  const graph::ValueId clipped =
      g.add_node("clip", "", graph::ActivationAttrs{ops::Activation::clip(0.0f, c.clip_hi)}, {t});
  const graph::ValueId m = g.add_node("mul", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {conv, clipped});
  const graph::ValueId k_scale = g.add_constant("six", {}, {c.multiply_by_inverse ? 1.0f / c.scale : c.scale});
  const graph::ValueId y = g.add_node(
      "div", "", graph::BinaryAttrs{c.multiply_by_inverse ? ops::BinaryOp::mul : ops::BinaryOp::div}, {m, k_scale},
      "hardswish_out");
  const graph::ValueId r = g.add_node("relu", "", graph::ActivationAttrs{ops::Activation::relu()}, {y});
  g.mark_output(r);
  if (c.extra_reader) g.mark_output(t);
  return g;
}


}  // namespace

TEST_CASE("fuse_hard_swish_pattern: x * clip(x + 3, 0, 6) / 6 becomes one hard_swish", "[fusion]") {
  for (const auto& [name, chain] : std::vector<std::pair<const char*, Chain>>{
           {"x + 3, / 6", {}},
           {"3 + x, * (1/6)", [] { Chain c; c.constant_first = true; c.multiply_by_inverse = true; return c; }()}}) {
    DYNAMIC_SECTION(name) {
      const graph::Graph g = chain_graph(chain);
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fuse_hard_swish_pattern(f);
      REQUIRE(report.count("fuse_hard_swish_pattern") == 1);
      CHECK(report.changes[0].replaced == std::vector<std::string>{"clip", "mul", "div"});
      REQUIRE(f.nodes().size() == 3);  // conv, hard_swish, relu
      const graph::Node& hs = f.nodes()[1];
      CHECK(hs.name == "add");
      CHECK(hs.provenance == std::vector<std::string>{"add", "clip", "mul", "div"});
      REQUIRE(hs.as<graph::ActivationAttrs>() != nullptr);
      CHECK(hs.as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::hard_swish);
      CHECK(f.value(hs.output).name == "hardswish_out");  // the chain's last value keeps its name

      // Same function: the unfused chain and the fused node, both on the device, and the fused
      // one against the float64 oracle. x * clamp(x/6 + 1/2) rounds differently from the chain's
      // four roundings: a few fp32 ulps, far inside 1e-6 (a wrong constant is O(0.1)).
      std::mt19937 rng(5);
      const std::vector<float> x = random_values(rng, 4 * 9 * 11, -3.0f, 3.0f);
      const std::vector<float> unfused = run_graph(g, x);
      const std::vector<float> fused = run_graph(f, x);
      const auto oracle = graph::run_oracle(f, {{"x", x}});
      require_close("fuse_hard_swish_pattern", name, fused, oracle.at("relu"), 1e-6, 1e-6);
      graph::Graph unfused_graph = g;
      const auto chain_oracle = graph::run_oracle(unfused_graph, {{"x", x}});
      require_close("fuse_hard_swish_pattern", std::string(name) + " (unfused)", unfused, chain_oracle.at("relu"), 1e-6,
                    1e-6);

      // fuse_all goes on to put it in the conv's epilogue, with the relu left as its own node.
      graph::Graph all = g;
      fusion::fuse_all(all);
      REQUIRE(all.nodes().size() == 2);
      CHECK(all.nodes()[0].as<graph::ConvAttrs>()->epilogue.activation.kind == ops::ActivationKind::hard_swish);
      require_close("fuse_hard_swish_pattern", std::string(name) + " (fuse_all)", run_graph(all, x), oracle.at("relu"), 1e-6,
                    1e-6);
    }
  }
}

TEST_CASE("fuse_hard_swish_pattern leaves chains that are not hardswish alone", "[fusion]") {
  for (const auto& [name, chain] : std::vector<std::pair<const char*, Chain>>{
           {"x + 2", [] { Chain c; c.add = 2.0f; return c; }()},
           {"clip to 5", [] { Chain c; c.clip_hi = 5.0f; return c; }()},
           {"/ 5", [] { Chain c; c.scale = 5.0f; return c; }()},
           {"x + 3 also a graph output", [] { Chain c; c.extra_reader = true; return c; }()}}) {
    DYNAMIC_SECTION(name) {
      graph::Graph f = chain_graph(chain);
      const std::size_t before = f.nodes().size();
      CHECK(fusion::fuse_hard_swish_pattern(f).changes.empty());
      CHECK(f.nodes().size() == before);
    }
  }
}

TEST_CASE("fuse_hard_swish_pattern: x * HardSigmoid(x; 1/6, 1/2) (torch at opset 13) becomes one hard_swish",
          "[fusion]") {
  for (const float beta : {0.5f, 0.4f}) {
    DYNAMIC_SECTION("beta " << beta) {
      graph::Graph g("hardsigmoid_gate");
      std::mt19937 rng(78);
      const graph::ValueId x = g.add_input("x", {1, 4, 9, 11});
      const ops::Conv2dParams p = conv_params(4, 8, 3, 1, 1);
      const graph::ValueId w = g.add_constant("w", ops::conv2d_weight_shape(p), random_values(rng, 8 * 4 * 9, -0.5f, 0.5f));
      const graph::ValueId b = g.add_constant("b", {8}, random_values(rng, 8, -1.0f, 1.0f));
      const graph::ValueId conv = g.add_node("conv", "", graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic},
                                             {x, w, b, graph::kNoValue, graph::kNoValue});
      const graph::ValueId h =
          g.add_node("gate", "", graph::ActivationAttrs{ops::Activation::hard_sigmoid(1.0f / 6.0f, beta)}, {conv});
      g.mark_output(g.add_node("mul", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {conv, h}, "y"));
      graph::Graph f = g;
      fusion::fuse_all(f);
      if (beta != 0.5f) {  // x * hard_sigmoid(x, 1/6, 0.4) is not hardswish: left alone
        CHECK(f.nodes().size() == 3);
        continue;
      }
      REQUIRE(f.nodes().size() == 1);  // the conv, hard_swish in its epilogue
      CHECK(f.nodes()[0].as<graph::ConvAttrs>()->epilogue.activation.kind == ops::ActivationKind::hard_swish);
      CHECK(f.value(f.nodes()[0].output).name == "y");
      // hard_swish computes x * clamp(x / 6 + 1/2) where the pair computes x * clamp(x * fl(1/6) + 1/2):
      // a few fp32 ulps apart; 1e-6 against the oracle of the pair (a wrong constant is O(0.1)).
      std::mt19937 in_rng(9);
      const std::vector<float> xv = random_values(in_rng, 4 * 9 * 11, -3.0f, 3.0f);
      graph::Graph og = g;
      const auto oracle = graph::run_oracle(og, {{"x", xv}});
      require_close("fuse_hard_swish_pattern", "hard_sigmoid gate", run_graph(f, xv), oracle.at("y"), 1e-6, 1e-6);
    }
  }
}
