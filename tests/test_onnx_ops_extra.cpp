// ONNX import of Pow, Sqrt, Exp, ReduceMean and Split: small models built here with the onnx
// protobuf classes, imported, checked for the nodes and shapes they become, and run on the
// device against the float64 oracle (every node's output); plus the layer-norm pattern
// (x - mean, ^2, mean, + eps, sqrt, divide) that real exports spell with these ops, and the
// Split inputs that cannot work, each rejected naming the node.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using namespace fusescope::testing::onnx_model;
namespace fs = std::filesystem;

namespace {

// Every node's output of `g`, run in `layout`, against the oracle on input seed 31, uniform in
// [lo, hi).
void require_matches_oracle(const graph::Graph& g, const std::string& what, double tolerance,
                            graph::Layout layout = graph::Layout::nchw, float lo = -1.0f, float hi = 1.0f) {
  require_every_node_matches_oracle(g, "onnx import", fmt::format("{} {}", what, ops::to_string(layout)), tolerance,
                                    {.seed = 31, .layout = layout, .lo = lo, .hi = hi});
}

const graph::Node& node_named(const graph::Graph& g, const std::string& name) { return g.node(g.require_node(name)); }

}  // namespace

TEST_CASE("ONNX Pow, Sqrt and Exp import as pow and activation nodes and match the oracle", "[onnx]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 3, 4, 5});
  m.initializer("two", {}, {2.0f});
  m.int64_initializer("three", {}, {3});         // an integer exponent tensor (opset 12+)
  m.initializer("halves", {3, 1, 1}, {0.5f, 1.5f, -0.5f});
  m.node("Pow", "square", {"x", "two"}, {"x2"});
  m.node("Pow", "cube", {"x", "three"}, {"x3"});  // negative bases, odd exponent: signed
  m.node("Sqrt", "root", {"x2"}, {"r"});
  m.node("Exp", "expo", {"x3"}, {"e"});
  m.node("Pow", "per_channel", {"e", "halves"}, {"ep"});  // positive bases, fractional exponents
  m.node("Add", "sum1", {"r", "ep"}, {"s"});
  m.node("Sqrt", "neg_root", {"x"}, {"nr"});       // NaN where x < 0, on both sides
  m.output("s");
  m.output("nr");
  const graph::Graph g = io::import_onnx(m.write(dir));

  CHECK(node_named(g, "square").as<graph::BinaryAttrs>()->op == ops::BinaryOp::pow);
  CHECK(node_named(g, "cube").as<graph::BinaryAttrs>()->op == ops::BinaryOp::pow);
  CHECK(node_named(g, "per_channel").as<graph::BinaryAttrs>()->op == ops::BinaryOp::pow);
  CHECK(node_named(g, "root").as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::sqrt);
  CHECK(node_named(g, "expo").as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::exp);
  CHECK(g.value(g.require_value("three")).data == std::vector<float>{3.0f});
  CHECK(g.value(g.require_value("ep")).shape == ops::Shape{2, 3, 4, 5});

  // x in [-1, 1]. Against the oracle fed the same inputs, each node's error is its own plus
  // what it inherits: x^2, x^3 within 2 roundings (2^-24 each); sqrt 4.5 ULP (2^-23 each);
  // exp of |x^3| <= 1 within 5 ULP; e^y with e in [0.37, 2.72] and |y| <= 1.5 by exp2/log2
  // within ~3e-6 (the kernel test's bound for |log2 e| <= 1.44); one add. All below 4e-6 of
  // each tensor's scale, so 1e-5; a wrong op, operand order or exponent broadcast errs by O(1).
  require_matches_oracle(g, "pow sqrt exp", 1e-5);
  require_matches_oracle(g, "pow sqrt exp", 1e-5, graph::Layout::nhwc);
}

