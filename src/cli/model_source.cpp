#include "cli/model_source.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "gpu/device.hpp"
#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "models/calibrate.hpp"
#include "models/zoo.hpp"

namespace fusescope::cli {

namespace {

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

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

}  // namespace

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

void add_image_options(CLI::App* cmd, ImageOptions& o) {
  cmd->add_option("--mean", o.mean, "Image mean per channel, on 0..1 pixels (default ImageNet's)")
      ->expected(3);
  cmd->add_option("--std", o.std, "Image std per channel (default ImageNet's)")->expected(3);
  cmd->add_flag("--bgr", o.bgr, "Feed image channels as B, G, R");
  cmd->add_flag("--nhwc", o.nhwc,
                "The model's input tensor is N x H x W x 3 (channels last), e.g. BlazeFace; "
                "not how activations lie on the device (that is --layout)");
  cmd->add_option("--crop", o.crop, "Crop the image to X,Y,W,H (source pixels) before resizing")
      ->expected(4)
      ->delimiter(',');
  cmd->add_flag("--rotate180", o.rotate180, "Turn the (cropped) image upside down before resizing");
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

void add_model_source_options(CLI::App* cmd, ModelSourceOptions& o) {
  cmd->add_option("MODEL", o.model,
                  "Zoo model (`fusescope models` lists them), optionally with arguments: "
                  "conv_bn_layer:filter_size=3,num_filters=64,stride=2; or an .onnx file")
      ->required();
  cmd->add_option("--input", o.input,
                  "Input: a .safetensors file (its first tensor, or the one named like the model's "
                  "input) or an image (PNG/JPEG), resized and normalised; default: a seeded input");
  cmd->add_option("--seed", o.seed, "Seed for weights and the default input")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Batch size (default: the model's)")->check(CLI::Range(1, 1024));
  cmd->add_option("--size", o.size, "Input height x width, e.g. 224x224 or 224 (default: the model's)");
  cmd->add_option("--shape", o.shape,
                  "Input shape NxCxHxW of an .onnx model, for its dynamic dimensions (e.g. 1x3x48x192)");
  add_image_options(cmd, o.image);
}

graph::Graph load_model(const ModelSourceOptions& o) {
  if (has_extension(o.model, {".onnx"})) {
    // The model fixes its own input shape; --size/--batch rebuild zoo models only.
    if (o.batch != 0 || !o.size.empty()) {
      throw ops::InvalidArgument(fmt::format("{}: --size and --batch apply to zoo models; give an ONNX "
                                             "model's input shape with --shape NxCxHxW",
                                             o.model));
    }
    io::OnnxImportOptions options;
    if (!o.shape.empty()) options.input_shape = parse_shape(o.shape);
    return io::import_onnx(o.model, options);
  }
  if (!o.shape.empty()) {
    throw ops::InvalidArgument(fmt::format("--shape applies to .onnx models; use --size/--batch for {}", o.model));
  }
  models::ModelOptions mo;
  mo.seed = o.seed;
  mo.batch = o.batch;
  parse_size(o.size, mo.height, mo.width);
  return models::build_model(o.model, mo);
}

std::vector<float> load_input(const ModelSourceOptions& o, const graph::Graph& g) {
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

FuseMode parse_fuse_mode(const std::string& t) {
  if (t == "none") return FuseMode::none;
  if (t == "bn") return FuseMode::bn;
  if (t == "all") return FuseMode::all;
  throw ops::InvalidArgument(fmt::format("--fuse {}: expected none, bn or all", t));
}

const char* to_string(FuseMode m) {
  return m == FuseMode::none ? "none" : m == FuseMode::bn ? "bn" : "all";
}

ops::Precision parse_precision(const std::string& t) {
  if (t == "fp32") return ops::Precision::fp32;
  if (t == "fp16s") return ops::Precision::fp16s;
  if (t == "fp16") return ops::Precision::fp16;
  throw ops::InvalidArgument(fmt::format("--precision {}: expected fp32, fp16s or fp16", t));
}

graph::Layout parse_layout(const std::string& t) {
  if (t == "nchw") return graph::Layout::nchw;
  if (t == "nhwc") return graph::Layout::nhwc;
  throw ops::InvalidArgument(fmt::format("--layout {}: expected nchw or nhwc", t));
}

void add_execution_options(CLI::App* cmd, ExecutionOptions& o) {
  cmd->add_option("--precision", o.precision, "fp32, fp16s (16-bit storage) or fp16 (16-bit arithmetic too)")
      ->capture_default_str();
  cmd->add_option("--layout", o.layout,
                  "nchw or nhwc: how activations lie in device memory (tensors are still fed and read "
                  "back in the graph's logical NCHW order); not the model's input layout (that is --nhwc)")
      ->capture_default_str();
}

graph::ExecutorOptions executor_options(const ExecutionOptions& o) {
  graph::ExecutorOptions eo;
  eo.precision = parse_precision(o.precision);
  eo.layout = parse_layout(o.layout);
  return eo;
}

fusion::FoldPrecision parse_fold_precision(const std::string& t) {
  if (t == "float64") return fusion::FoldPrecision::float64;
  if (t == "float32" || t == "pytorch") return fusion::FoldPrecision::float32_pytorch;
  throw ops::InvalidArgument(fmt::format("--fold {}: expected float64 or float32 (PyTorch's order)", t));
}

graph::Graph fused_copy(const graph::Graph& g, FuseMode mode, fusion::FoldPrecision fold,
                        fusion::FusionReport* report) {
  graph::Graph f = g;
  fusion::FusionReport r;
  if (mode == FuseMode::bn) r = fusion::fuse_batchnorm_only(f, fold);
  if (mode == FuseMode::all) r = fusion::fuse_all(f, fold);
  if (report) *report = r;
  return f;
}

gpu::DeviceOptions device_options(const GlobalOptions& global) {
  gpu::DeviceOptions d;
  if (global.device) d.index = static_cast<std::uint32_t>(*global.device);
  d.validation = global.validation;
  return d;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    out << text;
    out.close();
    if (!out) {
      std::filesystem::remove(tmp);
      throw std::runtime_error(fmt::format("writing {} failed (disk full?)", path));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, ec.message()));
  }
}

}  // namespace fusescope::cli
