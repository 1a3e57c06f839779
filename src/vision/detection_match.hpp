// Two detectors' answers on the same frame, paired one to one: how the window (and a test)
// says what fusion changed — matched boxes with their IoU and score difference, and the
// detections present on one side only.
#pragma once
#include <cstddef>
#include <vector>

#include "vision/detection.hpp"

namespace fusescope::vision {

struct DetectionPair {
  std::size_t a = 0, b = 0;     // indices into the two lists
  double iou = 0;
  double score_difference = 0;  // b's score minus a's
};

struct DetectionMatch {
  std::vector<DetectionPair> pairs;  // in a's order
  std::vector<std::size_t> only_a, only_b;  // unmatched indices, ascending
};

// Greedy one-to-one matching: every (a, b) of the same class with IoU >= min_iou is a candidate;
// the highest IoU is taken first (ties: lower a, then lower b), and each detection is used once.
DetectionMatch match_detections(const std::vector<Detection>& a, const std::vector<Detection>& b,
                                double min_iou = 0.5);

}  // namespace fusescope::vision