TEST_CASE("ONNX Conv then Exp: the fusion pass puts exp in the conv epilogue, which matches the oracle", "[onnx][fusion]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {1, 3, 6, 6});
  std::mt19937 rng(5);
  m.initializer("w", {4, 3, 3, 3}, random_values(rng, 4 * 27, -0.3f, 0.3f));
  auto& conv = m.node("Conv", "conv", {"x", "w"}, {"c"});
  set_attr(conv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  m.node("Exp", "expo", {"c"}, {"y"});
  m.output("y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  graph::Graph fused = g;
  CHECK(fusion::fuse_all(fused).count("fuse_activation") == 1);
  REQUIRE(fused.nodes().size() == 1);
  CHECK(fused.nodes()[0].as<graph::ConvAttrs>()->epilogue.activation.kind == ops::ActivationKind::exp);
  // The unfused oracle against the fused kernel: a conv of K = 27 in fp32 (within ~1e-6 of its
  // outputs, which stay within |c| < 3 here), whose absolute error exp turns into relative
  // error, and exp itself within 3 + 2|c| ULP (< 1.1e-6): 1e-5 of the output's scale.
  std::mt19937 in_rng(8);
  const std::vector<float> x = random_values(in_rng, 3 * 36, -1.0f, 1.0f);
  graph::Graph gc = g;
  const auto oracle = graph::run_oracle(gc, {{"x", x}});
  graph::Executor exec(device(), fused);
  exec.set_input(x);
  exec.run();
  require_close("onnx import", "conv+exp epilogue", exec.read("y"), oracle.at("y"), 1e-5, 1e-5);
}

TEST_CASE("ONNX ReduceMean: axes subsets, negative axes, default all, keepdims", "[onnx]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 6, 5, 7});
  auto& spatial = m.node("ReduceMean", "gap_like", {"x"}, {"spatial"});
  set_attr(spatial, "axes", std::vector<std::int64_t>{2, 3});
  auto& chan = m.node("ReduceMean", "channel_mean", {"x"}, {"chan"});
  set_attr(chan, "axes", std::vector<std::int64_t>{-3});
  set_attr(chan, "keepdims", std::int64_t{0});
  m.node("ReduceMean", "everything", {"x"}, {"all"});  // no axes: every axis, keepdims 1
  auto& keep = m.node("ReduceMean", "channel_mean_keep", {"x"}, {"chan_keep"});
  set_attr(keep, "axes", std::vector<std::int64_t>{1});
  m.node("Sub", "centred", {"x", "chan_keep"}, {"centred_out"});
  m.output("spatial");
  m.output("chan");
  m.output("all");
  m.output("centred_out");
  const graph::Graph g = io::import_onnx(m.write(dir));

  CHECK(g.value(g.require_value("spatial")).shape == ops::Shape{2, 6, 1, 1});
  CHECK(g.value(g.require_value("chan")).shape == ops::Shape{2, 5, 7});
  CHECK(g.value(g.require_value("all")).shape == ops::Shape{1, 1, 1, 1});
  CHECK(g.value(g.require_value("chan_keep")).shape == ops::Shape{2, 1, 5, 7});
  const auto* a = node_named(g, "channel_mean").as<graph::ReduceMeanAttrs>();
  REQUIRE(a != nullptr);
  CHECK(a->params.axes == std::vector<std::int64_t>{-3});
  CHECK_FALSE(a->params.keepdims);
  CHECK(node_named(g, "everything").as<graph::ReduceMeanAttrs>()->params.axes.empty());

  // Inputs in [-0.25, 1] as in the reduce_mean kernel table, whose 5e-6 bound covers means of
  // up to 5000 values; these have at most 420. x - mean adds one correctly rounded subtraction
  // of operands whose own error is that of the mean.
  require_matches_oracle(g, "reduce_mean", 5e-6, graph::Layout::nchw, -0.25f, 1.0f);
  require_matches_oracle(g, "reduce_mean", 5e-6, graph::Layout::nhwc, -0.25f, 1.0f);

  SECTION("axes as an input (opset 18 style) is refused naming the node") {
    OnnxModel bad(13);
    bad.input("x", {2, 3});
    bad.int64_initializer("axes", {1}, {1});
    bad.node("ReduceMean", "new_style", {"x", "axes"}, {"y"});
    bad.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(bad.write(dir, "bad.onnx")); }),
               Catch::Contains("new_style") && Catch::Contains("attribute"));
  }
  SECTION("a repeated axis names the node") {
    OnnxModel bad(13);
    bad.input("x", {2, 3});
    set_attr(bad.node("ReduceMean", "dup_axes", {"x"}, {"y"}), "axes", std::vector<std::int64_t>{1, -1});
    bad.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(bad.write(dir, "dup.onnx")); }),
               Catch::Contains("dup_axes") && Catch::Contains("listed twice"));
  }
}

