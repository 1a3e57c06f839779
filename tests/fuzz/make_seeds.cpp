// Writes the fuzz targets' seed corpus into OUT/<target>/ with fusescope's own writers, so every
// seed is a file fusescope itself produces and accepts: tiny zoo models through io::export_onnx
// (unfused and fused, so provenance doc strings are in the corpus too), tensors through
// io::write_safetensors (F32 and F16, metadata, an empty tensor), pictures through io::encode_png
// (1-4 channels), the shipped decoder config and variants of it in each layout, and command
// lines taken from the CLI's tests. scripts/fuzz.sh adds JPEGs (python3-pil) and ONNX's own node
// test models. usage: fusescope_fuzz_seeds OUT
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "io/image.hpp"
#include "io/onnx_export.hpp"
#include "io/safetensors.hpp"
#include "models/zoo.hpp"
#include "workbench/candidate.hpp"

namespace fs = std::filesystem;
using namespace fusescope;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void onnx_seeds(const fs::path& dir) {
  // Small enough that one seed stays a few KiB: libFuzzer mutates every byte of an input, so
  // megabytes of weights would only slow it down.
  const std::vector<std::pair<std::string, std::int64_t>> specs = {
      {"conv_bn_layer:filter_size=3,num_filters=4,channels=3", 8},
      {"conv_bn_layer:filter_size=1,num_filters=4,channels=2,act=relu6", 4},
      {"conv_bn_layer:filter_size=3,num_filters=8,groups=2,act=relu6,channels=4,stride=2", 8},
      {"conv_bn_layer:act=hard_swish,groups=4,bias=true,num_filters=4,channels=4", 6},
      {"ppyoloe-repvgg-block:ch_in=4,ch_out=4", 8},
      {"ppyoloe-repvgg-block:ch_in=2,ch_out=6,act=relu", 5},
  };
  int n = 0;
  for (const auto& [spec, size] : specs) {
    models::ModelOptions mo;
    mo.height = mo.width = size;
    graph::Graph g;
    try {
      g = models::build_model(spec, mo);
    } catch (const std::exception& e) {  // a spec the zoo does not take: say so, keep the rest
      fmt::print(stderr, "make_seeds: skipping {}: {}\n", spec, e.what());
      continue;
    }
    for (const auto mode : {workbench::FuseMode::none, workbench::FuseMode::all}) {
      const graph::Graph f = workbench::fused_copy(g, mode, fusion::FoldPrecision::float64);
      write(dir / fmt::format("zoo-{}-{}.onnx", n, workbench::to_string(mode)), io::export_onnx_bytes(f));
    }
    ++n;
  }
}

void safetensors_seeds(const fs::path& dir) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  auto values = [&](std::size_t count) {
    std::vector<float> v(count);
    for (float& x : v) x = normal(rng);
    return v;
  };
  const std::vector<io::NamedTensor> tensors = {
      {"input", {1, 3, 2, 2}, values(12)}, {"conv.weight", {4, 3, 1, 1}, values(12)}, {"scalar", {}, values(1)}};
  io::write_safetensors(dir / "f32.safetensors", tensors, {{"producer", "fusescope fuzz seeds"}});
  io::write_safetensors(dir / "f16.safetensors", tensors, {}, io::WriteDtype::F16);
  io::write_safetensors(dir / "empty-tensor.safetensors", {{"nothing", {0, 3}, {}}, {"one", {1}, {1.0f}}});
}

void image_seeds(const fs::path& dir) {
  for (int channels = 1; channels <= 4; ++channels) {
    io::Image image{5, 3, channels, {}};
    for (int i = 0; i < image.width * image.height * channels; ++i)
      image.pixels.push_back(static_cast<std::uint8_t>(i * 37));
    const std::vector<std::uint8_t> png = io::encode_png(image);
    write(dir / fmt::format("c{}.png", channels), std::string(png.begin(), png.end()));
  }
}

void decoder_config_seeds(const fs::path& dir) {
  const fs::path shipped = fs::path(FUSESCOPE_SOURCE_DIR) / "assets/dpn-shapes/decoder.json";
  std::ifstream in(shipped);
  const nlohmann::json base = nlohmann::json::parse(in);
  write(dir / "dpn-shapes.json", base.dump(1));
  // Only the required keys, every default taken.
  write(dir / "minimal.json",
        nlohmann::json{{"outputs", base["outputs"]}, {"box", {{"format", "cxcywh"}}}, {"classes", {"a"}}}.dump());
  // YOLOv5-style rows with anchors per stride, and YOLOv8-style columns without objectness.
  nlohmann::json rows = base;
  rows["layout"] = "rows";
  rows["outputs"] = {{{"name", "out"},
                      {"strides", {8, 16}},
                      {"anchors", {{{10, 13}, {16, 30}}, {{30, 61}, {62, 45}}}}}};
  rows["box"] = {{"format", "cxcywh"}, {"units", "grid"}, {"activation", "sigmoid"}};
  write(dir / "rows-anchors.json", rows.dump(1));
  nlohmann::json columns = base;
  columns["layout"] = "columns";
  columns["outputs"] = {{{"name", "out"}, {"strides", {8, 16, 32}}}};
  columns["objectness"] = false;
  columns["box"] = {{"format", "xyxy"}, {"units", "pixels"}};
  columns["top_k"] = -1;
  write(dir / "columns.json", columns.dump(1));
}

void command_line_seeds(const fs::path& dir) {
  // From the cli.* tests in CMakeLists.txt, one argument per line as the target reads them.
  const std::vector<std::vector<std::string>> lines = {
      {"run", "conv_bn_layer", "--fuse", "all", "--taps", "all", "--dump", "x.safetensors"},
      {"run", "conv_bn_layer:filtr_size=3"},
      {"run", "conv_bn_layer", "--oracle", "--precision", "fp16", "--layout", "nhwc", "--seed", "3"},
      {"compare", "conv_bn_layer", "--fuse", "bn", "--fail-above", "0", "--validation"},
      {"bench", "conv_bn_layer", "--iters", "2", "--layout", "nhwc", "--device", "0"},
      {"export", "model.onnx", "--shape", "1x3x8x8", "-o", "out.onnx"},
      {"preprocess", "pixel.png", "--shape", "1x8x6x3", "--nhwc", "--crop", "1,1,2,2", "--rotate180",
       "--name", "input:0", "--out", "x.safetensors", "--mean", "0.5", "0.5", "0.5"},
      {"gui", "conv_bn_layer", "--candidate", "fp16", "--panel", "compare", "--screenshot", "s.png"},
      {"detect", "--source", "synthetic", "--model", "blazeface-front", "--decoder", "d.json"},
      {"models"},
      {"devices"},
      {"demo", "--validation"},
      {"run", "--help"},
  };
  int n = 0;
  for (const auto& args : lines) {
    std::string text;
    for (const auto& a : args) text += a + "\n";
    write(dir / fmt::format("cli-{}.txt", n++), text);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: fusescope_fuzz_seeds OUT\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* target : {"onnx_model", "safetensors", "image", "decoder_config", "command_line"})
    fs::create_directories(out / target);
  onnx_seeds(out / "onnx_model");
  safetensors_seeds(out / "safetensors");
  image_seeds(out / "image");
  decoder_config_seeds(out / "decoder_config");
  command_line_seeds(out / "command_line");
  return 0;
}
