// The graph layer: shape errors name the node, memory planning never lets two live tensors
// share bytes and stays near the lower bound, and the executor's stepping (step, run_to,
// run_block) reaches exactly what a full run computes.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "models/calibrate.hpp"
#include "models/network_builder.hpp"
#include "models/zoo.hpp"
#include "test_support.hpp"
#include "workbench/kernel_cases.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// A small residual network: conv-bn-relu, a block with a conv shortcut, pooling and a head.
graph::Graph small_resnet(std::int64_t size = 12) {
  models::NetworkBuilder b("small-resnet", 3);
  graph::ValueId x = b.input("image", {2, 3, size, size});
  {
    models::ScopeGuard s(b, "stem");
    x = b.conv(x, "stem_conv", {.filters = 8, .kernel = 3, .stride = 1});
    x = b.batchnorm(x, "stem_bn");
    x = b.activation(x, "stem_relu", ops::Activation::relu());
  }
  {
    models::ScopeGuard s(b, "block1");
    graph::ValueId sc = b.conv(x, "block1_0_conv", {.filters = 16, .kernel = 1, .stride = 2, .padding = 0});
    sc = b.batchnorm(sc, "block1_0_bn");
    graph::ValueId y = b.conv(x, "block1_1_conv", {.filters = 16, .kernel = 3, .stride = 2});
    y = b.batchnorm(y, "block1_1_bn");
    y = b.add(sc, y, "block1_add");
    x = b.activation(y, "block1_out", ops::Activation::relu());
  }
  {
    models::ScopeGuard s(b, "head");
    x = b.global_average_pool(x, "pool");
    x = b.flatten(x, "flatten");
    x = b.linear(x, "fc", 5);
    x = b.softmax(x, "probs");
  }
  graph::Graph g = b.finish({x});
  models::calibrate_batchnorm(g, models::calibration_images({2, 3, size, size}, 4), 4);
  return g;
}

}  // namespace

TEST_CASE("graph shape errors name the node and what was expected", "[graph][bad-input]") {
  models::NetworkBuilder b("bad", 1);
  graph::ValueId x = b.input("image", {1, 3, 8, 8});
  CHECK_THROWS_WITH(b.conv(x, "too_big", {.filters = 4, .kernel = 11, .padding = 0}),
                    Catch::Contains("too_big") && Catch::Contains("does not fit"));
  graph::ValueId a = b.conv(x, "a", {.filters = 4, .kernel = 3});
  graph::ValueId c = b.conv(x, "c", {.filters = 6, .kernel = 3});
  CHECK_THROWS_WITH(b.add(a, c, "mismatch_add"), Catch::Contains("mismatch_add") && Catch::Contains("broadcast"));
  CHECK_THROWS_WITH(b.conv(x, "a", {.filters = 4, .kernel = 3}), Catch::Contains("already exists"));
  graph::Graph g = b.finish({a});
  CHECK_THROWS_WITH(g.require_value("nope"), Catch::Contains("no tensor named 'nope'"));
}

TEST_CASE("memory plan: live tensors never share bytes, ResNet50 stays near the lower bound", "[graph][memory]") {
  for (const char* spec : {"resnet50-keras", "dpn26"}) {
    DYNAMIC_SECTION(spec) {
      models::ModelOptions mo;
      mo.height = mo.width = 32;
      const graph::Graph g = models::build_model(spec, mo);
      const graph::MemoryPlan plan = graph::plan_memory(
          g, [&](graph::ValueId v) { return static_cast<std::uint64_t>(ops::numel(g.value(v).shape) * 4); },
          g.outputs(), 256);
      // Pairwise: overlapping lifetimes => disjoint byte ranges (aliases share on purpose).
      std::int64_t clashes = 0;
      for (std::size_t a = 0; a < g.values().size(); ++a) {
        if (g.values()[a].constant || plan.alias_of[a] != static_cast<graph::ValueId>(a)) continue;
        for (std::size_t b = a + 1; b < g.values().size(); ++b) {
          if (g.values()[b].constant || plan.alias_of[b] != static_cast<graph::ValueId>(b)) continue;
          const bool live_together = plan.first_step[a] <= plan.last_step[b] && plan.first_step[b] <= plan.last_step[a];
          const bool share = plan.offset[a] < plan.offset[b] + plan.bytes[b] && plan.offset[b] < plan.offset[a] + plan.bytes[a];
          clashes += live_together && share ? 1 : 0;
        }
      }
      CHECK(clashes == 0);
      INFO(fmt::format("peak {} B, largest node {} needs {} B, no sharing would need {} B", plan.peak_bytes,
                       plan.largest_node, plan.largest_node_io_bytes, plan.sum_of_activation_bytes));
      CHECK(plan.peak_bytes >= plan.largest_node_io_bytes);
      CHECK(plan.peak_bytes < plan.sum_of_activation_bytes / 4);
      if (std::string(spec) == "resnet50-keras") {
        // The target: within 1.5x of the largest single layer's inputs + output.
        CHECK(static_cast<double>(plan.peak_bytes) <= 1.5 * static_cast<double>(plan.largest_node_io_bytes));
      }
    }
  }
}