TEST_CASE("ONNX Split becomes one slice node per output, named after the output", "[onnx]") {
  TempDir dir;
  SECTION("opset 13: sizes as an input, along channels") {
    OnnxModel m(13);
    m.input("x", {2, 8, 3, 5});
    m.int64_initializer("sizes", {3}, {2, 4, 2});
    set_attr(m.node("Split", "split_c", {"x", "sizes"}, {"a", "b", "c"}), "axis", std::int64_t{1});
    m.node("Relu", "relu_b", {"b"}, {"rb"});
    set_attr(m.node("Concat", "join", {"c", "rb", "a"}, {"y"}), "axis", std::int64_t{1});
    m.output("y");
    const graph::Graph g = io::import_onnx(m.write(dir));
    for (const auto& [name, start, length] : {std::tuple{"a", 0, 2}, {"b", 2, 4}, {"c", 6, 2}}) {
      const auto* s = node_named(g, name).as<graph::SliceAttrs>();
      REQUIRE(s != nullptr);
      CHECK(s->params.axis == 1);
      CHECK(s->params.start == start);
      CHECK(s->params.length == length);
      CHECK(g.value(node_named(g, name).output).name == name);
    }
    CHECK(g.value(g.require_value("y")).shape == ops::Shape{2, 8, 3, 5});
    // Copies and a relu pick input values: bit-exact.
    require_matches_oracle(g, "split opset 13", 0.0);
    require_matches_oracle(g, "split opset 13", 0.0, graph::Layout::nhwc);
  }
  SECTION("opset 11: sizes as an attribute, negative axis") {
    OnnxModel m(11);
    m.input("x", {3, 10});
    auto& s = m.node("Split", "split_last", {"x"}, {"left", "right"});
    set_attr(s, "axis", std::int64_t{-1});
    set_attr(s, "split", std::vector<std::int64_t>{3, 7});
    m.node("Sigmoid", "sig", {"right"}, {"y"});
    m.output("left");
    m.output("y");
    const graph::Graph g = io::import_onnx(m.write(dir));
    CHECK(g.value(g.require_value("left")).shape == ops::Shape{3, 3});
    CHECK(g.value(g.require_value("right")).shape == ops::Shape{3, 7});
    CHECK(node_named(g, "right").as<graph::SliceAttrs>()->params.start == 3);
    // Copies exact; sigmoid within the activation suite's 1e-6.
    require_matches_oracle(g, "split opset 11", 1e-6);
  }
  SECTION("no sizes: equal parts") {
    OnnxModel m(13);
    m.input("x", {2, 9, 4});
    set_attr(m.node("Split", "thirds", {"x"}, {"p0", "p1", "p2"}), "axis", std::int64_t{1});
    m.node("Add", "sum01", {"p0", "p1"}, {"s"});
    m.node("Sub", "diff", {"s", "p2"}, {"y"});
    m.output("y");
    const graph::Graph g = io::import_onnx(m.write(dir));
    for (const char* p : {"p0", "p1", "p2"}) CHECK(g.value(g.require_value(p)).shape == ops::Shape{2, 3, 4});
    CHECK(node_named(g, "p2").as<graph::SliceAttrs>()->params.start == 6);
    // Two correctly rounded adds: 2 * 2^-24 relative per element, 1.2e-7.
    require_matches_oracle(g, "split equal", 1.2e-7);
  }
  SECTION("bad splits name the node") {
    OnnxModel m(13);
    m.input("x", {2, 9});
    m.int64_initializer("sizes", {2}, {4, 4});
    set_attr(m.node("Split", "short_split", {"x", "sizes"}, {"a", "b"}), "axis", std::int64_t{1});
    m.output("a");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(m.write(dir, "short.onnx")); }),
               Catch::Contains("short_split") && Catch::Contains("add up to 8"));
    OnnxModel uneven(13);
    uneven.input("x", {2, 9});
    set_attr(uneven.node("Split", "uneven", {"x"}, {"a", "b"}), "axis", std::int64_t{1});
    uneven.output("a");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(uneven.write(dir, "uneven.onnx")); }),
               Catch::Contains("uneven") && Catch::Contains("2 equal parts"));
    // A part of size 0 is legal ONNX (a zero-size tensor; tests/test_onnx_pytorch_idioms.cpp
    // runs one into a Concat), but a kernel cannot read it: refused naming reader and producer.
    OnnxModel empty(13);
    empty.input("x", {2, 9});
    empty.int64_initializer("sizes", {2}, {0, 9});
    set_attr(empty.node("Split", "empty_part", {"x", "sizes"}, {"a", "b"}), "axis", std::int64_t{1});
    empty.node("Relu", "reads_empty", {"a"}, {"r"});
    empty.output("r");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(empty.write(dir, "empty.onnx")); }),
               Catch::Contains("reads_empty") && Catch::Contains("empty_part") && Catch::Contains("zero-size") &&
                   Catch::Contains("2x0"));
    OnnxModel negative(13);
    negative.input("x", {2, 9});
    negative.int64_initializer("sizes", {2}, {-1, 10});
    set_attr(negative.node("Split", "negative_part", {"x", "sizes"}, {"a", "b"}), "axis", std::int64_t{1});
    negative.output("b");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(negative.write(dir, "negative.onnx")); }),
               Catch::Contains("negative_part") && Catch::Contains(">= 0"));
  }
}

