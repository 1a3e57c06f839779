// Mean average precision over a set of frames: how detection quality is judged (dpn-shapes'
// held-out set, and the same definition tools/dpn_shapes.py measures PyTorch with).
//
// Per class: the detections of that class from all frames, best score first (ties keep frame
// order, then each frame's order); each matches the ground-truth box of its class in its frame
// with the highest IoU — a true positive when that IoU >= match_iou and the box is not taken
// yet (it is then taken), else a false positive (a duplicate of a taken box included). AP is the
// area under the precision/recall curve with precision made monotone from the right (VOC's
// all-point interpolation). mAP is the mean over the classes that have ground truth.
#pragma once
#include <cstdint>
#include <vector>

#include "vision/detection.hpp"

namespace fusescope::vision {

struct MapResult {
  double map = 0;                          // mean over classes with ground truth
  std::vector<double> ap;                  // per class id; 0 for a class without ground truth
  std::vector<std::int64_t> ground_truth;  // boxes per class id
};

// detections[i] and truth[i] belong to frame i (truth's score is unused). class ids must lie in
// 0..num_classes-1; throws ops::InvalidArgument otherwise or when the frame counts differ.
MapResult mean_average_precision(const std::vector<std::vector<Detection>>& detections,
                                 const std::vector<std::vector<Detection>>& truth, std::int64_t num_classes,
                                 double match_iou = 0.5);

}  // namespace fusescope::vision
