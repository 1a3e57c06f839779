// Transpose, Pad and constant operands inside whole graphs, in both activation layouts, against
// the float64 oracle run of the same graph:
//   - an NHWC image input with a leading Transpose [0,3,1,2] runs under --layout nhwc with no
//     transpose pass at all (the input keeps its plain bytes, the transpose is a view), and the
//     heads' Transpose [0,2,3,1] before a Reshape is a view too; under nchw both are copies;
//   - transposes that do move elements run as one copy on the physical layout;
//   - an input only a Flatten or Reshape reads keeps its plain order and flattens correctly;
//   - Pad of NHWC maps, with pads mapped through the permutation;
//   - Concat, binary ops and Transpose with constant operands (ConstantOfShape's zero channels).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// fp32 convs over K <= 12 * 9 = 108 products (sqrt(K) * 2^-24 ~ 6e-7 relative), copies, a
// pool and adds: 1e-5 leaves an order of magnitude of room, while a misplaced element (a wrong
// permutation or pad mapping) errs at O(1).
constexpr double kGraphTolerance = 1e-5;

graph::ValueId conv(graph::Graph& g, std::mt19937& rng, const std::string& name, graph::ValueId x,
                    std::int64_t out_channels, std::int64_t k) {
  const std::int64_t c = g.value(x).shape[1];
  const ops::Conv2dParams p = conv_params(c, out_channels, k, 1, k / 2);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c * k * k));
  const graph::ValueId w =
      g.add_constant(name + ".w", ops::conv2d_weight_shape(p), random_values(rng, out_channels * c * k * k, -scale, scale));
  const graph::ValueId b = g.add_constant(name + ".b", {out_channels}, random_values(rng, out_channels, -0.1f, 0.1f));
  return g.add_node(name, "", graph::ConvAttrs{p, {}, {}}, {x, w, b, graph::kNoValue, graph::kNoValue});
}

std::size_t dispatches_of(const graph::Executor& e, const std::string& node) {
  for (const graph::NodeTiming& t : e.node_timings())
    if (t.node == node) return t.dispatches;
  FAIL("no node " << node);
  return 0;
}

// Runs `g` in `layout` with every value tapped and checks each computed value against the
// oracle's; returns the executor for the caller's own checks.
std::unique_ptr<graph::Executor> run_against_oracle(const graph::Graph& g, graph::Layout layout,
                                                    const std::vector<float>& x) {
  graph::Graph gc = g;
  graph::OracleOptions oo;
  oo.keep_all = true;
  const std::string input = g.value(g.inputs()[0]).name;
  const auto oracle = graph::run_oracle(gc, {{input, x}}, oo);
  graph::ExecutorOptions eo;
  eo.layout = layout;
  eo.tap_all = true;
  auto e = std::make_unique<graph::Executor>(device(), g, eo);
  e->set_input(x);
  e->run();
  require_no_validation_messages();
  for (const graph::Node& node : g.nodes()) {
    const std::string& v = g.value(node.output).name;
    INFO(to_string(layout) << " " << v);
    require_close(fmt::format("graph {}", to_string(layout)), g.name() + " " + v, e->read(v), oracle.at(v),
                  kGraphTolerance, kGraphTolerance);
  }
  return e;
}

// A TensorFlow-style detector in miniature: an NHWC image, Transpose to NCHW, conv + relu,
// channels zero-padded by concatenating a constant (ConstantOfShape), a max pool, a residual
// add, a head conv, and the head's Transpose back to NHWC + Reshape to [1, anchors, values].
graph::Graph nhwc_detector() {
  graph::Graph g("nhwc-detector");
  std::mt19937 rng(9800);
  const graph::ValueId image = g.add_input("image", {1, 10, 12, 3});
  const graph::ValueId nchw = g.add_node("to_nchw", "", graph::TransposeAttrs{{{0, 3, 1, 2}}}, {image});
  graph::ValueId x = conv(g, rng, "conv1", nchw, 8, 3);
  x = g.add_node("relu1", "", graph::ActivationAttrs{ops::Activation::relu()}, {x});
  const graph::ValueId zeros = g.add_constant("zero_channels", {1, 4, 10, 12}, std::vector<float>(4 * 10 * 12, 0.0f));
  x = g.add_node("pad_channels", "", graph::ConcatAttrs{1}, {x, zeros});
  x = g.add_node("pool", "", graph::PoolAttrs{ops::square_pool(ops::PoolKind::max, 2, 2)}, {x});
  graph::ValueId y = conv(g, rng, "conv2", x, 12, 3);
  x = g.add_node("residual", "", graph::BinaryAttrs{ops::BinaryOp::add}, {y, x});
  x = conv(g, rng, "head", x, 4, 1);
  x = g.add_node("to_nhwc", "", graph::TransposeAttrs{{{0, 2, 3, 1}}}, {x});
  x = g.add_node("boxes", "", graph::ReshapeAttrs{{1, -1, 2}}, {x});
  g.mark_output(x);
  return g;
}

}  // namespace

