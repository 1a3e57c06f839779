// PyTorch's export idioms that used to break the importer (issue 13, first part), each as a
// small model built here and run on the device against the float64 oracle:
//  - integer constants stay exact int64 from the file to the graph: INT64_MAX / INT64_MIN /
//    large negative Slice bounds (x[:, d:] exports ends = INT64_MAX), and values above 2^24
//    that a trip through float would round, for every op that reads integers;
//  - zero-size tensors: a Slice that selects nothing and a Concat input with no elements along
//    the axis are dropped at import; anything else that would reach a kernel is refused;
//  - ONNX's conformance case resize_downsample_scales_linear_align_corners, whose
//    length_resized is in * scale (2.4), not the output's 2.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "io/onnx_export.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using namespace fusescope::testing::onnx_model;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// NCHW, and NHWC too unless the graph changes rank (a reshape the NHWC executor refuses).
void require_matches_oracle(const graph::Graph& g, const std::string& what, double tolerance, bool nhwc = true) {
  require_every_node_matches_oracle(g, "onnx import", what, tolerance, {.seed = 13});
  if (nhwc) {
    require_every_node_matches_oracle(g, "onnx import", what + " nhwc", tolerance,
                                      {.seed = 14, .layout = graph::Layout::nhwc});
  }
}

const graph::Node& node_named(const graph::Graph& g, const std::string& name) { return g.node(g.require_node(name)); }

// Runs g on the device and returns its one output, the input being `x`.
std::vector<float> run_device(const graph::Graph& g, const std::vector<float>& x) {
  graph::Executor exec(device(), g);
  exec.set_input(x);
  exec.run();
  return exec.read(g.value(g.outputs()[0]).name);
}

}  // namespace

