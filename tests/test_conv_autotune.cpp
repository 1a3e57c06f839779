// --autotune (graph/conv_autotune.hpp): every conv gets an algorithm that ran its shape, the
// network still matches the float64 oracle, the winners are cached per device (a second run
// times nothing), and a corrupt cache or another device's entries are never used. Nothing here
// asserts on speed: which algorithm wins is the device's business, only that it is one that ran.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gpu/pipeline_cache_file.hpp"
#include "graph/conv_autotune.hpp"
#include "graph/conv_autotune_cache.hpp"
#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "models/calibrate.hpp"
#include "models/network_builder.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/encode_util.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using nlohmann::json;

namespace {

// A fresh $FUSESCOPE_CACHE_DIR for one test, removed (and the variable unset) at the end.
struct TempCacheDir {
  std::filesystem::path dir;
  explicit TempCacheDir(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / fmt::format("fusescope-autotune-{}-{}", name, ::getpid())) {
    std::filesystem::remove_all(dir);
    ::setenv("FUSESCOPE_CACHE_DIR", dir.c_str(), 1);
  }
  ~TempCacheDir() {
    ::unsetenv("FUSESCOPE_CACHE_DIR");
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path file() const { return dir / "conv_autotune.json"; }
};

// Four conv shapes, one of them twice (so shapes and nodes differ): a 3x3 stem, a depthwise 3x3,
// two 1x1 convs of one shape, and a strided 3x3; small, so each shape times in well under a second.
graph::Graph small_convnet() {
  models::NetworkBuilder b("autotune-net", 5);
  graph::ValueId x = b.input("image", {1, 8, 12, 12});
  x = b.conv(x, "stem", {.filters = 16, .kernel = 3});
  x = b.batchnorm(x, "stem_bn");
  x = b.activation(x, "stem_relu", ops::Activation::relu());
  x = b.conv(x, "dw", {.filters = 16, .kernel = 3, .groups = 16});
  x = b.conv(x, "pw1", {.filters = 16, .kernel = 1, .bias = true});
  x = b.activation(x, "pw1_relu", ops::Activation::relu());
  x = b.conv(x, "pw2", {.filters = 16, .kernel = 1, .bias = true});
  x = b.conv(x, "down", {.filters = 32, .kernel = 3, .stride = 2});
  graph::Graph g = b.finish({x});
  models::calibrate_batchnorm(g, models::calibration_images({1, 8, 12, 12}, 4), 4);
  return g;
}

const std::set<std::string> kConvNodes{"stem", "dw", "pw1", "pw2", "down"};

graph::ExecutorOptions autotuning() {
  graph::ExecutorOptions eo;
  eo.autotune = true;
  return eo;
}

json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::string this_device_uuid() { return gpu::device_identity(device().physical()).uuid; }

}  // namespace

TEST_CASE("autotune gives every conv an algorithm that ran it, and the network still matches the oracle",
          "[autotune][executor]") {
  TempCacheDir cache("oracle");
  const graph::Graph g = small_convnet();
  std::vector<std::string> log;
  graph::ExecutorOptions eo = autotuning();
  eo.autotune_log = [&log](const std::string& line) { log.push_back(line); };
  graph::Executor exec(device(), g, eo);

  const graph::ConvAutotuneReport* report = exec.autotune_report();
  REQUIRE(report != nullptr);
  CHECK(report->shapes.size() == 4);  // pw1 and pw2 share one
  CHECK(report->timed == 4);
  CHECK(report->from_cache == 0);
  CHECK(report->warnings.empty());
  std::size_t nodes = 0;
  for (const graph::ConvAutotuneShape& shape : report->shapes) {
    INFO(shape.description);
    nodes += shape.nodes.size();
    // Every algorithm of this build was tried: it ran, or it said why it could not.
    CHECK(shape.ms.size() + shape.refused.size() == std::size(ops::kConvAlgorithms));
    REQUIRE(shape.winner != ops::ConvAlgorithm::automatic);
    const auto winner = std::find_if(shape.ms.begin(), shape.ms.end(), [&](const auto& m) { return m.first == shape.winner; });
    REQUIRE(winner != shape.ms.end());  // the winner ran
    for (const auto& [a, ms] : shape.ms) CHECK(ms >= winner->second);  // and was the fastest that did
  }
  CHECK(nodes == kConvNodes.size());
  // The executor's graph carries the winners, and each is one the device can run on that shape.
  for (const graph::Node& node : exec.graph().nodes()) {
    const graph::ConvAttrs* a = node.as<graph::ConvAttrs>();
    if (a == nullptr) continue;
    INFO(node.name);
    CHECK(a->algorithm != ops::ConvAlgorithm::automatic);
    if (a->algorithm == ops::ConvAlgorithm::subgroup)
      CHECK(ops::subgroup_conv_fits(device(), a->params, exec.graph().value(node.inputs[0]).shape));
  }
  // One line per timed shape and a summary.
  REQUIRE(log.size() == 5);
  CHECK_THAT(log.front(), Catch::StartsWith("autotune: 3x3 8->16 12x12:") && Catch::Contains(" -> "));
  CHECK_THAT(log.back(), Catch::Contains("4 conv shape(s), 0 from cache, 4 timed"));

  const auto x = models::calibration_images(g.value(g.inputs()[0]).shape, 9);
  exec.set_input(x);
  exec.run();
  graph::Graph gc = g;
  const auto oracle = graph::run_oracle(gc, {{"image", x}}, {});
  const std::string out = g.value(g.outputs()[0]).name;
  // fp32 through 5 convs of K <= 144: 1e-5, the executor test's tolerance for the same depth.
  require_close("autotune", "autotune-net " + out, exec.read(out), oracle.at(out), 1e-5, 1e-5);

  // The cache file is there, whole, and holds this device's winners; no temporary is left.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache.dir)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
  const json j = read_json(cache.file());
  CHECK(j.at("devices").at(this_device_uuid()).at("convs").size() == 4);
  require_no_validation_messages();
}

TEST_CASE("autotune: a second run takes every winner from the cache and times nothing", "[autotune][executor]") {
  TempCacheDir cache("second");
  const graph::Graph g = small_convnet();
  graph::Executor first(device(), g, autotuning());
  REQUIRE(first.autotune_report()->timed == 4);

  std::vector<std::string> log;
  graph::ExecutorOptions eo = autotuning();
  eo.autotune_log = [&log](const std::string& line) { log.push_back(line); };
  graph::Executor second(device(), g, eo);
  const graph::ConvAutotuneReport& r = *second.autotune_report();
  CHECK(r.timed == 0);
  CHECK(r.from_cache == 4);
  CHECK(r.warnings.empty());
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    if (!kConvNodes.contains(g.nodes()[n].name)) continue;
    INFO(g.nodes()[n].name);
    CHECK(second.graph().nodes()[n].as<graph::ConvAttrs>()->algorithm ==
          first.graph().nodes()[n].as<graph::ConvAttrs>()->algorithm);
  }
  REQUIRE(log.size() == 1);  // the summary only
  CHECK_THAT(log[0], Catch::Contains("4 from cache, 0 timed"));