TEST_CASE("executor matches the oracle, and stepping reaches what a full run computes", "[graph][executor]") {
  const graph::Graph g = small_resnet();
  const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 9);
  graph::Graph gc = g;
  graph::OracleOptions oo;
  oo.keep_all = true;
  const auto oracle = graph::run_oracle(gc, {{"image", x}}, oo);

  graph::ExecutorOptions eo;
  eo.tap_all = true;
  graph::Executor full(device(), g, eo);
  full.set_input(x);
  full.run();
  for (const auto& node : g.nodes()) {
    const std::string& v = g.value(node.output).name;
    // fp32 through at most 6 layers of K <= 144: 1e-5 as for single convs.
    require_close("executor", "small-resnet " + v, full.read(v), oracle.at(v), 1e-5, 1e-5);
  }

  graph::Executor stepper(device(), g);  // no taps: memory is shared
  stepper.set_input(x);
  const std::string out = g.value(g.outputs()[0]).name;
  CHECK_THROWS_WITH(stepper.read(out), Catch::Contains("not computed yet"));
  stepper.step();
  CHECK(stepper.position() == 1);
  CHECK(stepper.can_read("stem_conv"));
  stepper.run_block();  // the rest of the stem scope
  CHECK(stepper.position() == 3);
  CHECK(stepper.read("stem_relu") == full.read("stem_relu"));
  stepper.run_to("block1_out");
  CHECK(stepper.read("block1_out") == full.read("block1_out"));
  stepper.step(100);
  CHECK(stepper.position() == g.nodes().size());
  CHECK(stepper.read(out) == full.read(out));
  // After a full run the untapped early tensors' bytes were reused: reading says so.
  if (!stepper.can_read("stem_conv")) {
    CHECK_THROWS_WITH(stepper.read("stem_conv"), Catch::Contains("tap it"));
  }
  // Replaying from the start gives the same bits again.
  stepper.reset();
  stepper.run();
  CHECK(stepper.read(out) == full.read(out));
  // Per-node GPU timings exist for every node that dispatched.
  if (device().info().timestamps) {
    std::size_t timed = 0;
    for (const auto& t : stepper.node_timings()) timed += t.dispatches > 0 ? 1 : 0;
    CHECK(timed == g.nodes().size() - 1);  // flatten dispatches nothing
  }
  require_no_validation_messages();
}

// --algorithm winograd4 means "wherever it can run": in fp32 it runs the 3x3 stride-1 stem (other
// bits than winograd's F(2x2), within its own bound of the oracle); in fp16, where it is refused,
// every conv runs auto's choice, so the network gives auto's bits exactly.
TEST_CASE("a forced winograd4 runs where it can, and auto's choice elsewhere", "[graph][executor][fp16]") {
  const graph::Graph g = small_resnet();
  const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 9);
  const std::string stem = "stem_conv";
  auto run = [&](ops::Precision precision, ops::ConvAlgorithm algorithm, const std::string& value) {
    graph::ExecutorOptions eo;
    eo.precision = precision;
    eo.conv_algorithm = algorithm;
    eo.taps = {value};
    graph::Executor exec(device(), g, eo);
    exec.set_input(x);
    exec.run();
    return exec.read(value);
  };
  graph::Graph gc = g;
  graph::OracleOptions oo;
  oo.keep_all = true;
  const auto oracle = graph::run_oracle(gc, {{"image", x}}, oo);
  const std::vector<float> f4 = run(ops::Precision::fp32, ops::ConvAlgorithm::winograd4, stem);
  CHECK(f4 != run(ops::Precision::fp32, ops::ConvAlgorithm::winograd, stem));  // it ran F(4x4), not F(2x2)
  require_close("executor winograd4", "small-resnet " + stem, f4, oracle.at(stem),
                workbench::kConv2dWinograd4RelL2, workbench::kConv2dWinograd4MaxAbs);
  const std::string out = g.value(g.outputs()[0]).name;
  for (ops::Precision precision : {ops::Precision::fp16s, ops::Precision::fp16}) {
    INFO(ops::to_string(precision));
    CHECK(run(precision, ops::ConvAlgorithm::winograd4, out) == run(precision, ops::ConvAlgorithm::automatic, out));
  }
  require_no_validation_messages();
}