TEST_CASE("ONNX conformance resize_downsample_scales_linear_align_corners: length_resized is in * scale",
          "[onnx][resize]") {
  // The ONNX backend test, rebuilt here: input 1x1x2x4 = 1..8, scales [1, 1, 0.6, 0.6], linear,
  // align_corners. Output floor(2 * 0.6) x floor(4 * 0.6) = 1x2. Along W, ONNX's length_resized
  // is 4 * 0.6 = 2.4, so x_original = 1 * (4 - 1) / (2.4 - 1) = 2.142857 and the value is
  // 1 + 2.142857 = 3.142857 (libonnx-testdata's output_0.pb holds 1, 3.142857). Dividing by the
  // output's 2 - 1 instead gives 4: the 0.857 error this test was written for.
  TempDir dir;
  OnnxModel m(13);
  m.input("X", {1, 1, 2, 4});
  m.initializer("scales", {4}, {1.0f, 1.0f, 0.6f, 0.6f});
  auto& r = m.node("Resize", "resize", {"X", "", "scales"}, {"Y"});
  set_attr(r, "mode", std::string("linear"));
  set_attr(r, "coordinate_transformation_mode", std::string("align_corners"));
  m.output("Y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  REQUIRE(g.value(g.require_value("Y")).shape == ops::Shape{1, 1, 1, 2});
  CHECK(node_named(g, "resize").as<graph::ResizeAttrs>()->params.length_from_scale);
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> expected{1.0, 1.0 + 3.0 / 1.4};  // 3.142857...
  graph::Graph gc = g;
  const auto oracle = graph::run_oracle(gc, {{"X", x}});
  const auto& o = oracle.at("Y").data;
  REQUIRE(o.size() == 2);
  // The oracle in float64 against the formula: the weight 2.142857 - 2 is computed from fp32's
  // 0.6 (0.60000002384), which moves 4 * scale by 1e-7 and the value by ~2e-7.
  CHECK(std::abs(o[0] - expected[0]) < 1e-6);
  CHECK(std::abs(o[1] - expected[1]) < 1e-6);
  const std::vector<float> y = run_device(g, x);
  REQUIRE(y.size() == 2);
  // The conformance tolerance (onnx backend tests compare with rtol 1e-3, atol 1e-7); the fp32
  // kernel is within a few ulps of 3.142857: 1e-5.
  CHECK(std::abs(y[0] - 1.0) < 1e-5);
  CHECK(std::abs(y[1] - 3.142857) < 1e-5);
  require_close("onnx import", "resize align_corners scales 0.6", y, oracle.at("Y"), 1e-6, 1e-6);
  // Exported, it must go out as scales (sizes would make length_resized 2 again) and read back
  // computing the same.
  write_bytes(dir.path / "exported.onnx", io::export_onnx_bytes(g));
  const graph::Graph back = io::import_onnx(dir.path / "exported.onnx");
  CHECK(node_named(back, "resize").as<graph::ResizeAttrs>()->params.length_from_scale);
  CHECK(run_device(back, x) == y);

  SECTION("sizes 1x2 instead of scales: length_resized is the output's 2, so the value is 4") {
    OnnxModel s(13);
    s.input("X", {1, 1, 2, 4});
    s.int_constant("sizes", {1, 1, 1, 2});
    auto& rs = s.node("Resize", "resize", {"X", "", "", "sizes"}, {"Y"});
    set_attr(rs, "mode", std::string("linear"));
    set_attr(rs, "coordinate_transformation_mode", std::string("align_corners"));
    s.output("Y");
    const graph::Graph gs = io::import_onnx(s.write(dir, "sizes.onnx"));
    CHECK_FALSE(node_named(gs, "resize").as<graph::ResizeAttrs>()->params.length_from_scale);
    CHECK(run_device(gs, x) == std::vector<float>{1.0f, 4.0f});
  }
  SECTION("an align_corners Resize by sizes exports as sizes where in * (out / in) is not out") {
    // 9 -> 7: fp32(7 / 9) * 9 = 7.0000001 in float64, whose floor is 7, so scales would
    // reproduce the size but move length_resized off 7 on the way back; the export keeps sizes.
    OnnxModel s(13);
    s.input("X", {1, 1, 3, 9});
    s.int_constant("sizes", {1, 1, 3, 7});
    auto& rs = s.node("Resize", "resize", {"X", "", "", "sizes"}, {"Y"});
    set_attr(rs, "mode", std::string("linear"));
    set_attr(rs, "coordinate_transformation_mode", std::string("align_corners"));
    s.output("Y");
    const graph::Graph gs = io::import_onnx(s.write(dir, "sizes7.onnx"));
    write_bytes(dir.path / "sizes7_exported.onnx", io::export_onnx_bytes(gs));
    const graph::Graph back = io::import_onnx(dir.path / "sizes7_exported.onnx");
    CHECK_FALSE(node_named(back, "resize").as<graph::ResizeAttrs>()->params.length_from_scale);
    CHECK(node_named(back, "resize").as<graph::ResizeAttrs>()->params.out_w == 7);
  }
  SECTION("conformance resize_downsample_sizes_nearest_tf_half_pixel_for_nn: ONNX's spelling is accepted") {
    // 1x1x4x4 = 1..16 to sizes 3x2, nearest, x_original = (x + 0.5) / scale: rows 1.33, 2, 3.33
    // ... round to 1, 2, 3; columns 1, 3. libonnx-testdata's output_0.pb: 6, 8, 10, 12, 14, 16.
    OnnxModel t(13);
    t.input("X", {1, 1, 4, 4});
    t.int_constant("sizes", {1, 1, 3, 2});
    auto& rt = t.node("Resize", "resize", {"X", "", "", "sizes"}, {"Y"});
    set_attr(rt, "coordinate_transformation_mode", std::string("tf_half_pixel_for_nn"));
    t.output("Y");
    const graph::Graph gt = io::import_onnx(t.write(dir, "tf_nn.onnx"));
    std::vector<float> x16(16);
    for (int i = 0; i < 16; ++i) x16[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
    CHECK(run_device(gt, x16) == std::vector<float>{6, 8, 10, 12, 14, 16});
  }
}

namespace {

// An int64 initializer written as raw little-endian bytes (how PyTorch writes them), unlike
// OnnxModel::int64_initializer's int64_data field: both decode paths must stay exact.
void raw_int64_initializer(OnnxModel& m, const std::string& name, const ops::Shape& shape,
                           const std::vector<std::int64_t>& values) {
  auto* t = m.g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (auto d : shape) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
}

// `name` = Sub(values + 2^62, 2^62), folded on the host. Exact in int64; through fp32 (or even
// float64) every value + 2^62 rounds to 2^62, so a float trip turns each into 0.
void exact_via_sub(OnnxModel& m, const std::string& name, const std::vector<std::int64_t>& values) {
  constexpr std::int64_t kBig = std::int64_t{1} << 62;
  std::vector<std::int64_t> shifted;
  for (auto v : values) shifted.push_back(v + kBig);
  const auto n = static_cast<std::int64_t>(values.size());
  raw_int64_initializer(m, name + ".shifted", {n}, shifted);
  m.int64_initializer(name + ".big", {n}, std::vector<std::int64_t>(values.size(), kBig));
  m.node("Sub", name + ".sub", {name + ".shifted", name + ".big"}, {name});
}

const ops::SliceParams& slice_of(const graph::Graph& g, const std::string& name) {
  const auto* a = node_named(g, name).as<graph::SliceAttrs>();
  REQUIRE(a != nullptr);
  return a->params;
}

}  // namespace

TEST_CASE("ONNX DPN split x[:, :d] / x[:, d:] with INT64_MAX ends feeding a Concat imports, runs, matches the oracle",
          "[onnx]") {
  // The Dual Path Network block as PyTorch exports it: a 1x1 conv's output is split into the
  // residual part c[:, :6] and the dense part c[:, 6:] (ends = INT64_MAX); the residual adds
  // to x[:, :6], the dense part concatenates with x[:, 6:], and the two join again.
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {1, 10, 5, 5});
  m.random_initializer("conv.w", {10, 10, 1, 1});
  m.node("Conv", "conv", {"x", "conv.w"}, {"c"});
  raw_int64_initializer(m, "zero", {1}, {0});
  raw_int64_initializer(m, "d", {1}, {6});
  raw_int64_initializer(m, "end", {1}, {kMax});  // raw bytes, as torch.onnx writes them
  m.int_constant("end_node_value", {kMax});      // a Constant node's value_ints
  m.int64_initializer("axis1", {1}, {1});
  m.node("Slice", "c_res", {"c", "zero", "d", "axis1"}, {"c_res_out"});
  m.node("Slice", "c_dense", {"c", "d", "end", "axis1"}, {"c_dense_out"});
  m.node("Slice", "x_res", {"x", "zero", "d", "axis1"}, {"x_res_out"});
  m.node("Slice", "x_dense", {"x", "d", "end_node_value", "axis1"}, {"x_dense_out"});
  m.node("Add", "residual", {"x_res_out", "c_res_out"}, {"res"});
  set_attr(m.node("Concat", "dense", {"x_dense_out", "c_dense_out"}, {"dense_out"}), "axis", std::int64_t{1});
  set_attr(m.node("Concat", "join", {"res", "dense_out"}, {"y"}), "axis", std::int64_t{1});
  m.output("y");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(slice_of(g, "c_dense").start == 6);
  CHECK(slice_of(g, "c_dense").length == 4);  // 10 - 6, not 0 (INT64_MAX through fp32 and back)
  CHECK(slice_of(g, "x_dense").length == 4);
  CHECK(slice_of(g, "c_res").length == 6);
  CHECK(g.value(g.require_value("y")).shape == ops::Shape{1, 14, 5, 5});
  // A 1x1 conv over 10 channels (K = 10) in fp32 and one add: within ~1e-6 of values below 3;
  // slices and concats copy. 1e-5; a wrong slice start or length errs by O(0.1).
  require_matches_oracle(g, "dpn split", 1e-5);
}

TEST_CASE("ONNX Slice bounds at the int64 extremes clamp as the ONNX spec says", "[onnx]") {
  // starts/ends: negative -> + dim, then clamped to [0, dim] (positive steps) or starts to
  // [0, dim - 1] and ends to [-1, dim - 1] (negative steps). Each case is one Slice of x's
  // channels (8), its expected start and length, and all run against the oracle.
  struct Case {
    const char* name;
    std::int64_t start, end, step;
    std::int64_t expect_start, expect_length;
  };
  const std::vector<Case> cases = {
      {"min_to_max", kMin, kMax, 1, 0, 8},
      {"last3_to_max", -3, kMax, 1, 5, 3},
      {"min_to_minus2", kMin, -2, 1, 0, 6},
      {"huge_negative_start", -1000000000000, 2, 1, 0, 2},
      {"huge_end", 2, 1000000000000, 1, 2, 6},
      {"step_max", 1, kMax, kMax, 1, 1},          // one element: the step does not matter
      {"step_min_reverse", kMax, kMin, kMin, 7, 1},  // starts -> 7, ends -> -1: one element
      {"reverse_one", -1, -2, -1, 7, 1},
  };
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 8, 3, 3});
  m.int64_initializer("axis1", {1}, {1});
  for (const Case& c : cases) {
    const std::string n = c.name;
    raw_int64_initializer(m, n + ".starts", {1}, {c.start});
    raw_int64_initializer(m, n + ".ends", {1}, {c.end});
    raw_int64_initializer(m, n + ".steps", {1}, {c.step});
    m.node("Slice", n, {"x", n + ".starts", n + ".ends", "axis1", n + ".steps"}, {n + "_out"});
    m.node("Relu", n + "_relu", {n + "_out"}, {n + "_y"});
    m.output(n + "_y");
  }
  const graph::Graph g = io::import_onnx(m.write(dir));
  for (const Case& c : cases) {
    INFO(c.name);
    const auto& p = slice_of(g, c.name);
    CHECK(g.value(g.require_value(std::string(c.name) + "_out")).shape == ops::Shape{2, c.expect_length, 3, 3});
    if (c.expect_length != 8) {  // the whole axis is a copy, made along axis 0
      CHECK(p.axis == 1);
      CHECK(p.start == c.expect_start);
      CHECK(p.length == c.expect_length);
    }
  }
  // Slices copy and relu is exact: bit for bit.
  require_matches_oracle(g, "slice extremes", 0.0);

  SECTION("a reversing slice of an activation (more than one element, step -1) is refused naming the node") {
    OnnxModel r(13);
    r.input("x", {2, 8, 3, 3});
    r.int64_initializer("axis1", {1}, {1});
    raw_int64_initializer(r, "s", {1}, {kMax});
    raw_int64_initializer(r, "e", {1}, {kMin});
    raw_int64_initializer(r, "st", {1}, {-1});
    r.node("Slice", "flip_channels", {"x", "s", "e", "axis1", "st"}, {"y"});
    r.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(r.write(dir, "flip.onnx")); }),
               Catch::Contains("flip_channels") && Catch::Contains("step other than 1"));
  }
}

