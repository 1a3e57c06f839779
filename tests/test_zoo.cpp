// The model zoo against facts known independently of our builders: layer and parameter counts
// published for the original networks (Keras' model.summary(), the RepVGG paper), counts worked
// out by hand from the original code, channel arithmetic of DPN's dual paths, and how a
// parameterised model's arguments change shapes. Then the calibrated networks themselves: on an
// image they were not calibrated on, their outputs neither explode nor vanish.
//
// Structure is checked on the builders' raw graphs (no calibration: fast); the scale checks go
// through build_model, so calibration and the carry-over of statistics are what they judge.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "graph/oracle_runner.hpp"
#include "models/calibrate.hpp"
#include "models/zoo.hpp"

using namespace fusescope;

namespace {

// The builder alone at `input`, with "key=value" arguments (all of which must be used).
graph::Graph build_raw(const std::string& name, const ops::Shape& input,
                       std::map<std::string, std::string> values = {}) {
  models::ModelArgs args(name, std::move(values));
  graph::Graph g = models::find_model(name).build(input, 1, args);
  args.expect_all_used();
  return g;
}

template <class Attrs>
int count_op(const graph::Graph& g) {
  return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(),
                                        [](const graph::Node& n) { return n.as<Attrs>() != nullptr; }));
}

int count_named(const graph::Graph& g, const std::string& suffix) {
  return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const graph::Node& n) {
    return n.name.size() >= suffix.size() && n.name.ends_with(suffix);
  }));
}

const graph::Node& node(const graph::Graph& g, const std::string& name) {
  return g.node(g.require_node(name));
}

const ops::Shape& shape(const graph::Graph& g, const std::string& value) {
  return g.value(g.require_value(value)).shape;
}

const ops::Shape& output_shape(const graph::Graph& g) { return g.value(g.outputs().at(0)).shape; }

// ---- calibrated scale ----

// Each zoo entry, the value whose scale is judged, and the input it runs at: batch 1 at the
// entry's calibration H x W, the smallest the architecture is calibrated for, so the float64
// oracle stays quick (DPN needs 32x32 whatever happens: its linear layer expects a 1x1 map).
struct ScaleCase {
  std::string model;
  std::string value;  // "" = the graph's output
};

const std::vector<ScaleCase>& scale_cases() {
  static const std::vector<ScaleCase> cases{
      {"conv_bn_layer", ""},
      // The softmax output cannot fail a scale check (its RMS over 1000 classes lies in
      // [1e-3, 0.032] whatever the logits do), so the logits are judged.
      {"resnet50-keras", "predictions_dense"},
      {"resnet45", ""},
      {"repvgg-a0", ""},
      {"repvgg-b0", ""},
      {"ppyoloe-repvgg-block", ""},
      {"dpn92", ""},
      {"dpn26", ""},
  };
  return cases;
}

double rms(const reference::HostTensor& t) {
  double sum = 0;
  for (double v : t.data) sum += v * v;
  return std::sqrt(sum / static_cast<double>(t.data.size()));
}

// Runs `g` on a seeded image (not the calibration batch: build_model calibrates on seed+1000)
// and returns the RMS of `value` (or the output), requiring every output value to be finite.
double output_rms(graph::Graph& g, const std::string& value) {
  const graph::Value& in = g.value(g.inputs().at(0));
  const std::string judged = value.empty() ? g.value(g.outputs().at(0)).name : value;
  graph::OracleOptions options;
  options.keep = {judged};
  const auto result = graph::run_oracle(g, {{in.name, models::calibration_images(in.shape, 7)}}, options);
  const reference::HostTensor& t = result.at(judged);
  for (double v : t.data) REQUIRE(std::isfinite(v));
  return rms(t);
}

// Calibration normalises each BN's input to unit variance on the calibration batch; on another
// image of the same statistics the output stays within a few orders of magnitude of 1. The
// bound is wide because small calibration batches overfit (RepVGG-B0's 28 plain blocks reach
// ~1e2), and it still has teeth: the same networks with neutral BN statistics leave it (see
// the uncalibrated case below).
constexpr double kRmsLow = 1e-3, kRmsHigh = 1e3;

