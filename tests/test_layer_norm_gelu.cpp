// ConvNeXt's pieces against the float64 oracle: the layer_norm kernel (one axis, any position,
// every precision), the Erf activation, and the two chain passes that make PyTorch's exported
// LayerNorm (nine nodes) and exact GELU (five nodes) one node each.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <numbers>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "ops/activation_gpu.hpp"
#include "ops/half.hpp"
#include "ops/layer_norm_gpu.hpp"
#include "reference/activation.hpp"
#include "reference/layer_norm.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

using ops::Precision;

constexpr Precision kPrecisions[] = {Precision::fp32, Precision::fp16s, Precision::fp16};
ops::DType dtype_of(Precision p) { return p == Precision::fp32 ? ops::DType::f32 : ops::DType::f16; }
std::vector<float> stored(Precision p, std::vector<float> v) {
  if (p != Precision::fp32)
    for (float& x : v) x = ops::half_to_float(ops::float_to_half(x));
  return v;
}

// layer_norm's output is O(1) (normalised, then gamma in [0.5, 1.5] and beta in [-0.5, 0.5]).
// fp32: two sums over L <= 768 terms (rounding ~ sqrt(L) * 2^-24 relative, 1.7e-6 at worst when
// the mean is large against the spread), one sqrt and one division, then a fused-multiply-add's
// worth: 1e-5 rel-L2 / 2e-5 max-abs is ~5x over that and far below what a wrong row, a
// mis-strided axis or a lost beta gives (O(0.1) or more). The 16-bit variants compute in fp32
// and round the output once to fp16 (2^-11 relative, ~1e-3 absolute on values up to 2):
// 1e-3 rel-L2 and 2e-3 max-abs.
// The float64 oracle of every output of a copy of `g` (run_oracle may set constants).
std::map<std::string, reference::HostTensor> oracle_of(const graph::Graph& g, const std::vector<float>& x) {
  graph::Graph copy = g;
  return graph::run_oracle(copy, {{"x", x}});
}

// A mean M large against the spread s costs more: the fp32 sum of L values near M rounds by about
// sqrt(L) * M * 2^-24, which the normalisation divides by s: 8 * 100 * 6e-8 / 1.15 = 4e-5 for the
// "mean 100" case (L = 64, uniform spread s = 1.15), so it gets 1e-4 — PyTorch and ONNX Runtime
// sum in fp32 too and pay the same.
double rel_tol(Precision p, float offset) { return offset != 0.0f ? 1e-4 : p == Precision::fp32 ? 1e-5 : 1e-3; }
double abs_tol(Precision p, float offset) { return offset != 0.0f ? 1e-4 : p == Precision::fp32 ? 2e-5 : 2e-3; }

struct LnCase {
  const char* name;
  ops::Shape shape;
  std::int64_t axis;
  float offset;  // added to every input: a large mean tests the centred (two-pass) variance
};

}  // namespace

TEST_CASE("layer_norm matches oracle: axes, shapes, precisions", "[kernel][layer_norm]") {
  const std::vector<LnCase> cases{
      {"ConvNeXt stage 1, channels last", {1, 5, 6, 96}, -1, 0.0f},
      {"one row of 768", {1, 1, 1, 768}, -1, 0.0f},
      {"axis 1 of NCHW (strided)", {2, 7, 5, 3}, 1, 0.0f},
      {"odd axis 0", {13, 9}, 0, 0.0f},
      {"a single element per row (var 0: y = beta)", {4, 1}, -1, 0.0f},
      {"mean 100 above a spread of 1", {3, 64}, -1, 100.0f},
  };
  std::uint32_t seed = 31000;
  for (Precision prec : kPrecisions) {
    for (const LnCase& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed++);
        const ops::LayerNormParams p{c.axis, 1e-6f};
        std::vector<float> x = random_values(rng, ops::numel(c.shape), -2.0f, 2.0f);
        for (float& v : x) v += c.offset;
        x = stored(prec, x);
        const ops::Shape affine_shape = ops::layer_norm_affine_shape(p, c.shape);
        const std::int64_t len = affine_shape[1];
        std::vector<float> affine = random_values(rng, len, 0.5f, 1.5f);
        const std::vector<float> beta = random_values(rng, len, -0.5f, 0.5f);
        affine.insert(affine.end(), beta.begin(), beta.end());
        auto tx = upload(c.shape, x, "x", dtype_of(prec));
        auto ta = upload(affine_shape, affine, "affine");
        auto ty = output_tensor(c.shape, "y", dtype_of(prec));
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_layer_norm({device(), rec, prec}, p, tx, ta, ty, c.name);
        });
        auto expected = reference::layer_norm(p, to_host(c.shape, x), to_host(affine_shape, affine));
        require_close("layer_norm", fmt::format("{} {} {}", c.name, ops::to_string(c.shape), ops::to_string(prec)), got,
                      expected, std::max(rel_tol(prec, c.offset), rel_tol(prec, 0.0f)),
                      std::max(abs_tol(prec, c.offset), abs_tol(prec, 0.0f)));
      }
    }
  }
}