TEST_CASE("ONNX shape chains fold on exact int64: Shape, Slice with INT64 extremes, Gather, Concat, Cast, "
          "ConstantOfShape into Reshape and Slice",
          "[onnx]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {1, 2, 3, 4});
  m.node("Shape", "shape", {"x"}, {"s"});
  // Reversed shape [4, 3, 2, 1]: starts INT64_MAX -> 3, ends INT64_MIN -> -1, step -1.
  raw_int64_initializer(m, "rs", {1}, {kMax});
  raw_int64_initializer(m, "re", {1}, {kMin});
  raw_int64_initializer(m, "rstep", {1}, {-1});
  m.node("Slice", "reverse_shape", {"s", "rs", "re", "", "rstep"}, {"reversed"});
  m.node("Reshape", "reshape_reversed", {"x", "reversed"}, {"x_rev"});
  // Flatten the PyTorch way: [N] = Slice(shape, INT64_MIN, 1) (ends 1), then Concat with -1.
  raw_int64_initializer(m, "lo", {1}, {kMin});
  m.int64_initializer("one", {1}, {1});
  m.node("Slice", "batch_dim", {"s", "lo", "one"}, {"n"});
  m.int64_initializer("minus_one", {1}, {-1});
  set_attr(m.node("Concat", "flat_shape", {"n", "minus_one"}, {"flat"}), "axis", std::int64_t{0});
  m.node("Reshape", "flatten", {"x", "flat"}, {"x_flat"});
  // Gather the last dim with index -1 (exact via Sub), as x.size(-1).
  exact_via_sub(m, "last", {-1});
  m.node("Gather", "gather_w", {"s", "last"}, {"w"});  // [4]
  // ends = ConstantOfShape([1], value INT64_MAX): x[..., 1:] along W via Cast to int64 of w.
  m.int64_initializer("one_dim", {1}, {1});
  auto& cos = m.node("ConstantOfShape", "open_end", {"one_dim"}, {"open"});
  {
    auto* a = cos.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    auto* t = a->mutable_t();
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(1);
    t->add_int64_data(kMax);
  }
  set_attr(m.node("Cast", "cast_open", {"open"}, {"open64"}), "to", std::int64_t{onnx::TensorProto::INT64});
  m.int64_initializer("axis3", {1}, {3});
  m.node("Slice", "drop_first_col", {"x", "one", "open64", "axis3"}, {"x_cols"});
  // Slice ends = w - 1 = 3, computed by the integer fold: x[..., :3].
  m.node("Sub", "w_minus_one", {"w", "one"}, {"w1"});
  m.node("Slice", "first_cols", {"x", "minus_one", "w1", "axis3"}, {"x_mid"});  // starts -1 -> 3, ends 3: empty?
  // starts -1 is 3 and ends 3: nothing. Concat it with x_cols: it is dropped.
  set_attr(m.node("Concat", "join", {"x_mid", "x_cols"}, {"joined"}), "axis", std::int64_t{3});
  m.output("x_rev");
  m.output("x_flat");
  m.output("joined");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(g.value(g.require_value("x_rev")).shape == ops::Shape{4, 3, 2, 1});
  CHECK(g.value(g.require_value("x_flat")).shape == ops::Shape{1, 24});
  CHECK(slice_of(g, "drop_first_col").start == 1);
  CHECK(slice_of(g, "drop_first_col").length == 3);
  CHECK(g.find_node("first_cols") == -1);  // selected nothing: no node
  CHECK(node_named(g, "join").inputs.size() == 1);
  CHECK(g.value(g.require_value("joined")).shape == ops::Shape{1, 2, 3, 3});
  // Views and copies: bit for bit.
  require_matches_oracle(g, "shape chain", 0.0, false);
}

