// Detections and non-maximum suppression: what every detector decoder (BlazeFace, the generic
// YOLO-style one) produces and how overlapping candidates are reduced to one box per object.
//
// Boxes are axis-aligned, in continuous pixel coordinates (pixel i covers [i, i + 1)) of
// whatever frame the decoder was told about: network-input pixels straight out of a decoder,
// source-frame pixels after map_to_source().
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <glm/vec2.hpp>

#include "ops/preprocess.hpp"

namespace fusescope::vision {

struct Detection {
  double x = 0, y = 0;  // top-left corner
  double w = 0, h = 0;  // size
  std::int64_t class_id = 0;
  std::string class_name;
  double score = 0;                    // 0..1
  std::vector<glm::dvec2> keypoints;   // model-defined order (BlazeFace: see blazeface.hpp); may be empty

  double cx() const { return x + 0.5 * w; }
  double cy() const { return y + 0.5 * h; }
  double area() const { return w > 0 && h > 0 ? w * h : 0.0; }
};

// Intersection over union of two boxes; 0 when either is empty or they do not touch.
double iou(const Detection& a, const Detection& b);

struct NmsOptions {
  double iou_threshold = 0.45;    // a box overlapping a kept one by more than this is suppressed
  double score_threshold = 0.25;  // candidates scoring below this are dropped first
  std::int64_t top_k = -1;        // at most this many results (-1: no limit)
  bool class_aware = true;        // true: boxes suppress only boxes of their own class
};

// Greedy NMS: candidates sorted by score (descending; ties keep input order), each kept unless
// it overlaps an already kept box (of its class when class_aware) by IoU > iou_threshold.
// Returns the kept detections, highest score first.
std::vector<Detection> non_max_suppression(std::vector<Detection> candidates, const NmsOptions& options);

// MediaPipe's weighted NMS (NonMaxSuppressionCalculator, algorithm WEIGHTED): take the best
// remaining candidate; every remaining candidate overlapping it by IoU > iou_threshold (itself
// included) joins its cluster and leaves the pool; the result has the best candidate's score
// and class, and box corners and keypoints averaged over the cluster weighted by score.
// Class-agnostic, as MediaPipe's is; score_threshold and top_k as for plain NMS.
std::vector<Detection> weighted_non_max_suppression(std::vector<Detection> candidates, const NmsOptions& options);

// Boxes and keypoints from network-input pixels to source-frame pixels (the inverse of the
// preprocess geometry), not clipped.
Detection map_to_source(const Detection& d, const ops::LetterboxGeometry& g);

}  // namespace fusescope::vision
