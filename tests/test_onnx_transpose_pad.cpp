// ONNX import of Transpose, Pad and ConstantOfShape + Concat, on small models built here: an
// NHWC-input model in the shape TensorFlow exports take (Transpose in, zero channels by
// ConstantOfShape + Concat, Transpose + Reshape out) imports with the expected nodes and runs
// against the oracle in both layouts; Pad with pads as inputs (opset 11+) and as attributes
// (opset < 11) in each mode; transposed initializers fold on the host; and unsupported Pad
// forms are refused naming the node.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "io/onnx_import.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using namespace fusescope::testing::onnx_model;

namespace {

// fp32 convs with K <= 8 * 9 = 72 products, copies and adds: 1e-5 as in the executor's tests.
constexpr double kTolerance = 1e-5;

void require_matches_oracle(const graph::Graph& g, graph::Layout layout, std::uint32_t seed) {
  require_every_node_matches_oracle(g, fmt::format("onnx import {}", to_string(layout)), g.name(), kTolerance,
                                    {.seed = seed, .layout = layout});
}

}  // namespace

TEST_CASE("ONNX NHWC model: Transpose in, ConstantOfShape + Concat channel padding, Transpose + Reshape out",
          "[onnx][transpose]") {
  TempDir dir;
  OnnxModel m(12);
  m.input("input:0", {1, 8, 10, 3});
  m.random_initializer("conv.w", {6, 3, 3, 3});
  m.random_initializer("conv.b", {6}, -0.1f, 0.1f);
  m.int64_initializer("shape_1x2x8x10", {4}, {1, 2, 8, 10});
  m.random_initializer("head.w", {4, 8, 1, 1});
  m.int64_initializer("out_shape", {3}, {1, -1, 2});
  auto& t_in = m.node("Transpose", "to_nchw", {"input:0"}, {"nchw"});
  set_attr(t_in, "perm", std::vector<std::int64_t>{0, 3, 1, 2});
  auto& c = m.node("Conv", "conv", {"nchw", "conv.w", "conv.b"}, {"conv_out"});
  set_attr(c, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  m.node("Relu", "relu", {"conv_out"}, {"relu_out"});
  m.node("ConstantOfShape", "", {"shape_1x2x8x10"}, {"zeros"});  // no value: zeros (float)
  auto& cat = m.node("Concat", "", {"relu_out", "zeros"}, {"padded"});
  set_attr(cat, "axis", std::int64_t{1});
  m.node("Add", "add", {"padded", "padded"}, {"doubled"});
  m.node("Conv", "head", {"doubled", "head.w"}, {"head_out"});
  auto& t_out = m.node("Transpose", "to_nhwc", {"head_out"}, {"nhwc"});
  set_attr(t_out, "perm", std::vector<std::int64_t>{0, 2, 3, 1});
  m.node("Reshape", "boxes", {"nhwc", "out_shape"}, {"Identity:0"});
  m.output("Identity:0");
  const graph::Graph g = io::import_onnx(m.write(dir));

  // ConstantOfShape folded to a constant: no node of its own, a [1,2,8,10] zero concat operand.
  CHECK(g.nodes().size() == 8);
  CHECK(count_nodes<graph::TransposeAttrs>(g) == 2);
  CHECK(count_nodes<graph::ConcatAttrs>(g) == 1);
  const graph::Value& zeros = g.value(g.require_value("zeros"));
  CHECK(zeros.constant);
  CHECK(zeros.shape == ops::Shape{1, 2, 8, 10});
  CHECK(std::all_of(zeros.data.begin(), zeros.data.end(), [](float v) { return v == 0.0f; }));
  CHECK(g.node(g.require_node("to_nchw")).as<graph::TransposeAttrs>()->params.perm == std::vector<std::int64_t>{0, 3, 1, 2});
  CHECK(g.value(g.require_value("nchw")).shape == ops::Shape{1, 3, 8, 10});
  CHECK(g.value(g.require_value("Identity:0")).shape == ops::Shape{1, 160, 2});

  require_matches_oracle(g, graph::Layout::nchw, 9900);
  require_matches_oracle(g, graph::Layout::nhwc, 9900);
}

TEST_CASE("ONNX Transpose: default perm, and a transposed initializer folds on the host", "[onnx][transpose]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 3, 4});
  // A weight stored HWIO-like and transposed to OIHW by the graph, as TensorFlow exports do.
  m.random_initializer("w_hwio", {1, 1, 4, 5});
  auto& tw = m.node("Transpose", "w_to_oihw", {"w_hwio"}, {"w"});
  set_attr(tw, "perm", std::vector<std::int64_t>{3, 2, 0, 1});
  m.node("Transpose", "reverse", {"x"}, {"r"});  // no perm: reversed, [4, 3, 2]
  m.int64_initializer("as_map", {4}, {1, 4, 3, 2});
  m.node("Reshape", "map", {"r", "as_map"}, {"m"});
  m.node("Conv", "conv", {"m", "w"}, {"y"});
  m.output("y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(g.find_node("w_to_oihw") == -1);
  const graph::Value& w = g.value(g.require_value("w"));
  CHECK(w.constant);
  REQUIRE(w.shape == ops::Shape{5, 4, 1, 1});
  // Folded element (o, i) is the initializer's (0, 0, i, o).
  const auto& init = m.model.graph().initializer(0);
  std::vector<float> hwio(20);
  std::memcpy(hwio.data(), init.raw_data().data(), 20 * sizeof(float));
  for (int o = 0; o < 5; ++o)
    for (int i = 0; i < 4; ++i) CHECK(w.data[static_cast<std::size_t>(o * 4 + i)] == hwio[static_cast<std::size_t>(i * 5 + o)]);
  CHECK(g.value(g.require_value("r")).shape == ops::Shape{4, 3, 2});
  require_matches_oracle(g, graph::Layout::nchw, 9910);
}

TEST_CASE("ONNX Pad: opset 13 inputs and opset 10 attributes, constant, reflect and edge", "[onnx][pad]") {
  for (std::int64_t opset : {13, 10}) {
    DYNAMIC_SECTION("opset " << opset) {
      TempDir dir;
      OnnxModel m(opset);
      m.input("x", {1, 3, 5, 6});
      m.random_initializer("w", {4, 3, 3, 3});
      struct P {
        const char* name;
        const char* mode;
        std::vector<std::int64_t> pads;
        float value;
      };
      const P pads[] = {{"p_const", "constant", {0, 0, 1, 2, 0, 0, 2, 1}, 0.25f},
                        {"p_reflect", "reflect", {0, 0, 2, 1, 0, 0, 1, 3}, 0.0f},
                        {"p_edge", "edge", {0, 1, 3, 0, 0, 0, 0, 2}, 0.0f}};
      std::string x = "x";
      int i = 0;
      for (const P& p : pads) {
        const std::string out = fmt::format("pad{}", i);
        onnx::NodeProto* n;
        if (opset >= 11) {
          m.int64_initializer(fmt::format("pads{}", i), {8}, p.pads);
          m.initializer(fmt::format("value{}", i), {}, {p.value});
          n = &m.node("Pad", p.name, {x, fmt::format("pads{}", i), fmt::format("value{}", i)}, {out});
        } else {
          n = &m.node("Pad", p.name, {x}, {out});
          set_attr(*n, "pads", p.pads);
          set_attr(*n, "value", p.value);
        }
        set_attr(*n, "mode", std::string(p.mode));
        x = out;
        if (i == 0) {
          m.node("Conv", "conv", {x, "w"}, {"conv_out"});
          x = "conv_out";
        }
        ++i;
      }
      m.output(x);
      const graph::Graph g = io::import_onnx(m.write(dir));
      REQUIRE(count_nodes<graph::PadAttrs>(g) == 3);
      const auto& c = g.node(g.require_node("p_const")).as<graph::PadAttrs>()->params;
      CHECK(c.mode == ops::PadMode::constant);
      CHECK(c.value == 0.25f);
      CHECK(g.node(g.require_node("p_reflect")).as<graph::PadAttrs>()->params.mode == ops::PadMode::reflect);
      CHECK(g.node(g.require_node("p_edge")).as<graph::PadAttrs>()->params.mode == ops::PadMode::edge);
      // 1x3x5x6 -> const 1x3x8x9 -> conv 3x3 1x4x6x7 -> reflect 1x4x9x11 -> edge 1x5x12x13.
      CHECK(g.value(g.outputs()[0]).shape == ops::Shape{1, 5, 12, 13});
      require_matches_oracle(g, graph::Layout::nchw, 9920);
      require_matches_oracle(g, graph::Layout::nhwc, 9920);
    }
  }
}

TEST_CASE("ONNX Pad refuses wrap mode, computed pads and negative pads, naming the node", "[onnx][pad][bad_input]") {
  TempDir dir;
  auto model = [&](const std::string& mode, bool computed_pads, std::int64_t first_pad) {
    OnnxModel m(13);
    m.input("x", {1, 2, 4, 4});
    if (computed_pads) {
      m.node("Relu", "make_pads", {"x"}, {"xr"});
      m.node("Pad", "the_pad", {"x", "xr"}, {"y"});  // pads computed by the graph
    } else {
      m.int64_initializer("pads", {8}, {0, 0, first_pad, 0, 0, 0, 1, 1});
      auto& n = m.node("Pad", "the_pad", {"x", "pads"}, {"y"});
      set_attr(n, "mode", mode);
    }
    m.output("y");
    return m.write(dir, fmt::format("bad{}.onnx", mode + (computed_pads ? "c" : "") + std::to_string(first_pad)));
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(message_of([&] { (void)io::import_onnx(model("wrap", false, 1)); }),
             Contains("the_pad") && Contains("wrap"));
  CHECK_THAT(message_of([&] { (void)io::import_onnx(model("constant", true, 1)); }),
             Contains("the_pad") && Contains("computed by the graph"));
  CHECK_THAT(message_of([&] { (void)io::import_onnx(model("constant", false, -1)); }),
             Contains("the_pad") && Contains("negative"));
}