TEST_CASE("ONNX integer inputs of Reshape, Pad, Resize, Squeeze, Unsqueeze, Split, Slice stay exact int64", "[onnx]") {
  // Each integer input is computed as Sub(v + 2^62, 2^62): exact in int64, 0 through a float.
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {1, 4, 3, 5});
  exact_via_sub(m, "pads", {0, 0, 1, 2, 0, 0, 2, 1});
  auto& pad = m.node("Pad", "pad", {"x", "pads"}, {"padded"});  // 1x4x6x8
  set_attr(pad, "mode", std::string("edge"));
  exact_via_sub(m, "sizes", {1, 4, 12, 16});
  m.initializer("no_roi", {0}, {});
  m.initializer("no_scales", {0}, {});  // empty roi and scales, as PyTorch writes them
  m.node("Resize", "resize", {"padded", "no_roi", "no_scales", "sizes"}, {"resized"});  // 1x4x12x16
  exact_via_sub(m, "unsq_axes", {-1});
  m.node("Unsqueeze", "unsqueeze", {"resized", "unsq_axes"}, {"unsq"});  // 1x4x12x16x1
  exact_via_sub(m, "sq_axes", {4});
  m.node("Squeeze", "squeeze", {"unsq", "sq_axes"}, {"sq"});
  exact_via_sub(m, "split_sizes", {1, 0, 3});
  set_attr(m.node("Split", "split", {"sq", "split_sizes"}, {"p0", "p_empty", "p1"}), "axis", std::int64_t{1});
  set_attr(m.node("Concat", "rejoin", {"p1", "p_empty", "p0"}, {"rejoined"}), "axis", std::int64_t{1});
  exact_via_sub(m, "starts", {2});
  exact_via_sub(m, "ends", {-2});
  exact_via_sub(m, "axes", {-1});
  exact_via_sub(m, "steps", {1});
  m.node("Slice", "slice", {"rejoined", "starts", "ends", "axes", "steps"}, {"sliced"});  // W 2..14
  exact_via_sub(m, "target", {0, 4, -1});
  m.node("Reshape", "reshape", {"sliced", "target"}, {"y"});  // 1x4x144
  auto& mean = m.node("ReduceMean", "mean", {"y"}, {"y_mean"});  // axes: an int64 attribute
  set_attr(mean, "axes", std::vector<std::int64_t>{-1});
  m.output("y_mean");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(g.value(g.require_value("padded")).shape == ops::Shape{1, 4, 6, 8});
  CHECK(g.value(g.require_value("resized")).shape == ops::Shape{1, 4, 12, 16});
  CHECK(g.value(g.require_value("unsq")).shape == ops::Shape{1, 4, 12, 16, 1});
  CHECK(g.value(g.require_value("sq")).shape == ops::Shape{1, 4, 12, 16});
  CHECK(g.value(g.require_value("p0")).shape == ops::Shape{1, 1, 12, 16});
  CHECK(g.find_value("p_empty") == graph::kNoValue);
  CHECK(node_named(g, "rejoin").inputs.size() == 2);
  CHECK(slice_of(g, "slice").start == 2);
  CHECK(slice_of(g, "slice").length == 12);
  CHECK(g.value(g.require_value("y")).shape == ops::Shape{1, 4, 144});
  CHECK(g.value(g.require_value("y_mean")).shape == ops::Shape{1, 4, 1});
  // Pad, nearest resize (sizes 2x exactly: scale 2, dyadic), views, slices and concats copy;
  // the mean of 144 values in fp32 is within ~144 * 2^-24 relative: 1e-5.
  require_matches_oracle(g, "exact int64 inputs", 1e-5, false);
}

