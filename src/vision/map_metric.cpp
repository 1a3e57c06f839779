#include "vision/map_metric.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fusescope::vision {

MapResult mean_average_precision(const std::vector<std::vector<Detection>>& detections,
                                 const std::vector<std::vector<Detection>>& truth, std::int64_t num_classes,
                                 double match_iou) {
  if (detections.size() != truth.size())
    throw ops::InvalidArgument(fmt::format("mAP: {} frames of detections for {} frames of ground truth",
                                           detections.size(), truth.size()));
  auto check_class = [&](const Detection& d, const char* what) {
    if (d.class_id < 0 || d.class_id >= num_classes)
      throw ops::InvalidArgument(fmt::format("mAP: a {} has class {}, expected 0..{}", what, d.class_id, num_classes - 1));
  };
  for (const auto& frame : detections)
    for (const auto& d : frame) check_class(d, "detection");
  for (const auto& frame : truth)
    for (const auto& d : frame) check_class(d, "ground-truth box");

  MapResult r;
  r.ap.assign(static_cast<std::size_t>(num_classes), 0.0);
  r.ground_truth.assign(static_cast<std::size_t>(num_classes), 0);
  double sum = 0;
  std::int64_t classes_with_truth = 0;
  for (std::int64_t c = 0; c < num_classes; ++c) {
    struct Ranked {
      double score;
      std::size_t frame;
      const Detection* d;
    };
    std::vector<Ranked> ranked;
    for (std::size_t f = 0; f < detections.size(); ++f)
      for (const auto& d : detections[f])
        if (d.class_id == c) ranked.push_back({d.score, f, &d});
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.score > b.score; });

    std::vector<std::vector<const Detection*>> boxes(truth.size());
    std::vector<std::vector<bool>> taken(truth.size());
    std::int64_t n_truth = 0;
    for (std::size_t f = 0; f < truth.size(); ++f)
      for (const auto& t : truth[f])
        if (t.class_id == c) boxes[f].push_back(&t), ++n_truth;
    for (std::size_t f = 0; f < truth.size(); ++f) taken[f].assign(boxes[f].size(), false);
    r.ground_truth[static_cast<std::size_t>(c)] = n_truth;
    if (n_truth == 0) continue;

    // Precision at each rank; recall rises by 1 / n_truth at each true positive.
    std::vector<double> precision, recall;
    std::int64_t tp = 0;
    for (std::size_t k = 0; k < ranked.size(); ++k) {
      const Ranked& d = ranked[k];
      double best = 0;
      std::size_t best_j = 0;
      bool found = false;
      for (std::size_t j = 0; j < boxes[d.frame].size(); ++j) {
        const double o = iou(*d.d, *boxes[d.frame][j]);
        if (o > best) best = o, best_j = j, found = true;
      }
      if (found && best >= match_iou && !taken[d.frame][best_j]) {
        taken[d.frame][best_j] = true;
        ++tp;
      }
      precision.push_back(static_cast<double>(tp) / static_cast<double>(k + 1));
      recall.push_back(static_cast<double>(tp) / static_cast<double>(n_truth));
    }
    // Monotone precision from the right, then sum precision over each rise in recall.
    for (std::size_t k = precision.size(); k-- > 1;) precision[k - 1] = std::max(precision[k - 1], precision[k]);
    double ap = 0, previous_recall = 0;
    for (std::size_t k = 0; k < recall.size(); ++k) {
      if (recall[k] != previous_recall) {
        ap += (recall[k] - previous_recall) * precision[k];
        previous_recall = recall[k];
      }
    }
    r.ap[static_cast<std::size_t>(c)] = ap;
    sum += ap;
    ++classes_with_truth;
  }
  r.map = classes_with_truth ? sum / static_cast<double>(classes_with_truth) : 0.0;
  return r;
}

}  // namespace fusescope::vision
