// A model source (a zoo spec or an ONNX path, with its shape) becomes a Graph; an input source
// (an image, a safetensors file, or the seeded synthetic input) becomes the tensor it feeds.
// Every front end — the CLI's subcommands, the window, the Python module — names models and
// inputs this way, so the same words load the same network and the same numbers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/progress.hpp"
#include "ops/shape.hpp"

namespace fusescope::gpu {
struct DeviceInfo;
}
namespace fusescope::ops {
enum class Precision : std::uint32_t;
}

namespace fusescope::workbench {

// How an image file becomes an input tensor (shared by every model command and `preprocess`).
struct ImageOptions {
  std::vector<float> mean, std;      // per output channel, on 0..1 pixels (default: ImageNet's)
  bool bgr = false;                  // emit channels as B, G, R
  bool nhwc = false;                 // the input tensor is [N, H, W, 3] (e.g. TensorFlow-exported
                                     // models); unrelated to --layout (device activation storage)
  std::vector<int> crop;             // X, Y, W, H in source pixels, applied first; empty: whole image
  bool rotate180 = false;            // turn the (cropped) image upside down before resizing
};

struct ModelSource {
  std::string model;                 // zoo spec ("resnet50-keras", "conv_bn_layer:stride=2")
  std::string input;                 // safetensors or image file; empty: seeded input
  std::uint32_t seed = 1;            // weights and the seeded input
  std::int64_t batch = 0;            // 0: the model's default
  std::string size;                  // "HxW" or "N" (square); empty: default
  std::string shape;                 // "NxCxHxW": an ONNX model's input shape (dynamic dims)
  ImageOptions image;
  // The device the graph is for, when it is known before the load: its maxStorageBufferRange
  // and the bytes per element it will store (4 fp32, 2 fp16). A tensor that cannot be bound
  // is refused by load_model (gpu::OutOfDeviceMemory) before a zoo model's calibration. 0: no check.
  std::uint64_t device_binding_bytes = 0;
  std::uint64_t device_element_bytes = 4;
};

// The image at `path` as a tensor of `shape` ([N, 3, H, W], or [N, H, W, 3] with o.nhwc; every
// batch item the same image): crop, rotate, resize (io::to_tensor's bilinear), normalise.
// Throws ops::InvalidArgument when the shape has no 3-channel axis where the layout puts it.
std::vector<float> image_tensor(const std::string& path, const ImageOptions& o, const ops::Shape& shape);

// The preprocessing in words, for file metadata: "crop=X,Y,W,H rotate180 resize=HxW bgr ...".
std::string describe(const ImageOptions& o, const ops::Shape& shape);

// Sets source's device fields for `info` storing at `precision`: load_model then refuses a
// tensor the device cannot bind before any calibration.
void check_against_device(ModelSource& source, const gpu::DeviceInfo& info, ops::Precision precision);

// "1x3x224x224": four positive numbers.
ops::Shape parse_shape(const std::string& text, const char* flag = "--shape");

// "HxW" or "N" (square) into h and w; empty text leaves them as they are.
void parse_size(const std::string& text, std::int64_t& h, std::int64_t& w);

// The graph the source names: a zoo model built (seeded weights, calibrated BatchNorms) at
// --size/--batch, or an ONNX file imported at --shape. Throws ops::InvalidArgument /
// io::FormatError naming the file or the flag.
// `progress` hears the import of a file and the zoo's BatchNorm calibration.
graph::Graph load_model(const ModelSource& o, const graph::Progress& progress = {});

// Values for the graph's input, NCHW, checked against its shape (ops::InvalidArgument naming
// the file, the expected and the found shape).
std::vector<float> load_input(const ModelSource& o, const graph::Graph& g);

}  // namespace fusescope::workbench
