#include "vision/detection_match.hpp"

#include <algorithm>
#include <tuple>

namespace fusescope::vision {

DetectionMatch match_detections(const std::vector<Detection>& a, const std::vector<Detection>& b, double min_iou) {
  std::vector<DetectionPair> candidates;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) {
      if (a[i].class_id != b[j].class_id) continue;
      const double overlap = iou(a[i], b[j]);
      if (overlap >= min_iou && overlap > 0) candidates.push_back({i, j, overlap, b[j].score - a[i].score});
    }
  std::stable_sort(candidates.begin(), candidates.end(), [](const DetectionPair& p, const DetectionPair& q) {
    return std::make_tuple(-p.iou, p.a, p.b) < std::make_tuple(-q.iou, q.a, q.b);
  });
  std::vector<bool> used_a(a.size()), used_b(b.size());
  DetectionMatch m;
  for (const DetectionPair& p : candidates) {
    if (used_a[p.a] || used_b[p.b]) continue;
    used_a[p.a] = used_b[p.b] = true;
    m.pairs.push_back(p);
  }
  std::sort(m.pairs.begin(), m.pairs.end(), [](const DetectionPair& p, const DetectionPair& q) { return p.a < q.a; });
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!used_a[i]) m.only_a.push_back(i);
  for (std::size_t j = 0; j < b.size(); ++j)
    if (!used_b[j]) m.only_b.push_back(j);
  return m;
}

}  // namespace fusescope::vision