void check_calibrated_scale(const std::string& model) {
  const auto it = std::find_if(scale_cases().begin(), scale_cases().end(),
                               [&](const ScaleCase& c) { return c.model == model; });
  REQUIRE(it != scale_cases().end());
  const models::ZooEntry& entry = models::find_model(model);
  models::ModelOptions options;
  options.batch = 1;
  options.height = entry.calibration_input[2];
  options.width = entry.calibration_input[3];
  graph::Graph g = models::build_model(model, options);
  const double r = output_rms(g, it->value);
  INFO(fmt::format("{} at 1x{}x{}x{}: output RMS {:.4g}", model, entry.calibration_input[1],
                   options.height, options.width, r));
  CHECK(r >= kRmsLow);
  CHECK(r <= kRmsHigh);
}

}  // namespace

TEST_CASE("zoo: every entry has a calibrated-scale check below", "[models]") {
  std::set<std::string> zoo_names, checked;
  for (const models::ZooEntry& e : models::zoo()) zoo_names.insert(e.name);
  for (const ScaleCase& c : scale_cases()) checked.insert(c.model);
  CHECK(zoo_names == checked);
  CHECK(zoo_names == std::set<std::string>{"conv_bn_layer", "resnet50-keras", "resnet45", "repvgg-a0",
                                           "repvgg-b0", "ppyoloe-repvgg-block", "dpn92", "dpn26"});
}

TEST_CASE("zoo: calibrated conv_bn_layer output scale", "[models]") {
  check_calibrated_scale("conv_bn_layer");
}
TEST_CASE("zoo: calibrated resnet50-keras logit scale", "[models]") {
  check_calibrated_scale("resnet50-keras");
}
TEST_CASE("zoo: calibrated resnet45 output scale", "[models]") { check_calibrated_scale("resnet45"); }
TEST_CASE("zoo: calibrated repvgg-a0 output scale", "[models]") { check_calibrated_scale("repvgg-a0"); }
TEST_CASE("zoo: calibrated repvgg-b0 output scale", "[models]") { check_calibrated_scale("repvgg-b0"); }
TEST_CASE("zoo: calibrated ppyoloe-repvgg-block output scale", "[models]") {
  check_calibrated_scale("ppyoloe-repvgg-block");
}
TEST_CASE("zoo: calibrated dpn92 output scale", "[models]") { check_calibrated_scale("dpn92"); }
TEST_CASE("zoo: calibrated dpn26 output scale", "[models]") { check_calibrated_scale("dpn26"); }

TEST_CASE("zoo: the scale bound catches an uncalibrated network", "[models]") {
  // Neutral statistics (mean 0, var 1) leave RepVGG's three summed branches unnormalised, so
  // the scale compounds block after block (about 2e6 at the logits).
  graph::Graph g = build_raw("repvgg-b0", {1, 3, 64, 64});
  CHECK(output_rms(g, "") > kRmsHigh);
}

TEST_CASE("zoo: build_model carries the calibrated statistics to the requested size", "[models]") {
  models::ModelOptions options;
  options.height = options.width = 16;
  graph::Graph g = models::build_model("conv_bn_layer", options);
  REQUIRE(output_shape(g) == ops::Shape{1, 32, 16, 16});
  const std::vector<float>& stats = g.value(g.require_value("conv1_bn.stats")).data;
  // Neutral statistics would be gamma 1, beta 0, mean 0, var 1 in every channel.
  CHECK(stats[0] != 1.0f);
  CHECK(stats[32] != 0.0f);
  CHECK(stats[64] != 0.0f);
  CHECK(stats[96] != 1.0f);
}

// ---- structure ----

