// fold_bias_into_gemm: nn.Linear on an N-D activation as torch.onnx.export writes it (MatMul,
// which fusescope imports as reshape -> gemm -> reshape, then Add of the bias) loses the Add to
// the gemm's epilogue, with the same bits; an Add of anything but a per-feature constant stays.
#include <catch2/catch.hpp>

#include "fusion/passes.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// x [1, 3, 4, 8] -> reshape [12, 8] -> gemm 8 -> 5 -> reshape [1, 3, 4, 5] -> + addend -> relu
graph::Graph linear_graph(const ops::Shape& addend_shape) {
  graph::Graph g("linear_nd");
  std::mt19937 rng(55);
  const graph::ValueId x = g.add_input("x", {1, 3, 4, 8});
  const graph::ValueId x2 = g.add_node("fc/as_2d", "fc", graph::ReshapeAttrs{{12, 8}}, {x});
  ops::GemmParams p;
  p.in_features = 8;
  p.out_features = 5;
  p.transpose_weight = false;
  p.has_bias = false;
  const graph::ValueId w = g.add_constant("w", ops::gemm_weight_shape(p), random_values(rng, 40));
  const graph::ValueId y2 = g.add_node("fc/gemm", "fc", graph::GemmAttrs{p}, {x2, w, graph::kNoValue});
  const graph::ValueId y = g.add_node("fc/MatMul", "fc", graph::ReshapeAttrs{{1, 3, 4, 5}}, {y2});
  const graph::ValueId b = g.add_constant("fc.bias", addend_shape, random_values(rng, ops::numel(addend_shape)));
  const graph::ValueId s = g.add_node("fc/Add", "fc", graph::BinaryAttrs{ops::BinaryOp::add}, {b, y}, "fc_out");
  g.mark_output(g.add_node("relu", "", graph::ActivationAttrs{ops::Activation::relu()}, {s}));
  return g;
}

}  // namespace

TEST_CASE("fold_bias_into_gemm: MatMul + Add of a per-feature constant is one gemm with a bias, same bits", "[fusion][gemm]") {
  const graph::Graph g = linear_graph({5});
  graph::Graph f = g;
  const fusion::FusionReport report = fusion::fold_bias_into_gemm(f);
  REQUIRE(report.count("fold_bias_into_gemm") == 1);
  REQUIRE(f.nodes().size() == 4);  // reshape, gemm (with bias), reshape (now producing fc_out), relu
  CHECK(f.nodes()[1].as<graph::GemmAttrs>()->params.has_bias);
  CHECK(f.value(f.nodes()[2].output).name == "fc_out");
  CHECK(f.nodes()[2].provenance == std::vector<std::string>{"fc/MatMul", "fc/Add"});
  std::mt19937 rng(3);
  const std::vector<float> x = random_values(rng, 96);
  const std::vector<float> a = run_graph(g, x), b = run_graph(f, x);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == b[i]);
}

TEST_CASE("fold_bias_into_gemm leaves an Add that is not a per-feature bias alone", "[fusion][gemm]") {
  graph::Graph f = linear_graph({3, 4, 5});  // varies over positions, not only features
  CHECK(fusion::fold_bias_into_gemm(f).count("fold_bias_into_gemm") == 0);
  CHECK(f.nodes().size() == 5);
}