TEST_CASE("convolutions split into pieces compute the same bits, stepped piece by piece", "[graph][executor]") {
  // 48x48: the stem conv has 576 work items, so pieces of one workgroup make 9 of them.
  const graph::Graph g = small_resnet(48);
  const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 9);
  graph::ExecutorOptions whole_options;
  whole_options.tap_all = true;
  graph::Executor whole(device(), g, whole_options);
  whole.set_input(x);
  whole.run();

  graph::ExecutorOptions split_options = whole_options;
  split_options.max_dispatch_macs = 1;  // the smallest piece: one workgroup per dispatch
  graph::Executor split(device(), g, split_options);
  CHECK(split.dispatch_count() > whole.dispatch_count() + 8);
  split.set_input(x);
  split.run();
  for (const auto& node : g.nodes()) {
    const std::string& v = g.value(node.output).name;
    INFO(v);
    CHECK(split.read(v) == whole.read(v));
  }

  // Piece by piece: a node's output is not readable until its last piece has run; a node can
  // be finished by step() from the middle; the result is the same bits.
  graph::Executor stepper(device(), g, [] {
    graph::ExecutorOptions o;
    o.max_dispatch_macs = 1;
    return o;
  }());
  stepper.set_input(x);
  CHECK_FALSE(stepper.step_piece());  // the stem conv's first piece
  CHECK(stepper.position() == 0);
  CHECK_FALSE(stepper.can_read("stem_conv"));
  stepper.step();  // the rest of the stem conv
  CHECK(stepper.position() == 1);
  CHECK(stepper.read("stem_conv") == whole.read("stem_conv"));
  std::size_t pieces = 0, finished = 0;
  while (stepper.position() < g.nodes().size()) {
    ++pieces;
    if (stepper.step_piece()) ++finished;
  }
  CHECK(finished == g.nodes().size() - 1);
  CHECK(pieces > finished);
  CHECK_FALSE(stepper.step_piece());  // at the end: nothing more
  const std::string out = g.value(g.outputs()[0]).name;
  CHECK(stepper.read(out) == whole.read(out));
  require_no_validation_messages();
}

TEST_CASE("executor falls back to one buffer per tensor when the plan exceeds one binding", "[graph][executor]") {
  const graph::Graph g = small_resnet();
  const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 9);
  graph::Executor shared(device(), g);
  graph::ExecutorOptions eo;
  eo.max_shared_activation_bytes = 1024;  // far below this graph's plan: forces the fallback
  graph::Executor separate(device(), g, eo);
  for (graph::Executor* e : {&shared, &separate}) {
    e->set_input(x);
    e->run();
  }
  const std::string out = g.value(g.outputs()[0]).name;
  CHECK(separate.read(out) == shared.read(out));
  require_no_validation_messages();
}

TEST_CASE("executor input checks", "[graph][executor][bad-input]") {
  const graph::Graph g = small_resnet();
  graph::Executor e(device(), g);
  std::vector<float> wrong(5);
  CHECK_THROWS_WITH(e.set_input(wrong), Catch::Contains("image") && Catch::Contains("2x3x12x12"));
  CHECK_THROWS_WITH(e.set_input("stem_conv", wrong), Catch::Contains("not a graph input"));
  CHECK_THROWS_WITH(e.run_to("no_such_node"), Catch::Contains("no node named"));
}