TEST_CASE("zoo: resnet50-keras matches Keras' model.summary()", "[models]") {
  graph::Graph g = build_raw("resnet50-keras", {1, 3, 64, 64});
  CHECK(count_op<graph::ConvAttrs>(g) == 53);
  CHECK(count_op<graph::BatchNormAttrs>(g) == 53);
  CHECK(count_op<graph::BinaryAttrs>(g) == 16);
  // Keras' "Total params: 25,636,712" counts BN's gamma, beta, moving mean and variance, as
  // our [4, C] statistics constants do.
  CHECK(g.parameter_count() == 25'636'712);
  CHECK(output_shape(g) == ops::Shape{1, 1000});
}

TEST_CASE("zoo: resnet45 has the layers counted by hand from rec_resnet_45.py", "[models]") {
  // conv: conv1 + 2 per BasicBlock x (3+4+6+6+3 = 22) + one downsample per layer (layer1 and
  // layer3 stride 2, layers 2, 4, 5 change width: 32->64->128->256->512) = 1 + 44 + 5 = 50.
  // BN: one per conv = 50. add: one per block = 22. ReLU: stem + 2 per block = 45.
  // Parameters (conv weights + 4 BN vectors per channel):
  //   stem 3*32*9 + 4*32 = 992
  //   layer1: 3 x (32*32 + 9*32*32 + 8*32) + ds (32*32 + 4*32)                  =    32,640
  //   layer2: (32*64 + 9*64^2 + 8*64) + 3 x (64^2 + 9*64^2 + 8*64) + ds 32*64+4*64 =   166,144
  //   layer3: (64*128 + ...) + 5 x 164,864 + ds 8,704                             =   989,696
  //   layer4: 624,640 + 5 x 657,408 + ds 33,792                                   = 3,945,472
  //   layer5: 2,494,464 + 2 x 2,625,536 + ds 133,120                              = 7,878,656
  //   total 13,013,600
  graph::Graph g = build_raw("resnet45", {1, 3, 32, 128});
  CHECK(count_op<graph::ConvAttrs>(g) == 50);
  CHECK(count_op<graph::BatchNormAttrs>(g) == 50);
  CHECK(count_op<graph::BinaryAttrs>(g) == 22);
  CHECK(count_op<graph::ActivationAttrs>(g) == 45);
  CHECK(g.parameter_count() == 13'013'600);
  // Strides 2, 1, 2, 1, 1: a 32x128 text crop becomes an 8x32 map of 512 channels.
  CHECK(output_shape(g) == ops::Shape{1, 512, 8, 32});
  CHECK(count_named(g, ".downsample.0") == 5);
  const std::int64_t strides[] = {2, 1, 2, 1, 1};
  for (int layer = 1; layer <= 5; ++layer) {
    const std::string block = fmt::format("layer{}.0", layer);
    const graph::Node& ds = node(g, block + ".downsample.0");
    CHECK(ds.scope == fmt::format("layer{}/0", layer));
    CHECK(ds.as<graph::ConvAttrs>()->params.stride_h == strides[layer - 1]);
    CHECK_FALSE(ds.as<graph::ConvAttrs>()->params.has_bias);
    // The block's 1x1 conv never strides (conv1x1 is called without the stride); conv2 does.
    CHECK(node(g, block + ".conv1").as<graph::ConvAttrs>()->params.stride_h == 1);
    CHECK(node(g, block + ".conv2").as<graph::ConvAttrs>()->params.stride_h == strides[layer - 1]);
    CHECK(node(g, block + ".downsample.1").as<graph::BatchNormAttrs>()->params.epsilon == 1e-5f);
  }
}

namespace {

struct RepVggFacts {
  std::string name;
  int blocks;
  int identity_blocks;            // all but stage0 and the first (stride-2) block of each stage
  std::int64_t stage0_width, stage4_width;
  int deploy_weights_1e4;         // published params, in units of 10^4 (8.30M -> 830)
  int deploy_macs_1e8;            // published FLOPs (multiply-adds) at 224, units of 10^8
};

}  // namespace