TEST_CASE("layer_norm refuses a wrong affine shape and a bad epsilon", "[kernel][layer_norm]") {
  const ops::Shape s{2, 8};
  auto tx = upload(s, std::vector<float>(16, 1.0f), "x");
  auto ta = upload({2, 7}, std::vector<float>(14, 1.0f), "affine");
  auto ty = output_tensor(s, "y");
  gpu::Recorder rec(device(), "bad");
  CHECK_THROWS_WITH(ops::encode_layer_norm({device(), rec}, {-1, 1e-5f}, tx, ta, ty, "ln"),
                    Catch::Contains("affine (gamma, beta)") && Catch::Contains("2x8"));
  CHECK_THROWS_WITH(ops::layer_norm_output_shape({-1, -1.0f}, s, "ln"), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(ops::layer_norm_output_shape({2, 1e-5f}, s, "ln"), Catch::Contains("ln"));
}

// erf_f is Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 absolute) evaluated in fp32: t (2
// roundings), five Horner steps (10), exp(-a^2) (about 5 ulp), poly * exp and 1 - it (2), all on
// values up to ~1.4, about 18 * 2^-24 = 1.1e-6 at worst: 1.2e-6 absolute (a wrong coefficient
// or sign is O(1e-2)). fp16s rounds that once to fp16 (2^-11 of |erf| <= 1); fp16 runs the same
// ~18 roundings in fp16 (2^-11 each on values near 1, but they are not all of one sign): 8 * 2^-11.
TEST_CASE("erf matches oracle in every precision", "[kernel][activation][erf]") {
  const ops::Shape shape{3, 5, 7, 11};
  for (Precision prec : kPrecisions) {
    DYNAMIC_SECTION(ops::to_string(prec)) {
      std::mt19937 rng(32000);
      std::vector<float> x = stored(prec, random_values(rng, ops::numel(shape), -4.0f, 4.0f));
      auto tx = upload(shape, x, "x", dtype_of(prec));
      auto ty = output_tensor(shape, "y", dtype_of(prec));
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_activation({device(), rec, prec}, ops::Activation::erf(), tx, ty, "erf");
      });
      auto expected = reference::activation(to_host(shape, x), ops::Activation::erf());
      const double tol = prec == Precision::fp32 ? 1.2e-6 : prec == Precision::fp16s ? 1.2e-6 + 1.0 / 2048 : 8.0 / 2048;
      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("erf(" << x[i] << ") = " << got[i] << ", C says " << expected.data[i]);
        REQUIRE(std::fabs(got[i] - expected.data[i]) <= tol);
      }
      require_no_validation_messages();
    }
  }
}