TEST_CASE("ONNX layer-norm pattern: x - mean, ^2, mean, + eps, sqrt, divide, scale, shift", "[onnx]") {
  // How PyTorch exports LayerNorm before opset 17 (and many transformers' own norms).
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 10, 48});
  std::mt19937 rng(77);
  m.initializer("two", {}, {2.0f});
  m.initializer("eps", {}, {1e-5f});
  m.initializer("gamma", {48}, random_values(rng, 48, 0.5f, 1.5f));
  m.initializer("beta", {48}, random_values(rng, 48, -0.5f, 0.5f));
  set_attr(m.node("ReduceMean", "ln/mean", {"x"}, {"mean"}), "axes", std::vector<std::int64_t>{-1});
  m.node("Sub", "ln/centre", {"x", "mean"}, {"d"});
  m.node("Pow", "ln/square", {"d", "two"}, {"d2"});
  set_attr(m.node("ReduceMean", "ln/var", {"d2"}, {"var"}), "axes", std::vector<std::int64_t>{-1});
  m.node("Add", "ln/add_eps", {"var", "eps"}, {"var_eps"});
  m.node("Sqrt", "ln/std", {"var_eps"}, {"std"});
  m.node("Div", "ln/normalise", {"d", "std"}, {"normed"});
  m.node("Mul", "ln/scale", {"normed", "gamma"}, {"scaled"});
  m.node("Add", "ln/shift", {"scaled", "beta"}, {"y"});
  m.output("y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(g.nodes().size() == 9);
  CHECK(g.value(g.require_value("mean")).shape == ops::Shape{2, 10, 1});
  CHECK(g.value(g.require_value("y")).shape == ops::Shape{2, 10, 48});
  CHECK(node_named(g, "ln/var").scope == "ln");

  // Each step's own error is a few 2^-24 (means of 48: <= 7 roundings; x^2 exact-rounded; sqrt
  // 4.5 ULP; division 2.5 ULP), and they add along the chain relative to each tensor's scale to
  // well under 1e-5. The centred values are O(0.6) against means O(0.1), so no cancellation
  // amplifies them. A wrong axis, a missing eps or a broadcast slip errs by O(1e-2) or more.
  require_matches_oracle(g, "layer norm", 1e-5);

  // The normalised rows have mean 0 and variance 1 (up to eps): checked against the oracle's
  // own output, which is independent of the kernels.
  graph::Graph gc = g;
  std::mt19937 in_rng(31);
  const auto oracle = graph::run_oracle(gc, {{"x", random_values(in_rng, 2 * 10 * 48, -1.0f, 1.0f)}},
                                        {.keep = {"normed"}});
  const auto& normed = oracle.at("normed").data;
  double mean = 0, sq = 0;
  for (int i = 0; i < 48; ++i) {
    mean += normed[static_cast<std::size_t>(i)] / 48;
    sq += normed[static_cast<std::size_t>(i)] * normed[static_cast<std::size_t>(i)] / 48;
  }
  CHECK(std::abs(mean) < 1e-12);
  CHECK(std::abs(sq - 1.0) < 1e-3);  // var / (var + 1e-5) with var ~ 1/3
}

