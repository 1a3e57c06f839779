// A detector on frames: the frame's bytes go to the device, the preprocess kernel writes the
// network's input tensor in place (no host round trip), the Executor runs the network, and the
// decoder and NMS turn its outputs into detections in source-frame pixels. The executor, its
// recording and the frame buffer are made once and reused for every frame of the same size.
//
// Two decoders: BlazeFace's (blazeface.hpp) and the generic YOLO-style one (yolo_decoder.hpp),
// which a JSON config (decoder_config.hpp) fits to any grid or anchor-free head.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/executor.hpp"
#include "graph/graph.hpp"
#include "ops/preprocess.hpp"
#include "vision/blazeface.hpp"
#include "vision/decoder_config.hpp"
#include "vision/detection.hpp"
#include "vision/frame_source.hpp"

namespace fusescope::gpu {
class Device;
class Recorder;
}  // namespace fusescope::gpu

namespace fusescope::vision {

enum class DetectorKind { blazeface, yolo };

// What a network's inputs and outputs mean to a decoder.
struct DetectorSpec {
  DetectorKind kind = DetectorKind::blazeface;
  BlazeFaceConfig blazeface;                   // kind blazeface
  std::vector<std::string> score_outputs;      // concatenated in this order: one logit per anchor
  std::vector<std::string> regressor_outputs;  // num_coords values per anchor, same order
  DecoderConfig yolo;                          // kind yolo: its outputs are read in config order
  // How a frame becomes the input (channel order, mean/std, fit; sizes and layout are filled
  // from the graph and the frame).
  ops::PreprocessParams preprocess;
  double score_threshold = 0.5;
  double iou_threshold = 0.3;
};

// The spec for a BlazeFace graph: checks that the graph has one input [1, S, S, 3] (NHWC, as
// the Barracuda exports declare) or [1, 3, S, S] with S = config.input_size, and outputs that
// are the anchors' scores ([1, n_i, 1]) and regressors ([1, n_i, num_coords]) whose counts add
// up, group by group, to generate_ssd_anchors()'s feature maps. Preprocessing: letterbox
// (MediaPipe keeps the aspect ratio, padding with black), RGB, (p - 0.5) / 0.5 on 0..1 pixels.
// Throws ops::InvalidArgument saying what does not match.
DetectorSpec blazeface_spec(const graph::Graph& g, BlazeFaceVariant variant);
// The variant whose input size the graph's input has (128: front, 256: back), checked as
// blazeface_spec() does; throws ops::InvalidArgument ("not a BlazeFace-shaped detector: ...").
DetectorSpec detect_blazeface_spec(const graph::Graph& g);

// The spec for a YOLO-style graph described by `config` (read from `where`, named in messages):
// the graph's input (config.input_name, or its only one) must be [1, 3, H, W] or [1, H, W, 3]
// with the config's size when it gives one (it is filled from the graph otherwise), and every
// output the config names must exist with the shape yolo_decoder.hpp's expected_output_shape()
// gives. Preprocessing, thresholds and NMS mode come from the config. Throws
// ops::InvalidArgument saying what does not match, with the graph's inputs and outputs.
DetectorSpec yolo_spec(const graph::Graph& g, DecoderConfig config, const std::string& where);

struct FrameDetections {
  std::vector<Detection> detections;  // source-frame pixels, best first
  double preprocess_ms = 0;           // frame upload + preprocess kernel (wall)
  double inference_ms = 0;            // network run + output read-back (wall)
  double decode_ms = 0;               // decode + NMS + mapping to the source (wall)
};

class FrameDetector {
 public:
  // `g` (fused or not) must match `spec`. Throws ops::InvalidArgument when the executor's
  // input storage cannot take the preprocess kernel's output directly.
  FrameDetector(gpu::Device& device, graph::Graph g, DetectorSpec spec, graph::ExecutorOptions options = {});
  ~FrameDetector();
  FrameDetector(const FrameDetector&) = delete;
  FrameDetector& operator=(const FrameDetector&) = delete;

  FrameDetections detect(const Frame& frame);

  // The geometry of the last frame (letterbox scale and offsets).
  const ops::LetterboxGeometry& geometry() const { return geometry_; }
  const DetectorSpec& spec() const { return spec_; }
  DetectorSpec& spec() { return spec_; }  // thresholds may change between frames
  graph::Executor& executor() { return *executor_; }

  // The decoder and NMS alone, on raw outputs (concatenated scores and regressors), in
  // source pixels for geometry `g`: what detect() does after inference.
  static std::vector<Detection> decode(const DetectorSpec& spec, std::span<const float> scores,
                                       std::span<const float> regressors, const ops::LetterboxGeometry& g);
  // The same for a YOLO-style spec: `outputs` in the config's order.
  static std::vector<Detection> decode_yolo_outputs(const DetectorSpec& spec, std::span<const std::span<const float>> outputs,
                                                    const ops::LetterboxGeometry& g);

 private:
  void prepare(const Frame& frame);

  gpu::Device& device_;
  DetectorSpec spec_;
  std::unique_ptr<graph::Executor> executor_;
  std::string input_name_;
  ops::PreprocessParams params_;
  ops::LetterboxGeometry geometry_;
  gpu::Buffer frame_buffer_;
  std::unique_ptr<gpu::Recorder> preprocess_;
  std::int64_t prepared_width_ = 0, prepared_height_ = 0;
  ops::PixelOrder prepared_order_ = ops::PixelOrder::bgr;
};

}  // namespace fusescope::vision