TEST_CASE("zoo: repvgg blocks, identity branches and the paper's deploy size", "[models]") {
  // RepVGG paper (Ding et al. 2021), Table: A0 8.30M params, 1.4G FLOPs; B0 14.33M, 3.1G.
  const RepVggFacts facts[] = {
      {"repvgg-a0", 1 + 2 + 4 + 14 + 1, 1 + 3 + 13 + 0, 48, 1280, 830, 14},
      {"repvgg-b0", 1 + 4 + 6 + 16 + 1, 3 + 5 + 15 + 0, 64, 1280, 1433, 31},
  };
  for (const RepVggFacts& f : facts) {
    DYNAMIC_SECTION(f.name) {
      graph::Graph g = build_raw(f.name, {1, 3, 224, 224});
      CHECK(count_named(g, ".nonlinearity") == f.blocks);
      CHECK(count_named(g, ".rbr_dense.conv") == f.blocks);
      CHECK(count_named(g, ".rbr_1x1.conv") == f.blocks);
      CHECK(count_named(g, ".rbr_identity") == f.identity_blocks);
      CHECK(shape(g, "stage0.nonlinearity")[1] == f.stage0_width);
      CHECK(shape(g, "stage4.0.nonlinearity") == ops::Shape{1, f.stage4_width, 7, 7});
      CHECK(output_shape(g) == ops::Shape{1, 1000});

      // The identity branch exists exactly where the block keeps width and resolution, and
      // then it normalises the block's own input.
      std::int64_t weights = 0, macs = 0;
      for (const graph::Node& n : g.nodes()) {
        if (n.as<graph::GemmAttrs>()) {
          for (graph::ValueId v : n.inputs)
            if (v != graph::kNoValue && g.value(v).constant) weights += ops::numel(g.value(v).shape);
          macs += g.flops(n) / 2;
        }
        if (!n.name.ends_with(".rbr_dense.conv")) continue;
        const std::string block = n.name.substr(0, n.name.size() - std::string(".rbr_dense.conv").size());
        const auto& p = n.as<graph::ConvAttrs>()->params;
        INFO(block);
        CHECK_FALSE(p.has_bias);
        CHECK(p.pad_top == 1);
        CHECK(node(g, block + ".rbr_1x1.conv").as<graph::ConvAttrs>()->params.pad_top == 0);
        const bool expect_identity = p.in_channels == p.out_channels && p.stride_h == 1;
        const graph::NodeId id = g.find_node(block + ".rbr_identity");
        CHECK((id >= 0) == expect_identity);
        if (id >= 0) CHECK(g.node(id).inputs[0] == n.inputs[0]);
        // Deploy form: one 3x3 kernel per block (the paper counts no conv bias).
        weights += ops::numel(g.value(n.inputs[1]).shape);
        macs += g.flops(n) / 2;
      }
      CHECK(std::lround(static_cast<double>(weights) / 1e4) == f.deploy_weights_1e4);
      CHECK(std::lround(static_cast<double>(macs) / 1e8) == f.deploy_macs_1e8);
    }
  }
}