TEST_CASE("an NHWC input's leading Transpose costs no dispatch under --layout nhwc", "[graph][layout][transpose]") {
  const graph::Graph g = nhwc_detector();
  REQUIRE(g.value(g.require_value("boxes")).shape == ops::Shape{1, 60, 2});
  std::mt19937 rng(9801);
  const std::vector<float> x = random_values(rng, 10 * 12 * 3);
  const auto nchw = run_against_oracle(g, graph::Layout::nchw, x);
  const auto nhwc = run_against_oracle(g, graph::Layout::nhwc, x);

  // nchw: both transposes move elements, one copy each.
  CHECK(dispatches_of(*nchw, "to_nchw") == 1);
  CHECK(dispatches_of(*nchw, "to_nhwc") == 1);
  // nhwc: the image keeps its plain bytes, which are the NHWC layout of the transposed map, so
  // the transpose is a view of the input's memory; likewise the head's transpose before the
  // reshape reads an NHWC conv output into plain [N, H, W, C] order without moving a byte.
  CHECK(nhwc->stored_layout("image") == graph::Layout::nchw);
  CHECK(nhwc->stored_layout("to_nchw") == graph::Layout::nhwc);
  CHECK(nhwc->stored_layout("to_nhwc") == graph::Layout::nchw);
  CHECK(dispatches_of(*nhwc, "to_nchw") == 0);
  CHECK(dispatches_of(*nhwc, "to_nhwc") == 0);
  CHECK(nhwc->dispatch_count() + 2 == nchw->dispatch_count());
  const graph::MemoryPlan& plan = nhwc->memory_plan();
  CHECK(plan.alias_of[static_cast<std::size_t>(g.require_value("to_nchw"))] == g.require_value("image"));

  // And the two layouts agree on every value (each already matched the oracle).
  for (const graph::Value& v : g.values()) {
    if (v.constant) continue;
    INFO(v.name);
    require_close("nhwc vs nchw", "nhwc-detector " + v.name, nhwc->read(v.name), to_host(v.shape, nchw->read(v.name)),
                  kGraphTolerance, kGraphTolerance);
  }
}

TEST_CASE("transposes that move elements run as one copy on the physical layout", "[graph][layout][transpose]") {
  graph::Graph g("mid-transposes");
  std::mt19937 rng(9810);
  const graph::ValueId in = g.add_input("x", {2, 3, 6, 5});
  graph::ValueId x = conv(g, rng, "conv1", in, 4, 3);
  x = g.add_node("swap_hw", "", graph::TransposeAttrs{{{0, 1, 3, 2}}}, {x});      // [2,4,5,6]
  x = conv(g, rng, "conv2", x, 5, 3);
  x = g.add_node("swap_ch", "", graph::TransposeAttrs{{{0, 2, 1, 3}}}, {x});      // [2,5,5,6]: H becomes C
  x = conv(g, rng, "conv3", x, 3, 1);
  const graph::ValueId out = g.add_node("reverse", "", graph::TransposeAttrs{{}}, {x});  // [6,5,3,2]
  g.mark_output(out);
  const std::vector<float> values = random_values(rng, 2 * 3 * 6 * 5);
  for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
    DYNAMIC_SECTION(to_string(layout)) {
      const auto e = run_against_oracle(g, layout, values);
      for (const char* t : {"swap_hw", "swap_ch", "reverse"}) {
        INFO(t);
        CHECK(dispatches_of(*e, t) == 1);
      }
    }
  }
}

TEST_CASE("a transpose that only moves size-1 dims is a view in both layouts", "[graph][layout][transpose]") {
  graph::Graph g("size-one-transpose");
  std::mt19937 rng(9820);
  const graph::ValueId in = g.add_input("x", {1, 3, 1, 1});
  graph::ValueId x = conv(g, rng, "fc_as_conv", in, 8, 1);                        // [1,8,1,1]
  x = g.add_node("to_nhwc", "", graph::TransposeAttrs{{{0, 2, 3, 1}}}, {x});      // [1,1,1,8]
  x = g.add_node("flat", "", graph::ReshapeAttrs{{1, 8}}, {x});
  g.mark_output(x);
  const std::vector<float> values = random_values(rng, 3);
  for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
    DYNAMIC_SECTION(to_string(layout)) {
      const auto e = run_against_oracle(g, layout, values);
      CHECK(dispatches_of(*e, "to_nhwc") == 0);
    }
  }
}