TEST_CASE("ONNX zero-size tensors: dropped from Concat, refused elsewhere naming the node", "[onnx]") {
  TempDir dir;
  SECTION("a Slice selecting nothing (x[:, 8:] of 8 channels) and a zero-channel constant, both into Concats") {
    OnnxModel m(13);
    m.input("x", {1, 8, 4, 4});
    m.int64_initializer("eight", {1}, {8});
    m.int64_initializer("end", {1}, {kMax});
    m.int64_initializer("axis1", {1}, {1});
    m.node("Slice", "nothing", {"x", "eight", "end", "axis1"}, {"empty"});
    m.node("Relu", "relu", {"x"}, {"r"});
    set_attr(m.node("Concat", "cat_one", {"empty", "r"}, {"one"}), "axis", std::int64_t{1});
    m.initializer("no_channels", {1, 0, 4, 4}, {});
    set_attr(m.node("Concat", "cat_two", {"x", "no_channels", "one", "empty"}, {"y"}), "axis", std::int64_t{-3});
    m.output("y");
    const graph::Graph g = io::import_onnx(m.write(dir));
    CHECK(g.find_node("nothing") == -1);
    CHECK(node_named(g, "cat_one").inputs.size() == 1);
    CHECK(node_named(g, "cat_two").inputs.size() == 2);
    CHECK(g.value(g.require_value("y")).shape == ops::Shape{1, 16, 4, 4});
    require_matches_oracle(g, "zero-size concat", 0.0);  // copies and relu: exact
  }
  SECTION("a zero-size tensor reaching a kernel, or the graph's output, is refused naming the nodes") {
    OnnxModel m(13);
    m.input("x", {1, 8, 4, 4});
    m.int64_initializer("s", {1}, {-1000000000000});
    m.int64_initializer("e", {1}, {kMin});
    m.int64_initializer("axis1", {1}, {1});
    m.node("Slice", "nothing", {"x", "s", "e", "axis1"}, {"empty"});
    m.node("Relu", "relu_on_empty", {"empty"}, {"y"});
    m.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(m.write(dir, "relu.onnx")); }),
               Catch::Contains("relu_on_empty") && Catch::Contains("'nothing'") && Catch::Contains("zero-size") &&
                   Catch::Contains("1x0x4x4"));

    OnnxModel out(13);
    out.input("x", {1, 8, 4, 4});
    out.int64_initializer("s", {1}, {kMax});
    out.int64_initializer("e", {1}, {kMax});
    out.int64_initializer("axis1", {1}, {1});
    out.node("Slice", "nothing", {"x", "s", "e", "axis1"}, {"empty"});
    set_attr(out.node("Concat", "all_empty", {"empty", "empty"}, {"y"}), "axis", std::int64_t{1});
    out.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(out.write(dir, "out.onnx")); }),
               Catch::Contains("graph output 'y'") && Catch::Contains("zero-size") && Catch::Contains("all_empty"));

    OnnxModel add(13);
    add.input("x", {1, 8, 4, 4});
    add.initializer("nothing_const", {1, 0, 4, 4}, {});
    add.node("Add", "add_empty", {"x", "nothing_const"}, {"y"});
    add.output("y");
    CHECK_THAT(message_of([&] { (void)io::import_onnx(add.write(dir, "add.onnx")); }),
               Catch::Contains("add_empty") && Catch::Contains("no elements"));
  }
}