TEST_CASE("ONNX LayerNormalization (opset 17) imports as one layer_norm node and matches the oracle", "[onnx][layer_norm]") {
  // axis -1 as torch exports nn.LayerNorm(C) at opset 17; axis 1 normalises the trailing three
  // dims together (flattened into one around the node); B absent means no shift.
  struct Case {
    const char* name;
    ops::Shape shape;
    std::int64_t axis;
    bool bias;
  };
  for (const Case& c : {Case{"last axis", {2, 3, 4, 8}, -1, true}, Case{"axis 1 of 4 (three dims)", {2, 3, 4, 5}, 1, true},
                        Case{"no B", {1, 6, 16}, -1, false}}) {
    DYNAMIC_SECTION(c.name) {
      TempDir dir;
      OnnxModel m(17);
      m.input("x", c.shape);
      std::mt19937 rng(78);
      const std::int64_t rank = static_cast<std::int64_t>(c.shape.size());
      const std::int64_t axis = c.axis < 0 ? c.axis + rank : c.axis;
      const ops::Shape pshape(c.shape.begin() + axis, c.shape.end());
      m.initializer("scale", pshape, random_values(rng, ops::numel(pshape), 0.5f, 1.5f));
      std::vector<std::string> inputs{"x", "scale"};
      if (c.bias) {
        m.initializer("bias", pshape, random_values(rng, ops::numel(pshape), -0.5f, 0.5f));
        inputs.push_back("bias");
      }
      auto& n = m.node("LayerNormalization", "ln", inputs, {"y"});
      set_attr(n, "axis", c.axis);
      set_attr(n, "epsilon", 1e-6f);
      m.output("y");
      const graph::Graph g = io::import_onnx(m.write(dir));
      const auto count = std::count_if(g.nodes().begin(), g.nodes().end(),
                                       [](const graph::Node& node) { return node.as<graph::LayerNormAttrs>() != nullptr; });
      CHECK(count == 1);
      CHECK(g.value(g.outputs()[0]).shape == c.shape);
      // The kernel's own bound (tests/test_layer_norm_gelu.cpp): 1e-5.
      require_matches_oracle(g, c.name, 1e-5);
      // Under NHWC a single axis maps through the layout; flattening three dims of an NHWC map
      // would reorder them, which the executor refuses in words.
      if (c.shape.size() == 4 && c.axis == -1) require_matches_oracle(g, c.name, 1e-5, graph::Layout::nhwc);
      if (c.shape.size() == 4 && c.axis != -1)
        CHECK_THROWS_WITH(graph::Executor(device(), g, graph::ExecutorOptions{.layout = graph::Layout::nhwc}),
                          Catch::Contains("--layout nchw"));
    }
  }
}

TEST_CASE("ONNX layer-norm pattern becomes one layer_norm node (one dispatch) under --fuse all", "[onnx][layer_norm][fusion]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {1, 4, 4, 32});
  std::mt19937 rng(79);
  m.initializer("two", {}, {2.0f});
  m.initializer("eps", {}, {1e-6f});
  m.initializer("gamma", {32}, random_values(rng, 32, 0.5f, 1.5f));
  m.initializer("beta", {32}, random_values(rng, 32, -0.5f, 0.5f));
  set_attr(m.node("ReduceMean", "ln/mean", {"x"}, {"mean"}), "axes", std::vector<std::int64_t>{-1});
  m.node("Sub", "ln/centre", {"x", "mean"}, {"d"});
  m.node("Pow", "ln/square", {"d", "two"}, {"d2"});
  set_attr(m.node("ReduceMean", "ln/var", {"d2"}, {"var"}), "axes", std::vector<std::int64_t>{-1});
  m.node("Add", "ln/add_eps", {"var", "eps"}, {"var_eps"});
  m.node("Sqrt", "ln/std", {"var_eps"}, {"std"});
  m.node("Div", "ln/normalise", {"d", "std"}, {"normed"});
  m.node("Mul", "ln/scale", {"normed", "gamma"}, {"scaled"});
  m.node("Add", "ln/shift", {"scaled", "beta"}, {"y"});
  m.output("y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  graph::Graph f = g;
  fusion::fuse_all(f);
  REQUIRE(f.nodes().size() == 1);
  REQUIRE(f.nodes()[0].as<graph::LayerNormAttrs>() != nullptr);
  CHECK(f.nodes()[0].provenance.size() == 9);
  CHECK(f.value(f.nodes()[0].output).name == "y");
  graph::Executor exec(device(), f);
  std::mt19937 in_rng(5);
  exec.set_input(random_values(in_rng, 4 * 4 * 32, -2.0f, 2.0f));
  exec.run();
  CHECK(exec.dispatch_count() == 1);
  require_matches_oracle(f, "fused layer norm", 1e-5);
}
