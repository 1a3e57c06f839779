// split_wide_gemms: a Linear layer too big for one storage buffer (vgg11_bn's 392 MiB first
// classifier layer on lavapipe) runs as gemms over slices of its output features joined by a
// concat, with the same bits as the whole gemm (each output is the same dot product in the same
// order), for both weight layouts, with and without bias and activation.
#include <catch2/catch.hpp>

#include "graph/split_wide_gemm.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

TEST_CASE("split_wide_gemms: a weight over the limit runs in parts, bit for bit", "[graph][gemm]") {
  for (const bool transposed : {true, false}) {
    for (const bool bias : {true, false}) {
      DYNAMIC_SECTION((transposed ? "[N, K] weight" : "[K, N] weight") << (bias ? ", bias, relu" : "")) {
        std::mt19937 rng(transposed * 2 + bias + 900);
        graph::Graph g("wide");
        const std::int64_t m = 3, k = 37, n = 50;
        const graph::ValueId x = g.add_input("x", {m, k});
        ops::GemmParams p;
        p.in_features = k;
        p.out_features = n;
        p.transpose_weight = transposed;
        p.has_bias = bias;
        if (bias) p.activation = ops::Activation::relu();
        const graph::ValueId w = g.add_constant("w", ops::gemm_weight_shape(p), random_values(rng, n * k));
        const graph::ValueId b = bias ? g.add_constant("b", {n}, random_values(rng, n)) : graph::kNoValue;
        g.mark_output(g.add_node("fc", "head", graph::GemmAttrs{p}, {x, w, b}, "logits"));
        graph::Graph s = g;
        // 16 output features per part at most: 50 = 16 + 16 + 16 + 2, the last part ragged.
        REQUIRE(graph::split_wide_gemms(s, 16 * k * 4) == 1);
        REQUIRE(s.nodes().size() == 5);
        CHECK(s.nodes()[4].name == "fc");
        CHECK(s.nodes()[4].as<graph::ConcatAttrs>() != nullptr);
        CHECK(s.value(s.nodes()[4].output).name == "logits");
        CHECK(s.find_value("w") == graph::kNoValue);  // the whole weight is gone
        const std::vector<float> xv = random_values(rng, m * k);
        const std::vector<float> whole = run_graph(g, xv), parts = run_graph(s, xv);
        REQUIRE(whole.size() == parts.size());
        for (std::size_t i = 0; i < whole.size(); ++i) REQUIRE(whole[i] == parts[i]);
        graph::Graph small = g;
        CHECK(graph::split_wide_gemms(small, n * k * 4) == 0);  // exactly at the limit: untouched
      }
    }
  }
}