  // A forced algorithm leaves nothing to tune: no report, every conv on that algorithm.
  graph::ExecutorOptions forced = autotuning();
  forced.conv_algorithm = ops::ConvAlgorithm::direct;
  graph::Executor direct(device(), g, forced);
  CHECK(direct.autotune_report() == nullptr);
  // A node pinned in the graph keeps its algorithm: only automatic ones are tuned.
  graph::Graph pinned = g;
  for (graph::Node& node : pinned.nodes())
    if (auto* a = node.as<graph::ConvAttrs>()) a->algorithm = ops::ConvAlgorithm::direct;
  graph::Executor pinned_exec(device(), pinned, autotuning());
  CHECK(pinned_exec.autotune_report()->shapes.empty());
  for (const graph::Node& node : pinned_exec.graph().nodes())
    if (auto* a = node.as<graph::ConvAttrs>()) CHECK(a->algorithm == ops::ConvAlgorithm::direct);
  require_no_validation_messages();
}

TEST_CASE("autotune: a corrupt cache is ignored with a warning and replaced", "[autotune][executor][bad-input]") {
  TempCacheDir cache("corrupt");
  std::filesystem::create_directories(cache.dir);
  const graph::Graph g = small_convnet();
  for (const std::string& garbage : {std::string("{\"format\": \"fusescope conv autotune\", \"vers"),
                                    std::string("[1, 2, 3]"),
                                    // The right format, a device entry of the wrong shape.
                                    fmt::format(R"({{"format": "fusescope conv autotune", "version": 1, "devices":
                                                {{"{}": {{"driver_version": "new", "convs": 7}}}}}})",
                                                this_device_uuid())}) {
    INFO(garbage);
    { std::ofstream(cache.file(), std::ios::trunc) << garbage; }
    graph::Executor exec(device(), g, autotuning());
    const graph::ConvAutotuneReport& r = *exec.autotune_report();
    REQUIRE(r.warnings.size() == 1);
    CHECK_THAT(r.warnings[0], Catch::Contains("conv_autotune.json") && Catch::Contains("ignored"));
    CHECK(r.timed == 4);
    // Rewritten whole: readable, with this device's four winners.
    CHECK(read_json(cache.file()).at("devices").at(this_device_uuid()).at("convs").size() == 4);
  }
}