namespace {

struct LnChain {
  bool affine = true;
  bool constant_gamma_first = false;
  float pow = 2.0f;
  bool extra_reader = false;  // the centred value is a graph output too
};

// x [1, 4, 5, 24] -> the nine-node LayerNorm over the last axis as torch.onnx.export writes it
// at opset 13 -> relu.
graph::Graph ln_chain_graph(const LnChain& c) {
  graph::Graph g("layer_norm_chain");
  std::mt19937 rng(41);
  const std::int64_t len = 24;
  const graph::ValueId x = g.add_input("x", {1, 4, 5, len});
  const ops::ReduceMeanParams last{{-1}, true};
  const graph::ValueId m = g.add_node("mean", "ln", graph::ReduceMeanAttrs{last}, {x});
  const graph::ValueId d = g.add_node("sub", "ln", graph::BinaryAttrs{ops::BinaryOp::sub}, {x, m});
  const graph::ValueId two = g.add_constant("two", {}, {c.pow});
  const graph::ValueId sq = g.add_node("pow", "ln", graph::BinaryAttrs{ops::BinaryOp::pow}, {d, two});
  const graph::ValueId v = g.add_node("var", "ln", graph::ReduceMeanAttrs{last}, {sq});
  const graph::ValueId eps = g.add_constant("eps", {}, {1e-6f});
  const graph::ValueId ve = g.add_node("add_eps", "ln", graph::BinaryAttrs{ops::BinaryOp::add}, {v, eps});
  const graph::ValueId root = g.add_node("sqrt", "ln", graph::ActivationAttrs{ops::Activation::sqrt()}, {ve});
  graph::ValueId y = g.add_node("div", "ln", graph::BinaryAttrs{ops::BinaryOp::div}, {d, root});
  if (c.affine) {
    const graph::ValueId gamma = g.add_constant("gamma", {len}, random_values(rng, len, 0.5f, 1.5f));
    const graph::ValueId beta = g.add_constant("beta", {len}, random_values(rng, len, -0.5f, 0.5f));
    y = g.add_node("mul", "ln", graph::BinaryAttrs{ops::BinaryOp::mul},
                   c.constant_gamma_first ? std::vector{gamma, y} : std::vector{y, gamma});
    y = g.add_node("add", "ln", graph::BinaryAttrs{ops::BinaryOp::add}, {y, beta}, "ln_out");
  }
  g.mark_output(g.add_node("relu", "", graph::ActivationAttrs{ops::Activation::relu()}, {y}));
  if (c.extra_reader) g.mark_output(d);
  return g;
}

}  // namespace

TEST_CASE("fuse_layer_norm_pattern: PyTorch's opset-13 LayerNorm chain becomes one layer_norm", "[fusion][layer_norm]") {
  for (const auto& [name, chain, nodes] : std::vector<std::tuple<const char*, LnChain, std::size_t>>{
           {"with gamma and beta", {}, 9},
           {"gamma first", [] { LnChain c; c.constant_gamma_first = true; return c; }(), 9},
           {"no affine", [] { LnChain c; c.affine = false; return c; }(), 7}}) {
    DYNAMIC_SECTION(name) {
      const graph::Graph g = ln_chain_graph(chain);
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fuse_layer_norm_pattern(f);
      REQUIRE(report.count("fuse_layer_norm_pattern") == 1);
      REQUIRE(f.nodes().size() == 2);  // layer_norm, relu
      const graph::Node& ln = f.nodes()[0];
      CHECK(ln.name == "mean");
      CHECK(ln.provenance.size() == nodes);
      REQUIRE(ln.as<graph::LayerNormAttrs>() != nullptr);
      CHECK(ln.as<graph::LayerNormAttrs>()->params.epsilon == 1e-6f);
      if (chain.affine) CHECK(f.value(ln.output).name == "ln_out");

      // The same function: fused on the device against the float64 oracle of the unfused chain
      // (the kernel's bound above, 1e-5), and against the unfused chain on the device.
      std::mt19937 rng(6);
      const std::vector<float> x = random_values(rng, 4 * 5 * 24, -3.0f, 3.0f);
      const std::vector<float> fused = run_graph(f, x);
      const auto oracle = oracle_of(g, x);
      require_close("fuse_layer_norm_pattern", name, fused, oracle.at("relu"), 1e-5, 2e-5);
      const std::vector<float> chain_out = run_graph(g, x);
      require_close("fuse_layer_norm_pattern", std::string(name) + " vs chain", fused,
                    to_host(f.value(f.outputs()[0]).shape, chain_out), 1e-5, 2e-5);
    }
  }
}

TEST_CASE("fuse_layer_norm_pattern leaves chains that are not LayerNorm alone", "[fusion][layer_norm]") {
  for (const auto& [name, chain] : std::vector<std::pair<const char*, LnChain>>{
           {"cube instead of square", [] { LnChain c; c.pow = 3.0f; return c; }()},
           {"centred value also an output", [] { LnChain c; c.extra_reader = true; return c; }()}}) {
    DYNAMIC_SECTION(name) {
      graph::Graph f = ln_chain_graph(chain);
      const std::size_t before = f.nodes().size();
      CHECK(fusion::fuse_layer_norm_pattern(f).count("fuse_layer_norm_pattern") == 0);
      CHECK(f.nodes().size() == before);
    }
  }
}

