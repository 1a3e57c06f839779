// fusescope_export_weights: writes a zoo model's weights, a seeded input and the float64
// oracle's output to one safetensors file, so another framework (tools/pytorch_parity.py) can
// rebuild the same network with the very same numbers and be judged against us.
//
//   fusescope_export_weights --model SPEC [--batch N] [--height H] [--width W] [--seed S]
//                            [--input-seed S] [--keep VALUE]... --out FILE.safetensors
//
// The file holds every constant by its graph name ("<conv>.weight", "<conv>.bias",
// "<bn>.stats" [4, C] = gamma, beta, running mean, running var; "alpha"), "input" (the
// graph's only input: models::calibration_images(shape, input seed)) and "oracle.<value>" for
// the graph's output and each --keep value (unfused float64 oracle, rounded to float32). The
// metadata records how to rebuild it all: model, seed, batch, height, width, input_seed,
// input_name, outputs, keep, and each BN's epsilon ("eps.<bn>").
//
// An internal tool: it exists to make golden data (tools/README.md), so its options are few.
#include <fmt/format.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "graph/oracle_runner.hpp"
#include "io/safetensors.hpp"
#include "models/calibrate.hpp"
#include "models/zoo.hpp"

using namespace fusescope;

namespace {

struct Options {
  std::string model;
  models::ModelOptions model_options;
  std::uint32_t input_seed = 7;
  std::vector<std::string> keep;
  std::string out;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "fusescope_export_weights: " << why << "\n"
            << "usage: fusescope_export_weights --model SPEC [--batch N] [--height H] [--width W]\n"
            << "         [--seed S] [--input-seed S] [--keep VALUE]... --out FILE.safetensors\n";
  std::exit(2);
}

std::int64_t to_integer(const std::string& flag, const std::string& text) {
  try {
    std::size_t pos = 0;
    const long long v = std::stoll(text, &pos);
    if (pos == text.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  usage(fmt::format("{} {} is not a non-negative integer", flag, text));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(fmt::format("{} needs a value", flag));
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--batch") o.model_options.batch = to_integer(flag, value);
    else if (flag == "--height") o.model_options.height = to_integer(flag, value);
    else if (flag == "--width") o.model_options.width = to_integer(flag, value);
    else if (flag == "--seed") o.model_options.seed = static_cast<std::uint32_t>(to_integer(flag, value));
    else if (flag == "--input-seed") o.input_seed = static_cast<std::uint32_t>(to_integer(flag, value));
    else if (flag == "--keep") o.keep.push_back(value);
    else if (flag == "--out") o.out = value;
    else usage(fmt::format("unknown option {}", flag));
  }
  if (o.model.empty()) usage("--model is required");
  if (o.out.empty()) usage("--out is required");
  return o;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ",") + item;
  return s;
}

int run(const Options& o) {
  graph::Graph g = models::build_model(o.model, o.model_options);
  if (g.inputs().size() != 1) {
    throw ops::InvalidArgument(fmt::format("{}: expected one graph input, found {}", o.model, g.inputs().size()));
  }
  const graph::Value& in = g.value(g.inputs()[0]);
  const ops::Shape input_shape = in.shape;
  const std::string input_name = in.name;
  std::vector<float> input = models::calibration_images(input_shape, o.input_seed);

  std::vector<std::string> outputs;
  for (graph::ValueId v : g.outputs()) outputs.push_back(g.value(v).name);
  graph::OracleOptions oracle_options;
  oracle_options.keep = o.keep;
  for (const auto& name : o.keep) g.require_value(name);  // a typo is an error, not a missing tensor
  const auto oracle = graph::run_oracle(g, {{input_name, input}}, oracle_options);

  std::vector<io::NamedTensor> tensors;
  std::map<std::string, std::string> metadata{
      {"model", o.model},
      {"seed", std::to_string(o.model_options.seed)},
      {"batch", std::to_string(input_shape[0])},
      {"height", std::to_string(input_shape[2])},
      {"width", std::to_string(input_shape[3])},
      {"input_seed", std::to_string(o.input_seed)},
      {"input_name", input_name},
      {"outputs", join(outputs)},
      {"keep", join(o.keep)},
  };
  for (const graph::Value& v : g.values()) {
    if (v.constant) tensors.push_back({v.name, v.shape, v.data});
  }
  for (const graph::Node& n : g.nodes()) {
    if (const auto* bn = n.as<graph::BatchNormAttrs>()) {
      metadata["eps." + n.name] = fmt::format("{:.9g}", bn->params.epsilon);
    }
  }
  tensors.push_back({"input", input_shape, std::move(input)});
  std::vector<std::string> judged = outputs;
  judged.insert(judged.end(), o.keep.begin(), o.keep.end());
  for (const auto& name : judged) {
    const reference::HostTensor& t = oracle.at(name);
    tensors.push_back({"oracle." + name, t.shape, std::vector<float>(t.data.begin(), t.data.end())});
  }
  io::write_safetensors(o.out, tensors, metadata);
  std::cout << fmt::format("{}: {} tensors, input {} [{}], outputs {}\n", o.out, tensors.size(), input_name,
                           ops::to_string(input_shape), join(outputs));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "fusescope_export_weights: " << e.what() << "\n";
    return 1;
  }
}