TEST_CASE("autotune: another device's winners, or this device's under another driver, are not used",
          "[autotune][executor]") {
  TempCacheDir cache("foreign");
  const graph::Graph g = small_convnet();
  { graph::Executor first(device(), g, autotuning()); }
  const std::string uuid = this_device_uuid();
  json j = read_json(cache.file());
  // The same winners filed under another device: every winner turned to depthwise.
  json other = j["devices"][uuid];
  for (auto& [key, entry] : other["convs"].items()) entry["algorithm"] = "depthwise";
  const std::string other_uuid(32, 'f');
  REQUIRE(other_uuid != uuid);
  j["devices"].erase(uuid);
  j["devices"][other_uuid] = other;
  { std::ofstream(cache.file(), std::ios::trunc) << j.dump(); }
  {
    graph::Executor exec(device(), g, autotuning());
    const graph::ConvAutotuneReport& r = *exec.autotune_report();
    CHECK(r.timed == 4);
    CHECK(r.from_cache == 0);
    CHECK(r.warnings.empty());  // another device's entries are no fault of the file
    // Both devices are in the file now, the other's untouched.
    const json after = read_json(cache.file());
    CHECK(after["devices"].contains(uuid));
    CHECK(after["devices"][other_uuid] == other);
  }
  // This device's entry under another driver version: timed again, with one line saying why.
  j = read_json(cache.file());
  j["devices"][uuid]["driver_version"] = gpu::device_identity(device().physical()).driver_version + 1;
  { std::ofstream(cache.file(), std::ios::trunc) << j.dump(); }
  graph::Executor exec(device(), g, autotuning());
  const graph::ConvAutotuneReport& r = *exec.autotune_report();
  CHECK(r.timed == 4);
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Catch::Contains("driver version"));
  CHECK(read_json(cache.file())["devices"][uuid]["driver_version"] ==
        gpu::device_identity(device().physical()).driver_version);
}

TEST_CASE("autotune: an algorithm that refuses a conv is not a candidate", "[autotune][executor]") {
  // A 3x3 conv over enough channels to loop past the device's loop limit in direct (lavapipe:
  // 18 iterations per channel, 65535 in all, so ~3650 channels): the algorithms whose loops it
  // overruns refuse it (gpu::DeviceLimit at encode time) and gemm, which walks the reduction in
  // steps, runs it. Which ones refuse is asked of the same estimate the encoder uses.
  if (device().info().loop_iteration_limit == 0) {
    note_skipped();  // the device has no loop limit: nothing refuses a wide conv
    return;
  }
  std::int64_t channels = 256;
  while (ops::fits_loop_budget(device(), ops::conv2d_loop_iterations(ops::ConvAlgorithm::direct,
                                                                     conv_params(channels, 8, 3), {})))
    channels += 256;
  TempCacheDir cache("refused");
  graph::Graph g("wide");
  const graph::ValueId x = g.add_input("x", {1, channels, 3, 3});
  std::mt19937 rng(3);
  graph::ConvAttrs attrs;
  attrs.params = conv_params(channels, 8, 3, 1, 1, 1, 1, false);
  const ops::Shape w_shape = ops::conv2d_weight_shape(attrs.params);
  const graph::ValueId w = g.add_constant("w", w_shape, random_values(rng, ops::numel(w_shape)));
  g.mark_output(g.add_node("conv", "", attrs, {x, w, graph::kNoValue, graph::kNoValue, graph::kNoValue}));
  graph::Executor exec(device(), g, autotuning());
  const graph::ConvAutotuneShape& shape = exec.autotune_report()->shapes.at(0);
  std::set<ops::ConvAlgorithm> refused;
  for (const auto& [a, why] : shape.refused) {
    INFO(ops::to_string(a) << ": " << why);
    refused.insert(a);
  }
  for (ops::ConvAlgorithm a : ops::kConvAlgorithms) {
    INFO(ops::to_string(a));
    const bool fits = ops::fits_loop_budget(
        device(), ops::conv2d_loop_iterations(a, attrs.params, ops::conv2d_default_gemm_tile(device())));
    if (!fits) CHECK(refused.contains(a));
  }
  CHECK(refused.contains(ops::ConvAlgorithm::direct));
  CHECK(!refused.contains(ops::ConvAlgorithm::gemm));
  CHECK(shape.winner != ops::ConvAlgorithm::automatic);
  CHECK(!refused.contains(shape.winner));
  for (const auto& [a, why] : shape.refused)
    if (a == ops::ConvAlgorithm::direct) CHECK_THAT(why, Catch::Contains("would loop"));
  // The refusals are remembered too, so the cached entry covers every algorithm.
  const json entry = read_json(cache.file())["devices"][this_device_uuid()]["convs"].at(shape.key);
  CHECK(entry["algorithm"] == ops::to_string(shape.winner));
  CHECK(entry["refused"].contains("direct"));
}
