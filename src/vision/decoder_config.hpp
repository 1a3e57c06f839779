// What a YOLO-style detector's outputs mean, read from a small JSON file, so a user's exported
// model (YOLOv5/YOLOv8/PP-YOLOE-style heads, fusescope's own dpn-shapes) runs through the one
// generic decoder (yolo_decoder.hpp) with no code of its own. README.md ("Decoder config")
// documents every field; assets/dpn-shapes/decoder.json is the shipped, tested example.
//
//   {
//     "input":   {"name": "image", "width": 128, "height": 128, "order": "rgb", "fit": "letterbox",
//                 "pad": 114, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": "unit"},
//     "outputs": [{"name": "p8", "stride": 8}, {"name": "p16", "stride": 16}],
//     "layout":  "nchw",
//     "box":     {"format": "ltrb", "units": "grid", "activation": "exp"},
//     "objectness": true, "score_activation": "sigmoid",
//     "classes": ["circle", "square", "triangle", "cross"],
//     "score_threshold": 0.3, "iou_threshold": 0.5, "class_aware": true, "top_k": 100
//   }
//
// Only "outputs", "box" and "classes" are required; everything else has the default README.md
// gives. Unknown keys are errors (a misspelt key silently ignored would decode garbage).
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ops/preprocess.hpp"

namespace fusescope::vision {

// How the cells of the output tensors are laid out.
enum class OutputLayout {
  nchw,     // one output per stride: [1, A * K, H, W], channel a * K + k for anchor a, value k
  rows,     // [1, N, K]: one row per prediction (YOLOv5's export)
  columns,  // [1, K, N]: one column per prediction (YOLOv8's export)
};
// rows / columns: N runs over the output's strides in order, within a stride over the anchors
// (anchor-major, as YOLOv5's view/permute leaves them), within an anchor over the cells in
// row-major order. K = 4 box values, then objectness when present, then one score per class.

enum class BoxFormat {
  ltrb,    // distances from the cell's centre to the left, top, right and bottom sides
  cxcywh,  // centre and size
  xywh,    // top-left corner and size
  xyxy,    // top-left and bottom-right corners
};

enum class BoxUnits {
  grid,    // cells: positions are offsets from the cell's top-left corner, sizes and distances
           // are multiplied by the stride (or, with anchors, sizes by the anchor's pixels)
  pixels,  // network-input pixels: positions are absolute, distances from the cell's centre
};

enum class Activation { none, sigmoid, exp };

struct DecoderOutput {
  std::string name;
  std::vector<std::int64_t> strides;                      // one for nchw; rows/columns may hold several
  std::vector<std::vector<std::array<double, 2>>> anchors;  // per stride, (w, h) pixels; empty: anchor-free
};

struct DecoderConfig {
  // The network input and how a frame becomes it.
  std::string input_name;                  // empty: the graph's only input
  std::int64_t input_width = 0;            // 0: the graph's
  std::int64_t input_height = 0;
  ops::PixelOrder order = ops::PixelOrder::rgb;
  ops::ResizeFit fit = ops::ResizeFit::letterbox;
  float pad_value = 114.0f;
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  bool scale_255 = false;                  // "scale": "unit" (0..1 pixels, default) or "255"

  std::vector<DecoderOutput> outputs;
  OutputLayout layout = OutputLayout::nchw;
  BoxFormat box_format = BoxFormat::cxcywh;
  BoxUnits box_units = BoxUnits::grid;
  std::array<Activation, 4> box_activation{Activation::none, Activation::none, Activation::none, Activation::none};
  bool objectness = true;
  Activation score_activation = Activation::sigmoid;  // none or sigmoid
  std::vector<std::string> classes;

  double score_threshold = 0.25;
  double iou_threshold = 0.45;
  bool class_aware = true;
  std::int64_t top_k = 100;  // -1: no limit

  std::int64_t values_per_prediction() const { return 4 + (objectness ? 1 : 0) + static_cast<std::int64_t>(classes.size()); }
  std::int64_t anchors_per_cell(std::size_t output, std::size_t stride_index) const;
};

const char* to_string(OutputLayout layout);
const char* to_string(BoxFormat format);
const char* to_string(BoxUnits units);
const char* to_string(Activation activation);

// Parses a config from JSON text; `where` names the source in messages ("decoder.json").
// Throws ops::InvalidArgument naming the field ("decoder.json: box.format 'xywhr': expected
// ltrb, cxcywh, xywh or xyxy").
DecoderConfig parse_decoder_config(const std::string& json_text, const std::string& where);
// Reads and parses a file; an unreadable file is an ops::InvalidArgument naming it.
DecoderConfig load_decoder_config(const std::filesystem::path& path);

}  // namespace fusescope::vision
