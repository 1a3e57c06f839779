// Fusion passes over whole networks: the fused graph computes the same function (judged on the
// GPU against the unfused graph and against the float64 oracle), provenance accounts for every
// original node exactly once, names users know survive, and each pass does what it says on the
// patterns it is for (Keras block tails, Paddle's BN activations, RepVGG branches, PP-YOLOE alpha).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <map>
#include <set>

#include "fusion/at_risk.hpp"
#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "models/calibrate.hpp"
#include "models/zoo.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct ModelCase {
  const char* spec;
  std::int64_t size;
};

// Building calibrates BatchNorm with the float64 oracle, which is the slow part: build each
// (spec, size) once per test process.
graph::Graph build(const char* spec, std::int64_t size) {
  static std::map<std::pair<std::string, std::int64_t>, graph::Graph> cache;
  auto key = std::make_pair(std::string(spec), size);
  auto it = cache.find(key);
  if (it == cache.end()) {
    models::ModelOptions mo;
    mo.batch = 1;
    mo.height = mo.width = size;
    it = cache.emplace(key, models::build_model(spec, mo)).first;
  }
  return it->second;
}

}  // namespace

TEST_CASE("fuse_all keeps every zoo network the same function, with complete provenance", "[fusion][models]") {
  const std::vector<ModelCase> cases{{"conv_bn_layer", 16},       {"resnet50-keras", 32}, {"resnet45", 32},
                                     {"repvgg-a0", 32},           {"repvgg-b0", 32},      {"dpn26", 32},
                                     {"ppyoloe-repvgg-block", 16}};
  for (const ModelCase& c : cases) {
    DYNAMIC_SECTION(c.spec) {
      graph::Graph g = build(c.spec, c.size);
      if (std::string(c.spec) == "resnet45") {  // a text-recognition backbone: wide crops
        models::ModelOptions mo;
        mo.height = 32;
        mo.width = 64;
        g = models::build_model(c.spec, mo);
      }
      graph::Graph f = g;
      const fusion::FusionReport report = fusion::fuse_all(f);
      REQUIRE_NOTHROW(f.validate());
      CHECK(f.nodes().size() < g.nodes().size());
      CHECK(report.nodes_after == f.nodes().size());

      // Every original node is computed by exactly one fused node.
      std::map<std::string, int> covered;
      for (const auto& n : f.nodes())
        for (const auto& p : n.provenance) ++covered[p];
      for (const auto& n : g.nodes()) {
        INFO("original node " << n.name);
        CHECK(covered[n.name] == 1);
      }
      CHECK(covered.size() == g.nodes().size());
      // Fused values keep original names; outputs survive.
      for (const auto& n : f.nodes()) CHECK(g.find_value(f.value(n.output).name) != graph::kNoValue);
      CHECK(f.value(f.outputs()[0]).name == g.value(g.outputs()[0]).name);

      const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 21);
      const auto unfused = run_graph(g, x);
      const auto fused = run_graph(f, x);
      graph::Graph go = g;
      const auto oracle = graph::run_oracle(go, {{g.value(g.inputs()[0]).name, x}});
      const auto& expected = oracle.at(g.value(g.outputs()[0]).name);
      // End to end through up to ~100 fp32 layers: each adds ~1e-7 and deep stacks amplify it;
      // measured worst 2e-5 (ResNet50's deepest blocks at 32x32). 1e-4 still catches any wrong
      // fold, which moves outputs by O(1e-2) or more.
      require_close("fuse_all end to end", std::string(c.spec) + " unfused vs oracle", unfused, expected, 1e-4, 1e-4);
      require_close("fuse_all end to end", std::string(c.spec) + " fused vs oracle", fused, expected, 1e-4, 1e-4);
    }
  }
}

TEST_CASE("ResNet50-Keras: what each pass folds", "[fusion]") {
  const graph::Graph g = build("resnet50-keras", 32);
  graph::Graph bn_only = g;
  const auto r1 = fusion::fuse_batchnorm_only(bn_only);
  CHECK(r1.count("fold_batchnorm") == 53);
  CHECK(bn_only.nodes().size() == 175 - 53);
  graph::Graph all = g;
  const auto r2 = fusion::fuse_all(all);
  CHECK(r2.count("fold_batchnorm") == 53);
  CHECK(r2.count("fuse_residual_add") == 16);   // every block tail: add + relu into _3_conv
  CHECK(r2.count("fuse_activation") == 33);     // conv1 and two ReLUs per block
  CHECK(all.nodes().size() == 57);              // 53 convs + pool + avg pool + dense + softmax
  // The tail of a block: the expansion conv now produces `_out`, adding the shortcut.
  const graph::NodeId tail = all.find_node("conv2_block1_3_conv");
  REQUIRE(tail >= 0);
  const auto* conv = all.node(tail).as<graph::ConvAttrs>();
  CHECK(conv->epilogue.residual);
  CHECK(conv->epilogue.activation.kind == ops::ActivationKind::relu);
  CHECK(all.value(all.node(tail).output).name == "conv2_block1_out");
  CHECK(all.node(tail).provenance ==
        std::vector<std::string>{"conv2_block1_3_conv", "conv2_block1_3_bn", "conv2_block1_add", "conv2_block1_out"});
  // The dispatch count of the fused graph is at most half the unfused one's.
  CHECK(2 * all.nodes().size() <= g.nodes().size());
}

