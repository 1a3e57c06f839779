// What every model-running subcommand shares: naming a model (zoo spec now, ONNX path later),
// choosing how to fuse it, and producing its input (seeded, a safetensors file or an image).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "gpu/device.hpp"
#include "graph/graph.hpp"

namespace fusescope::cli {

// How an image file becomes an input tensor (shared by every model command and `preprocess`).
struct ImageOptions {
  std::vector<float> mean, std;      // per output channel, on 0..1 pixels (default: ImageNet's)
  bool bgr = false;                  // emit channels as B, G, R
  bool nhwc = false;                 // the input tensor is [N, H, W, 3] (e.g. TensorFlow-exported
                                     // models); unrelated to --layout (device activation storage)
  std::vector<int> crop;             // X, Y, W, H in source pixels, applied first; empty: whole image
  bool rotate180 = false;            // turn the (cropped) image upside down before resizing
};

struct ModelSourceOptions {
  std::string model;                 // zoo spec ("resnet50-keras", "conv_bn_layer:stride=2")
  std::string input;                 // safetensors or image file; empty: seeded input
  std::uint32_t seed = 1;            // weights and the seeded input
  std::int64_t batch = 0;            // 0: the model's default
  std::string size;                  // "HxW" or "N" (square); empty: default
  std::string shape;                 // "NxCxHxW": an ONNX model's input shape (dynamic dims)
  ImageOptions image;
};

// Adds --mean/--std/--bgr/--nhwc/--crop/--rotate180 to a subcommand.
void add_image_options(CLI::App* cmd, ImageOptions& o);

// Adds MODEL plus --input/--seed/--batch/--size/--shape and the image options to a subcommand.
void add_model_source_options(CLI::App* cmd, ModelSourceOptions& o);

// The image at `path` as a tensor of `shape` ([N, 3, H, W], or [N, H, W, 3] with o.nhwc; every
// batch item the same image): crop, rotate, resize (io::to_tensor's bilinear), normalise.
// Throws ops::InvalidArgument when the shape has no 3-channel axis where the layout puts it.
std::vector<float> image_tensor(const std::string& path, const ImageOptions& o, const ops::Shape& shape);

// The preprocessing in words, for file metadata: "crop=X,Y,W,H rotate180 resize=HxW bgr ...".
std::string describe(const ImageOptions& o, const ops::Shape& shape);

// "1x3x224x224": four positive numbers.
ops::Shape parse_shape(const std::string& text, const char* flag = "--shape");

graph::Graph load_model(const ModelSourceOptions& o);

// Values for the graph's input, NCHW, checked against its shape (ops::InvalidArgument naming
// the file, the expected and the found shape).
std::vector<float> load_input(const ModelSourceOptions& o, const graph::Graph& g);

// How the executor keeps a network on the device, shared by run, bench and compare: the
// arithmetic (--precision) and how activations lie in device memory (--layout). --layout is not
// the model's input layout (that is --nhwc): tensors are read back and fed as NCHW either way.
struct ExecutionOptions {
  std::string precision = "fp32";    // fp32 | fp16s | fp16
  std::string layout = "nchw";       // nchw | nhwc
};

// Adds --precision and --layout to a subcommand.
void add_execution_options(CLI::App* cmd, ExecutionOptions& o);

// The executor options the flags name (taps left empty); throws ops::InvalidArgument naming the
// flag on a bad value, so a command can call it first to check its flags before any slow work.
graph::ExecutorOptions executor_options(const ExecutionOptions& o);

enum class FuseMode { none, bn, all };
FuseMode parse_fuse_mode(const std::string& text);  // none | bn | all
const char* to_string(FuseMode mode);
ops::Precision parse_precision(const std::string& text);  // fp32 | fp16s | fp16
graph::Layout parse_layout(const std::string& text);      // nchw | nhwc
fusion::FoldPrecision parse_fold_precision(const std::string& text);  // float64 | float32

// A copy of `g` fused by `mode`.
graph::Graph fused_copy(const graph::Graph& g, FuseMode mode, fusion::FoldPrecision fold,
                        fusion::FusionReport* report = nullptr);

gpu::DeviceOptions device_options(const GlobalOptions& global);

// Writes `text` to `path` through a temporary file and a rename (never half a file).
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace fusescope::cli
