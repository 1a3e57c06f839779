#include "models/zoo.hpp"

#include <fmt/format.h>

#include <sstream>

#include "models/calibrate.hpp"

namespace fusescope::models {

ModelArgs::ModelArgs(std::string model, std::map<std::string, std::string> values)
    : model_(std::move(model)), values_(std::move(values)) {}

namespace {
template <class T, class Parse>
T lookup(const std::string& model, std::map<std::string, std::string>& values,
         std::map<std::string, bool>& used, const std::string& key, T fallback, Parse parse,
         const char* kind) {
  used[key] = true;
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  try {
    std::size_t pos = 0;
    T v = parse(it->second, pos);
    if (pos != it->second.size()) throw std::invalid_argument("trailing characters");
    return v;
  } catch (const std::exception&) {
    throw ops::InvalidArgument(fmt::format("{}: {}={} is not {}", model, key, it->second, kind));
  }
}
}  // namespace

std::int64_t ModelArgs::integer(const std::string& key, std::int64_t fallback) {
  return lookup<std::int64_t>(model_, values_, used_, key, fallback,
                              [](const std::string& s, std::size_t& p) { return std::stoll(s, &p); },
                              "an integer");
}

double ModelArgs::number(const std::string& key, double fallback) {
  return lookup<double>(model_, values_, used_, key, fallback,
                        [](const std::string& s, std::size_t& p) { return std::stod(s, &p); }, "a number");
}

bool ModelArgs::flag(const std::string& key, bool fallback) {
  return lookup<bool>(model_, values_, used_, key, fallback,
                      [](const std::string& s, std::size_t& p) {
                        p = s.size();
                        if (s == "1" || s == "true" || s == "on") return true;
                        if (s == "0" || s == "false" || s == "off") return false;
                        throw std::invalid_argument(s);
                      },
                      "true/false");
}

std::string ModelArgs::text(const std::string& key, const std::string& fallback) {
  used_[key] = true;
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

void ModelArgs::expect_all_used() const {
  std::string unknown, known;
  for (const auto& [k, v] : values_)
    if (!used_.count(k)) unknown += (unknown.empty() ? "" : ", ") + k;
  for (const auto& [k, u] : used_) known += (known.empty() ? "" : ", ") + k;
  if (!unknown.empty()) {
    throw ops::InvalidArgument(fmt::format("{}: unknown argument(s) {}; it takes: {}", model_, unknown,
                                           known.empty() ? "none" : known));
  }
}

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries{
      {"conv_bn_layer",
       "PaddlePaddle's conv_bn_layer: conv (no bias) + batch_norm(act); args filter_size, "
       "num_filters, stride, padding, groups, act, bias, channels",
       {1, 16, 32, 32}, {2, 16, 16, 16}, build_conv_bn_layer},
      {"resnet50-keras",
       "Keras ResNet50 built from block1/stack1 with Keras' layer names (convs with bias, "
       "BN eps 1.001e-5), 1000-class softmax head",
       {1, 3, 224, 224}, {4, 3, 64, 64}, build_resnet50_keras},
      {"resnet45",
       "PaddleOCR's ResNet45 text-recognition backbone (BasicBlocks [3,4,6,6,3], no conv bias, "
       "BN eps 1e-5); outputs the [N,512,H/4,W/4] feature map",
       {1, 3, 32, 128}, {2, 3, 16, 64}, build_resnet45},
      {"repvgg-a0",
       "RepVGG-A0 in training form (3x3+BN, 1x1+BN, identity BN branches summed, ReLU); "
       "blocks [2,4,14,1], 1000 classes",
       {1, 3, 224, 224}, {2, 3, 64, 64}, build_repvgg_a0},
      {"repvgg-b0",
       "RepVGG-B0 in training form (3x3+BN, 1x1+BN, identity BN branches summed, ReLU); "
       "blocks [4,6,16,1], 1000 classes",
       {1, 3, 224, 224}, {2, 3, 64, 64}, build_repvgg_b0},
      {"ppyoloe-repvgg-block",
       "PP-YOLOE's RepVggBlock: conv_bn 3x3 + alpha * conv_bn 1x1, then act; args ch_in, "
       "ch_out, alpha, act (swish as in CSPResNet)",
       {1, 64, 40, 40}, {2, 64, 20, 20}, build_ppyoloe_repvgg_block},
      {"dpn92",
       "Dual Path Network 92 for CIFAR-10 (kuangliu/pytorch-cifar): grouped bottlenecks, "
       "residual + densely concatenated paths; 32x32 inputs",
       {1, 3, 32, 32}, {2, 3, 32, 32}, build_dpn92},
      {"dpn26",
       "Dual Path Network 26 for CIFAR-10 (kuangliu/pytorch-cifar), 2 blocks per stage; "
       "32x32 inputs",
       {1, 3, 32, 32}, {2, 3, 32, 32}, build_dpn26},
  };
  return entries;
}

const ZooEntry& find_model(const std::string& name) {
  for (const ZooEntry& e : zoo())
    if (e.name == name) return e;
  std::string names;
  for (const ZooEntry& e : zoo()) names += (names.empty() ? "" : ", ") + e.name;
  throw ops::InvalidArgument(fmt::format("unknown model '{}'; the zoo has: {} (or give an .onnx path)",
                                         name, names));
}

graph::Graph build_model(const std::string& spec, const ModelOptions& options) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  std::map<std::string, std::string> values;
  if (colon != std::string::npos) {
    std::stringstream ss(spec.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ops::InvalidArgument(fmt::format("{}: argument '{}' is not key=value", name, item));
      }
      values[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  const ZooEntry& entry = find_model(name);
  ops::Shape input = entry.default_input;
  if (options.batch > 0) input[0] = options.batch;
  if (options.height > 0) input[2] = options.height;
  if (options.width > 0) input[3] = options.width;

  // The graph at the requested size first, so that options.check sees it before calibration.
  ModelArgs args(name, values);
  graph::Graph g = entry.build(input, options.seed, args);
  args.expect_all_used();
  if (options.check) options.check(g);

  ModelArgs calib_args(name, values);
  graph::Graph calibration = entry.build(entry.calibration_input, options.seed, calib_args);
  // Arguments may change the input (conv_bn_layer's channels): use the graph's own shape.
  const ops::Shape calibration_shape = calibration.value(calibration.inputs()[0]).shape;
  calibrate_batchnorm(calibration, calibration_images(calibration_shape, options.seed + 1000), options.seed,
                      options.progress);

  // Same names, same weights (seeded by name); carry the calibrated statistics over.
  for (graph::Value& v : g.values()) {
    if (!v.constant) continue;
    const graph::ValueId src = calibration.find_value(v.name);
    if (src != graph::kNoValue && calibration.value(src).data.size() == v.data.size()) {
      v.data = calibration.value(src).data;
    }
  }
  return g;
}

}  // namespace fusescope::models