TEST_CASE("Paddle conv_bn_layer: BN and its act fold into one conv", "[fusion]") {
  graph::Graph g = build("conv_bn_layer:filter_size=3,num_filters=8,groups=2,act=relu6,channels=4", 8);
  REQUIRE(g.nodes().size() == 2);
  graph::Graph f = g;
  fusion::fuse_batchnorm_only(f);
  REQUIRE(f.nodes().size() == 1);
  const auto* conv = f.nodes()[0].as<graph::ConvAttrs>();
  CHECK(conv->params.has_bias);  // the BN shift lives in the bias now
  CHECK(conv->epilogue.activation.kind == ops::ActivationKind::clip);
  CHECK(f.value(f.nodes()[0].output).name == "conv1_bn");
}

TEST_CASE("RepVGG re-parameterisation: deploy form equals train form", "[fusion][repvgg]") {
  for (const char* spec : {"repvgg-a0", "ppyoloe-repvgg-block:alpha=true,act=silu", "ppyoloe-repvgg-block:alpha=false"}) {
    DYNAMIC_SECTION(spec) {
      const std::int64_t size = std::string(spec).rfind("repvgg-a0", 0) == 0 ? 64 : 20;
      const graph::Graph g = build(spec, size);
      graph::Graph f = g;
      const auto report = fusion::fuse_all(f);
      std::size_t convs = 0;
      for (const auto& n : f.nodes()) convs += n.as<graph::ConvAttrs>() ? 1 : 0;
      if (std::string(spec) == "repvgg-a0") {
        CHECK(report.count("reparameterize_repvgg") == 22);  // 1 + 2 + 4 + 14 + 1 blocks
        CHECK(convs == 22);
      } else {
        CHECK(report.count("reparameterize_repvgg") == 1);
        CHECK(convs == 1);
        CHECK(f.nodes().size() == 1);  // 3x3 conv with the activation in its epilogue
      }
      const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 5);
      const auto train = run_graph(g, x);
      const auto deploy = run_graph(f, x);
      // The target for RepVGG-A0: deploy vs train output rel-L2 <= 1e-5 in fp32.
      require_close("repvgg deploy vs train", spec, deploy, to_host(g.value(g.outputs()[0]).shape, train), 1e-5, 1e-4);
    }
  }
}

TEST_CASE("at-risk channels: a planted tiny running variance is flagged, healthy ones are not", "[fusion][fp16]") {
  graph::Graph g = build("conv_bn_layer:num_filters=8,channels=4", 8);
  CHECK(fusion::find_at_risk_channels(g).empty());
  const graph::ValueId stats = g.require_value("conv1_bn.stats");
  auto& data = g.value(stats).data;
  data[3 * 8 + 5] = 1e-8f;  // channel 5's running variance
  data[5] = 1.0f;           // gamma
  const auto risky = fusion::find_at_risk_channels(g);
  REQUIRE(risky.size() == 1);
  CHECK(risky[0].channel == 5);
  CHECK(risky[0].batchnorm == "conv1_bn");
  CHECK_THAT(risky[0].reasons, Catch::Contains("amplified"));
  CHECK(risky[0].scale > 300);  // 1 / sqrt(1e-8 + 1e-5)
}

TEST_CASE("fold precision: float64 and PyTorch's float32 order both fold, float64 no further from the oracle",
          "[fusion][folding]") {
  const graph::Graph g = build("resnet50-keras", 32);
  graph::Graph f64 = g, f32 = g;
  fusion::fuse_batchnorm_only(f64, fusion::FoldPrecision::float64);
  fusion::fuse_batchnorm_only(f32, fusion::FoldPrecision::float32_pytorch);
  // The folded weights differ (rounding order) but only by rounding.
  const auto& w64 = f64.value(f64.require_value("conv1_conv.weight.folded")).data;
  const auto& w32 = f32.value(f32.require_value("conv1_conv.weight.folded")).data;
  REQUIRE(w64.size() == w32.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < w64.size(); ++i) {
    differ += w64[i] != w32[i] ? 1 : 0;
    CHECK(std::abs(w64[i] - w32[i]) <= 2e-7f * std::max(1.0f, std::abs(w64[i])));
  }
  WARN(fmt::format("conv1 folded weights that differ between float64 and float32 folding: {} of {}", differ, w64.size()));
}

// The branch kernels the window shows are the ones the pass merges: per block, their float64
// sum rounded once is bit-for-bit the merged conv's weight and bias in the fused graph.
TEST_CASE("repvgg_block_kernels: the branches sum to the merged kernel exactly", "[fusion]") {
  for (const std::string spec : {"ppyoloe-repvgg-block", "repvgg-a0"}) {
    INFO(spec);
    models::ModelOptions mo;
    mo.height = mo.width = 32;
    const graph::Graph g = models::build_model(spec, mo);
    const auto blocks = fusion::repvgg_block_kernels(g);
    graph::Graph f = g;
    const fusion::FusionReport report = fusion::reparameterize_repvgg(f);
    REQUIRE(blocks.size() == report.count("reparameterize_repvgg"));
    REQUIRE(!blocks.empty());
    for (const auto& b : blocks) {
      INFO(b.node);
      REQUIRE(b.branches.size() >= 2);
      const graph::Node& merged = f.node(f.require_node(b.node));
      const auto& w = f.value(merged.inputs[1]).data;
      const auto& bias = f.value(merged.inputs[2]).data;
      REQUIRE(w.size() == b.branches[0].kernel.size());
      for (std::size_t i = 0; i < w.size(); ++i) {
        double sum = 0;
        for (const auto& br : b.branches) sum += br.kernel[i];
        REQUIRE(static_cast<float>(sum) == w[i]);
      }
      for (std::size_t o = 0; o < bias.size(); ++o) {
        double sum = 0;
        for (const auto& br : b.branches) sum += br.bias[o];
        REQUIRE(static_cast<float>(sum) == bias[o]);
      }
    }
  }
}
