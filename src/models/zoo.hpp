// The model zoo: networks people ask about when they fold BatchNorm, buildable by name, with
// deterministic weights and calibrated BatchNorm statistics (models/calibrate.hpp).
//
// A model is named alone ("resnet50-keras") or with arguments ("conv_bn_layer:filter_size=3,
// num_filters=64,stride=2,act=relu6"); unknown names and keys are errors that list what exists.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/progress.hpp"

namespace fusescope::models {

// "key=value" arguments of a parameterised model; every key must be consumed.
class ModelArgs {
 public:
  ModelArgs() = default;
  ModelArgs(std::string model, std::map<std::string, std::string> values);

  std::int64_t integer(const std::string& key, std::int64_t fallback);
  double number(const std::string& key, double fallback);
  bool flag(const std::string& key, bool fallback);
  std::string text(const std::string& key, const std::string& fallback);
  // Throws ops::InvalidArgument naming keys nobody asked for (typos).
  void expect_all_used() const;

 private:
  std::string model_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
};

using ModelBuilder = std::function<graph::Graph(const ops::Shape& input, std::uint32_t seed, ModelArgs& args)>;

struct ZooEntry {
  std::string name;
  std::string description;
  ops::Shape default_input;      // N, C, H, W
  ops::Shape calibration_input;  // smaller input the BN statistics are observed on
  ModelBuilder build;
};

const std::vector<ZooEntry>& zoo();
const ZooEntry& find_model(const std::string& name);  // throws listing the zoo

struct ModelOptions {
  std::int64_t batch = 0;   // 0: the model's default
  std::int64_t height = 0;  // 0: the model's default
  std::int64_t width = 0;
  std::uint32_t seed = 1;
  graph::Progress progress;  // told per node during BatchNorm calibration (a float64 pass)
  // Called with the graph at the requested size before calibration (the second of a zoo
  // model's load): a size check that throws here saves the user that second.
  std::function<void(const graph::Graph&)> check;
};

// Builds `spec` ("name" or "name:k=v,...") at the requested input size with calibrated
// BatchNorm statistics (calibrated on the entry's calibration input, then carried over by
// name, so every input size gets the same weights).
graph::Graph build_model(const std::string& spec, const ModelOptions& options = {});

// The builders (one file each under src/models/).
graph::Graph build_conv_bn_layer(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_resnet50_keras(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_resnet45(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_repvgg_a0(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_repvgg_b0(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_ppyoloe_repvgg_block(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_dpn92(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);
graph::Graph build_dpn26(const ops::Shape& input, std::uint32_t seed, ModelArgs& args);

}  // namespace fusescope::models