namespace {

// conv (3 -> 6) -> GELU chain in one of its two exported forms -> (output).
graph::Graph gelu_chain_graph(bool ours, float half) {
  graph::Graph g("gelu_chain");
  std::mt19937 rng(43);
  const graph::ValueId x = g.add_input("x", {1, 3, 7, 9});
  const ops::Conv2dParams p = conv_params(3, 6, 3, 1, 1);
  const graph::ValueId w = g.add_constant("w", ops::conv2d_weight_shape(p), random_values(rng, 6 * 3 * 9, -0.6f, 0.6f));
  const graph::ValueId b = g.add_constant("b", {6}, random_values(rng, 6, -0.5f, 0.5f));
  const graph::ValueId conv = g.add_node("conv", "", graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic},
                                         {x, w, b, graph::kNoValue, graph::kNoValue});
  const graph::ValueId one = g.add_constant("one", {}, {1.0f});
  const graph::ValueId k_half = g.add_constant("half", {}, {half});
  graph::ValueId y;
  if (!ours) {  // torch.onnx.export: x / sqrt2 -> Erf -> + 1 -> x * () -> * 0.5
    const graph::ValueId s2 = g.add_constant("sqrt2", {}, {static_cast<float>(std::numbers::sqrt2)});
    const graph::ValueId u = g.add_node("div", "", graph::BinaryAttrs{ops::BinaryOp::div}, {conv, s2});
    const graph::ValueId e = g.add_node("erf", "", graph::ActivationAttrs{ops::Activation::erf()}, {u});
    const graph::ValueId a = g.add_node("add", "", graph::BinaryAttrs{ops::BinaryOp::add}, {e, one});
    const graph::ValueId m = g.add_node("mul", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {conv, a});
    y = g.add_node("mul_1", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {m, k_half}, "gelu_out");
  } else {  // fusescope's exporter: x * (1/sqrt2) -> Erf -> + 1; (x * 0.5) * ()
    const graph::ValueId r2 = g.add_constant("rsqrt2", {}, {static_cast<float>(1.0 / std::numbers::sqrt2)});
    const graph::ValueId u = g.add_node("scaled", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {conv, r2});
    const graph::ValueId e = g.add_node("erf", "", graph::ActivationAttrs{ops::Activation::erf()}, {u});
    const graph::ValueId a = g.add_node("one_plus", "", graph::BinaryAttrs{ops::BinaryOp::add}, {one, e});
    const graph::ValueId hx = g.add_node("half_x", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {conv, k_half});
    y = g.add_node("gelu", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {hx, a}, "gelu_out");
  }
  g.mark_output(y);
  return g;
}

}  // namespace

TEST_CASE("fuse_gelu_pattern: exported exact GELU chains become one gelu, then the conv's epilogue", "[fusion]") {
  for (const bool ours : {false, true}) {
    DYNAMIC_SECTION((ours ? "fusescope's export form" : "torch.onnx.export form")) {
      const graph::Graph g = gelu_chain_graph(ours, 0.5f);
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fuse_gelu_pattern(f);
      REQUIRE(report.count("fuse_gelu_pattern") == 1);
      REQUIRE(f.nodes().size() == 2);
      CHECK(f.nodes()[1].provenance.size() == 5);
      REQUIRE(f.nodes()[1].as<graph::ActivationAttrs>() != nullptr);
      CHECK(f.nodes()[1].as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::gelu);
      CHECK(f.value(f.nodes()[1].output).name == "gelu_out");
      graph::Graph all = g;
      fusion::fuse_all(all);
      CHECK(all.nodes().size() == 1);  // gelu in the conv epilogue

      // Same function: gelu rounds differently from the five-node chain (both use the same
      // erf approximation): a few fp32 ulps; 1e-6 against the oracle, which computes the exact
      // erf, leaves room for erf_f's 1.5e-7 absolute error (a wrong constant is O(0.1)).
      std::mt19937 rng(8);
      const std::vector<float> x = random_values(rng, 3 * 7 * 9, -2.0f, 2.0f);
      const auto oracle = oracle_of(g, x);
      require_close("fuse_gelu_pattern", "fused vs oracle", run_graph(all, x), oracle.at("gelu_out"), 1e-6, 1e-6);
      require_close("fuse_gelu_pattern", "chain vs oracle", run_graph(g, x), oracle.at("gelu_out"), 1e-6, 1e-6);
    }
  }
  SECTION("a different constant is not GELU") {
    graph::Graph f = gelu_chain_graph(false, 0.25f);
    CHECK(fusion::fuse_gelu_pattern(f).count("fuse_gelu_pattern") == 0);
  }
}