TEST_CASE("zoo: ppyoloe-repvgg-block is conv1(x) + alpha * conv2(x), then act", "[models]") {
  graph::Graph g = build_raw("ppyoloe-repvgg-block", {1, 64, 20, 20});
  CHECK(count_op<graph::ConvAttrs>(g) == 2);
  CHECK(count_op<graph::BatchNormAttrs>(g) == 2);
  const auto& c1 = node(g, "conv1.conv").as<graph::ConvAttrs>()->params;
  const auto& c2 = node(g, "conv2.conv").as<graph::ConvAttrs>()->params;
  CHECK((c1.kernel_h == 3 && c1.pad_top == 1 && !c1.has_bias));
  CHECK((c2.kernel_h == 1 && c2.pad_top == 0 && !c2.has_bias));

  const graph::Value& alpha = g.value(g.require_value("alpha"));
  REQUIRE(alpha.shape == ops::Shape{1});
  CHECK(alpha.data[0] >= 0.5f);
  CHECK(alpha.data[0] <= 1.5f);
  CHECK(alpha.data[0] != 1.0f);  // at 1, forgetting alpha when folding would go unnoticed
  const graph::Node& mul = node(g, "alpha_mul");
  CHECK(mul.as<graph::BinaryAttrs>()->op == ops::BinaryOp::mul);
  CHECK(mul.inputs == std::vector<graph::ValueId>{g.require_value("alpha"), g.require_value("conv2.bn")});
  CHECK(node(g, "add").inputs == std::vector<graph::ValueId>{g.require_value("conv1.bn"), mul.output});
  CHECK(node(g, "act").as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::relu);
  CHECK(output_shape(g) == ops::Shape{1, 64, 20, 20});

  SECTION("alpha=false adds the branches directly") {
    graph::Graph plain = build_raw("ppyoloe-repvgg-block", {1, 64, 20, 20}, {{"alpha", "false"}});
    CHECK(plain.find_node("alpha_mul") < 0);
    CHECK(plain.find_value("alpha") == graph::kNoValue);
    CHECK(node(plain, "add").inputs ==
          std::vector<graph::ValueId>{plain.require_value("conv1.bn"), plain.require_value("conv2.bn")});
  }
  SECTION("ch_in, ch_out and act (CSPResNet's swish) change the block") {
    graph::Graph small = build_raw("ppyoloe-repvgg-block", {1, 64, 20, 20},
                                   {{"ch_in", "32"}, {"ch_out", "16"}, {"act", "swish"}});
    CHECK(small.value(small.inputs()[0]).shape == ops::Shape{1, 32, 20, 20});
    CHECK(output_shape(small) == ops::Shape{1, 16, 20, 20});
    CHECK(node(small, "act").as<graph::ActivationAttrs>()->activation.kind == ops::ActivationKind::silu);
  }
  SECTION("a misspelt argument is an error") {
    CHECK_THROWS_AS(models::build_model("ppyoloe-repvgg-block:alhpa=false"), ops::InvalidArgument);
  }
}

TEST_CASE("zoo: dpn dual-path channel arithmetic", "[models]") {
  // After a stage of n blocks: out_planes residual channels + (n + 1) * dense_depth dense ones
  // (the first block's shortcut brings 2 * dense_depth, each later block one more).
  struct Stage {
    std::string last_block;
    std::int64_t channels, size;
  };
  SECTION("dpn92") {
    graph::Graph g = build_raw("dpn92", {1, 3, 32, 32});
    const Stage stages[] = {{"layer1.2.relu", 256 + 4 * 16, 32},
                            {"layer2.3.relu", 512 + 5 * 32, 16},
                            {"layer3.19.relu", 1024 + 21 * 24, 8},
                            {"layer4.2.relu", 2048 + 4 * 128, 4}};
    for (const Stage& s : stages) CHECK(shape(g, s.last_block) == ops::Shape{1, s.channels, s.size, s.size});
    CHECK(node(g, "linear").as<graph::GemmAttrs>()->params.in_features == 2560);
    CHECK(output_shape(g) == ops::Shape{1, 10});
    // conv1 + 3 per Bottleneck x (3+4+20+3 = 30) + 4 first-block shortcuts.
    CHECK(count_op<graph::ConvAttrs>(g) == 1 + 90 + 4);
    CHECK(count_op<graph::BatchNormAttrs>(g) == 95);
    CHECK(count_op<graph::ConcatAttrs>(g) == 30);
    CHECK(count_named(g, ".shortcut.0") == 4);
    CHECK(node(g, "layer3.0.conv2").as<graph::ConvAttrs>()->params.groups == 32);
    CHECK(node(g, "layer3.0.conv2").as<graph::ConvAttrs>()->params.stride_h == 2);
    // A later block has no shortcut: its residual slice reads the previous block's output.
    CHECK(g.find_node("layer1.1.shortcut.0") < 0);
    CHECK(node(g, "layer1.1.split_x_res").inputs[0] == g.require_value("layer1.0.relu"));
    CHECK(shape(g, "layer1.1.split_x_dense")[1] == 2 * 16);
    CHECK(shape(g, "layer1.1.split_out_dense")[1] == 16);
  }
  SECTION("dpn26") {
    graph::Graph g = build_raw("dpn26", {1, 3, 32, 32});
    CHECK(shape(g, "layer1.1.relu")[1] == 256 + 3 * 16);
    CHECK(shape(g, "layer2.1.relu")[1] == 512 + 3 * 32);
    CHECK(shape(g, "layer3.1.relu")[1] == 1024 + 3 * 24);
    CHECK(node(g, "linear").as<graph::GemmAttrs>()->params.in_features == 2048 + 3 * 128);
    CHECK(count_op<graph::ConvAttrs>(g) == 1 + 3 * 8 + 4);
  }
  SECTION("other than 32x32 the linear layer would not fit, and we say so") {
    CHECK_THROWS_AS(build_raw("dpn26", {1, 3, 64, 64}), ops::InvalidArgument);
  }
}