TEST_CASE("a 4-D input read only by Flatten or Reshape keeps its plain order under nhwc", "[graph][layout]") {
  // Before plain values existed such an input was stored NHWC and the flatten refused (it would
  // have read the features in NHWC order); kept plain, its features are in NCHW order already.
  graph::Graph g("flatten-input");
  std::mt19937 rng(9825);
  const graph::ValueId in = g.add_input("x", {2, 3, 2, 2});
  const graph::ValueId flat = g.add_node("features", "", graph::FlattenAttrs{}, {in});
  const graph::ValueId in2 = g.add_input("y", {1, 4, 3, 2});
  const graph::ValueId rows = g.add_node("rows", "", graph::ReshapeAttrs{{4, 6}}, {in2});
  g.mark_output(flat);
  g.mark_output(rows);
  const std::vector<float> x = random_values(rng, 24), y = random_values(rng, 24);
  graph::ExecutorOptions eo;
  eo.layout = graph::Layout::nhwc;
  graph::Executor e(device(), g, eo);
  CHECK(e.stored_layout("x") == graph::Layout::nchw);
  e.set_input("x", x);
  e.set_input("y", y);
  e.run();
  // Views of the inputs' bytes: exactly the values given, in order.
  CHECK(e.read("features") == x);
  CHECK(e.read("rows") == y);
  CHECK(e.dispatch_count() == 0);
  require_no_validation_messages();
}

TEST_CASE("pad runs on NHWC maps with its pads mapped through the permutation", "[graph][layout][pad]") {
  graph::Graph g("pads");
  std::mt19937 rng(9830);
  const graph::ValueId in = g.add_input("x", {2, 3, 5, 4});
  graph::ValueId x = conv(g, rng, "conv1", in, 4, 1);
  // Different pads on every side of H and W, and on C, so a pad applied to the wrong axis shows.
  x = g.add_node("reflect", "", graph::PadAttrs{{ops::PadMode::reflect, {0, 0, 1, 3, 0, 0, 2, 1}, 0.0f}}, {x});
  x = conv(g, rng, "conv2", x, 3, 3);
  x = g.add_node("channels", "", graph::PadAttrs{{ops::PadMode::constant, {0, 1, 0, 0, 0, 2, 0, 1}, 0.5f}}, {x});
  x = g.add_node("edge", "", graph::PadAttrs{{ops::PadMode::edge, {0, 0, 2, 0, 0, 0, 0, 3}, 0.0f}}, {x});
  g.mark_output(x);
  REQUIRE(g.value(x).shape == ops::Shape{2, 6, 10, 12});
  const std::vector<float> values = random_values(rng, 2 * 3 * 5 * 4);
  for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
    DYNAMIC_SECTION(to_string(layout)) { (void)run_against_oracle(g, layout, values); }
  }
}

TEST_CASE("concat, add and transpose take constant operands in both layouts", "[graph][layout][concat]") {
  graph::Graph g("constant-operands");
  std::mt19937 rng(9840);
  const graph::ValueId in = g.add_input("x", {1, 3, 4, 5});
  graph::ValueId x = conv(g, rng, "conv1", in, 4, 3);
  // A constant first and last in a concat (zero channels, as ConstantOfShape makes them, and
  // random ones, which show a misplaced element), and a 4-D constant added to a map.
  const graph::ValueId zeros = g.add_constant("zeros", {1, 2, 4, 5}, std::vector<float>(2 * 4 * 5, 0.0f));
  const graph::ValueId noise = g.add_constant("noise", {1, 3, 4, 5}, random_values(rng, 3 * 4 * 5));
  x = g.add_node("cat", "", graph::ConcatAttrs{1}, {noise, x, zeros});  // [1,9,4,5]
  const graph::ValueId bias = g.add_constant("bias", {1, 9, 4, 5}, random_values(rng, 9 * 4 * 5));
  x = g.add_node("plus", "", graph::BinaryAttrs{ops::BinaryOp::add}, {bias, x});
  // A transposed constant (computed on the device, since a hand-built graph is not folded), one
  // whose perm keeps the element order included: a constant has no planned memory to alias.
  const graph::ValueId hw = g.add_constant("hw", {1, 1, 5, 4}, random_values(rng, 5 * 4));
  const graph::ValueId same = g.add_node("same_order", "", graph::TransposeAttrs{{{1, 0, 2, 3}}}, {hw});
  const graph::ValueId wh = g.add_node("wh", "", graph::TransposeAttrs{{{0, 1, 3, 2}}}, {same});
  x = g.add_node("times", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {x, wh});
  x = conv(g, rng, "conv2", x, 2, 3);
  g.mark_output(x);
  const std::vector<float> values = random_values(rng, 3 * 4 * 5);
  REQUIRE(g.value(x).shape == ops::Shape{1, 2, 4, 5});
  for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
    DYNAMIC_SECTION(to_string(layout)) { (void)run_against_oracle(g, layout, values); }
  }
}
