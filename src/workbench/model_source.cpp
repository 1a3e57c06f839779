#include "workbench/model_source.hpp"

#include <fmt/format.h>
#include <array>
#include <filesystem>

#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "gpu/device.hpp"
#include "graph/tensor_limits.hpp"
#include "io/model_files.hpp"
#include "io/safetensors.hpp"
#include "ops/encoder.hpp"
#include "models/calibrate.hpp"
#include "models/zoo.hpp"

namespace fusescope::workbench {

namespace {

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

}  // namespace

void parse_size(const std::string& text, std::int64_t& h, std::int64_t& w) {
  if (text.empty()) return;
  const auto x = text.find('x');
  try {
    std::size_t used = 0;
    if (x == std::string::npos) {
      h = w = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } else {
      h = std::stoll(text.substr(0, x), &used);
      if (used != x) throw std::invalid_argument(text);
      w = std::stoll(text.substr(x + 1), &used);
      if (used != text.size() - x - 1) throw std::invalid_argument(text);
    }
  } catch (const std::exception&) {
    throw ops::InvalidArgument(fmt::format("--size {}: expected HxW (e.g. 224x224) or one number", text));
  }
  if (h <= 0 || w <= 0) throw ops::InvalidArgument(fmt::format("--size {}: sizes must be positive", text));
}

// "1x3x224x224": four positive numbers (an ONNX model's input shape).
ops::Shape parse_shape(const std::string& text, const char* flag) {
  ops::Shape shape;
  std::size_t begin = 0;
  try {
    while (begin <= text.size()) {
      std::size_t x = text.find('x', begin);
      if (x == std::string::npos) x = text.size();
      const std::string part = text.substr(begin, x - begin);
      std::size_t used = 0;
      shape.push_back(std::stoll(part, &used));
      if (used != part.size()) throw std::invalid_argument(text);
      begin = x + 1;
    }
  } catch (const std::exception&) {
    shape.clear();
  }
  if (shape.size() != 4) {
    throw ops::InvalidArgument(fmt::format("{} {}: expected NxCxHxW, e.g. 1x3x224x224", flag, text));
  }
  for (std::int64_t d : shape)
    if (d <= 0) throw ops::InvalidArgument(fmt::format("{} {}: sizes must be positive", flag, text));
  return shape;
}

std::vector<float> image_tensor(const std::string& path, const ImageOptions& o, const ops::Shape& shape) {
  const bool ok = shape.size() == 4 && (o.nhwc ? shape[3] == 3 : shape[1] == 3);
  if (!ok) {
    throw ops::InvalidArgument(fmt::format("--input {}: images feed 3-channel {} inputs; the model expects {}{}",
                                           path, o.nhwc ? "NHWC" : "NCHW", ops::to_string(shape),
                                           o.nhwc ? "" : " (--nhwc for channels-last inputs)"));
  }
  const io::Image image = io::load_image(path);
  io::Preprocess p;
  if (o.crop.size() == 4) p.crop = std::array<int, 4>{o.crop[0], o.crop[1], o.crop[2], o.crop[3]};
  p.rotate180 = o.rotate180;
  p.height = static_cast<int>(o.nhwc ? shape[1] : shape[2]);
  p.width = static_cast<int>(o.nhwc ? shape[2] : shape[3]);
  p.mean = {0.485f, 0.456f, 0.406f};  // ImageNet, on 0..1 pixels
  p.std = {0.229f, 0.224f, 0.225f};
  if (o.mean.size() == 3) p.mean = {o.mean[0], o.mean[1], o.mean[2]};
  if (o.std.size() == 3) p.std = {o.std[0], o.std[1], o.std[2]};
  p.bgr = o.bgr;
  p.nhwc = o.nhwc;
  std::vector<float> one = io::to_tensor(image, p);
  std::vector<float> batch;
  for (std::int64_t b = 0; b < shape[0]; ++b) batch.insert(batch.end(), one.begin(), one.end());
  return batch;
}

std::string describe(const ImageOptions& o, const ops::Shape& shape) {
  std::string s;
  if (o.crop.size() == 4) s += fmt::format("crop={},{},{},{} ", o.crop[0], o.crop[1], o.crop[2], o.crop[3]);
  if (o.rotate180) s += "rotate180 ";
  const std::array<float, 3> mean = o.mean.size() == 3 ? std::array<float, 3>{o.mean[0], o.mean[1], o.mean[2]}
                                                       : std::array<float, 3>{0.485f, 0.456f, 0.406f};
  const std::array<float, 3> std = o.std.size() == 3 ? std::array<float, 3>{o.std[0], o.std[1], o.std[2]}
                                                      : std::array<float, 3>{0.229f, 0.224f, 0.225f};
  s += fmt::format("resize={}x{} (bilinear, half-pixel) {} {} mean={},{},{} std={},{},{}",
                   o.nhwc ? shape[1] : shape[2], o.nhwc ? shape[2] : shape[3], o.bgr ? "bgr" : "rgb",
                   o.nhwc ? "nhwc" : "nchw", mean[0], mean[1], mean[2], std[0], std[1], std[2]);
  return s;
}

void check_against_device(ModelSource& source, const gpu::DeviceInfo& info, ops::Precision precision) {
  source.device_binding_bytes = info.max_storage_buffer_range;
  source.device_element_bytes = precision == ops::Precision::fp32 ? 4 : 2;
}

graph::Graph load_model(const ModelSource& o, const graph::Progress& progress) {
  if (const auto file = io::named_model_file(o.model)) {  // "blazeface-front": the fetched file
    ModelSource resolved = o;
    resolved.model = *file;
    return load_model(resolved, progress);
  }
  if (has_extension(o.model, {".onnx"})) {
    // The model fixes its own input shape; --size/--batch rebuild zoo models only.
    if (o.batch != 0 || !o.size.empty()) {
      throw ops::InvalidArgument(fmt::format("{}: --size and --batch apply to zoo models; give an ONNX "
                                             "model's input shape with --shape NxCxHxW",
                                             o.model));
    }
    io::OnnxImportOptions options;
    if (!o.shape.empty()) options.input_shape = parse_shape(o.shape);
    graph::report(progress, "importing " + std::filesystem::path(o.model).filename().string(), -1);
    graph::Graph g = io::import_onnx(o.model, options);
    graph::check_tensor_sizes(g, graph::max_tensor_bytes(), o.model);
    if (o.device_binding_bytes != 0)
      graph::check_tensors_fit_binding(g, o.device_binding_bytes, o.device_element_bytes, o.model);
    return g;
  }
  if (!o.shape.empty()) {
    throw ops::InvalidArgument(fmt::format("--shape applies to .onnx models; use --size/--batch for {}", o.model));
  }
  models::ModelOptions mo;
  mo.seed = o.seed;
  mo.batch = o.batch;
  mo.progress = progress;
  parse_size(o.size, mo.height, mo.width);
  mo.check = [&o](const graph::Graph& g) {
    const std::string context = o.size.empty() ? o.model : fmt::format("{} at --size {}", o.model, o.size);
    graph::check_tensor_sizes(g, graph::max_tensor_bytes(), context);
    if (o.device_binding_bytes != 0)
      graph::check_tensors_fit_binding(g, o.device_binding_bytes, o.device_element_bytes, context);
  };
  return models::build_model(o.model, mo);
}

std::vector<float> load_input(const ModelSource& o, const graph::Graph& g) {
  if (g.inputs().size() != 1) {
    throw ops::InvalidArgument(fmt::format("{} has {} inputs; only single-input models can be fed",
                                           g.name(), g.inputs().size()));
  }
  const graph::Value& in = g.value(g.inputs()[0]);
  if (o.input.empty()) return models::calibration_images(in.shape, o.seed + 7);
  if (!std::filesystem::exists(o.input)) {
    throw ops::InvalidArgument(fmt::format("--input {}: no such file", o.input));
  }
  if (has_extension(o.input, {".safetensors"})) {
    const io::SafetensorsFile file = io::read_safetensors(o.input);
    const io::NamedTensor* t = file.find(in.name);
    if (t == nullptr && !file.tensors.empty()) t = &file.tensors.front();
    if (t == nullptr) throw ops::InvalidArgument(fmt::format("--input {}: the file holds no tensor", o.input));
    if (t->shape != in.shape) {
      throw ops::InvalidArgument(fmt::format("--input {}: tensor '{}' has shape {}, {} expects {} "
                                             "(use --size/--batch to build the model for another shape)",
                                             o.input, t->name, ops::to_string(t->shape), g.name(),
                                             ops::to_string(in.shape)));
    }
    return t->values;
  }
  return image_tensor(o.input, o.image, in.shape);
}

}  // namespace fusescope::workbench