TEST_CASE("zoo: conv_bn_layer arguments change shapes and attributes", "[models]") {
  graph::Graph plain = build_raw("conv_bn_layer", {1, 16, 32, 32});
  CHECK(output_shape(plain) == ops::Shape{1, 32, 32, 32});
  CHECK(plain.find_value("conv1.bias") == graph::kNoValue);

  graph::Graph strided = build_raw("conv_bn_layer", {1, 16, 32, 32}, {{"stride", "2"}});
  CHECK(output_shape(strided) == ops::Shape{1, 32, 16, 16});

  graph::Graph wide = build_raw("conv_bn_layer", {1, 16, 32, 32},
                                {{"num_filters", "8"}, {"filter_size", "5"}, {"channels", "4"}});
  CHECK(wide.value(wide.inputs()[0]).shape == ops::Shape{1, 4, 32, 32});
  CHECK(output_shape(wide) == ops::Shape{1, 8, 32, 32});  // padding (5-1)/2 keeps the size
  CHECK(shape(wide, "conv1.weight") == ops::Shape{8, 4, 5, 5});

  graph::Graph biased = build_raw("conv_bn_layer", {1, 16, 32, 32}, {{"bias", "true"}, {"act", "relu6"}});
  CHECK(shape(biased, "conv1.bias") == ops::Shape{32});
  const auto& bn = *node(biased, "conv1_bn").as<graph::BatchNormAttrs>();
  CHECK(bn.activation.kind == ops::ActivationKind::clip);
  CHECK(bn.activation.beta == 6.0f);
}

// A size check (workbench::load_model's tensor limits) sees the graph at the requested size
// before calibration runs the float64 oracle, the second of a zoo model's load: a refused
// --size costs no calibration.
TEST_CASE("zoo: options.check sees the requested size before calibration", "[models]") {
  models::ModelOptions o;
  o.height = 100000;
  o.width = 100000;
  std::vector<std::string> stages;
  o.progress = [&](std::string_view stage, double) { stages.emplace_back(stage); };
  ops::Shape seen;
  o.check = [&](const graph::Graph& g) {
    seen = g.value(g.inputs()[0]).shape;
    throw ops::InvalidArgument("too big");
  };
  CHECK_THROWS_AS(models::build_model("resnet45", o), ops::InvalidArgument);
  CHECK(seen == ops::Shape{1, 3, 100000, 100000});
  CHECK(stages.empty());  // calibration reports every node it runs: it never started
  // Without a complaint the model is built and calibrated as before.
  models::ModelOptions fine;
  int checks = 0;
  fine.check = [&](const graph::Graph&) { ++checks; };
  fine.progress = [&](std::string_view stage, double) { stages.emplace_back(stage); };
  const graph::Graph g = models::build_model("conv_bn_layer", fine);
  CHECK(checks == 1);
  CHECK_FALSE(stages.empty());
}
