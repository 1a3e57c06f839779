#include "vision/detector_model.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "graph/tensor_limits.hpp"
#include "io/model_files.hpp"
#include "io/onnx_import.hpp"
#include "vision/decoder_config.hpp"

namespace fusescope::vision {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDpnShapes = "dpn-shapes";

std::optional<BlazeFaceVariant> blazeface_variant(const std::string& name) {
  for (auto v : {BlazeFaceVariant::front, BlazeFaceVariant::back})
    if (name == fmt::format("blazeface-{}", to_string(v))) return v;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> named_detectors() {
  std::vector<std::string> names;
  for (const io::NamedModelFile& f : io::named_model_files()) names.push_back(f.name);
  return names;
}

DetectorModel load_detector(const std::string& model, const std::optional<ops::Shape>& input_shape,
                            const std::string& decoder) {
  DetectorModel d;
  d.name = model;
  if (!decoder.empty() && !fs::exists(decoder))
    throw ops::InvalidArgument(fmt::format("--decoder {}: no such file", decoder));
  const auto variant = blazeface_variant(model);
  if (variant && !decoder.empty())
    throw ops::InvalidArgument(fmt::format("--decoder {}: {} has its own decoder; --decoder is for dpn-shapes or an .onnx model",
                                           decoder, model));
  if (const auto file = io::named_model_file(model)) {
    d.path = *file;
    if (model == kDpnShapes) d.decoder = decoder.empty() ? (fs::path(*file).parent_path() / "decoder.json").string() : decoder;
  } else if (fs::path(model).extension() == ".onnx") {
    if (!fs::exists(model)) throw ops::InvalidArgument(fmt::format("--model {}: no such file", model));
    d.path = model;
    d.decoder = decoder;
  } else {
    std::string names;
    for (const auto& n : named_detectors()) names += n + ", ";
    throw ops::InvalidArgument(fmt::format("--model {}: unknown detector: expected {}or a detector .onnx file", model, names));
  }
  std::optional<DecoderConfig> config;
  if (!d.decoder.empty()) config = load_decoder_config(d.decoder);
  io::OnnxImportOptions options;
  options.input_shape = input_shape;
  d.graph = io::import_onnx(d.path, options);
  graph::check_tensor_sizes(d.graph, graph::max_tensor_bytes(), d.path);
  if (config) {
    d.spec = yolo_spec(d.graph, std::move(*config), d.decoder);
    d.kind = fmt::format("YOLO-style decoder {}, {} classes", d.decoder, d.spec.yolo.classes.size());
  } else {
    d.spec = variant ? blazeface_spec(d.graph, *variant) : detect_blazeface_spec(d.graph);
    d.kind = fmt::format("BlazeFace {}", to_string(d.spec.blazeface.variant));
  }
  return d;
}

}  // namespace fusescope::vision
