#include "vision/detection.hpp"

#include <algorithm>
#include <numeric>

namespace fusescope::vision {

double iou(const Detection& a, const Detection& b) {
  const double ix = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const double iy = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0.0;
  const double inter = ix * iy;
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

namespace {

// Indices of the candidates at or above the score threshold, best first (stable for ties).
std::vector<std::size_t> ranked(const std::vector<Detection>& c, double score_threshold) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i].score >= score_threshold) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c[a].score > c[b].score; });
  return order;
}

bool room_for_more(const std::vector<Detection>& kept, std::int64_t top_k) {
  return top_k < 0 || static_cast<std::int64_t>(kept.size()) < top_k;
}

}  // namespace

std::vector<Detection> non_max_suppression(std::vector<Detection> candidates, const NmsOptions& options) {
  std::vector<Detection> kept;
  for (std::size_t i : ranked(candidates, options.score_threshold)) {
    if (!room_for_more(kept, options.top_k)) break;
    const Detection& d = candidates[i];
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Detection& k) {
      return (!options.class_aware || k.class_id == d.class_id) && iou(k, d) > options.iou_threshold;
    });
    if (!suppressed) kept.push_back(std::move(candidates[i]));
  }
  return kept;
}

std::vector<Detection> weighted_non_max_suppression(std::vector<Detection> candidates, const NmsOptions& options) {
  std::vector<std::size_t> remaining = ranked(candidates, options.score_threshold);
  std::vector<Detection> out;
  while (!remaining.empty() && room_for_more(out, options.top_k)) {
    const Detection& best = candidates[remaining.front()];
    std::vector<std::size_t> cluster, rest;
    for (std::size_t i : remaining) (iou(best, candidates[i]) > options.iou_threshold ? cluster : rest).push_back(i);
    // The best candidate overlaps itself with IoU 1 unless its box is empty; it always leads.
    if (cluster.empty() || cluster.front() != remaining.front()) {
      cluster.insert(cluster.begin(), remaining.front());
      rest.erase(std::remove(rest.begin(), rest.end(), remaining.front()), rest.end());
    }
    Detection merged = best;
    double total = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::vector<glm::dvec2> kps(best.keypoints.size(), glm::dvec2(0.0));
    for (std::size_t i : cluster) {
      const Detection& c = candidates[i];
      total += c.score;
      x0 += c.score * c.x;
      y0 += c.score * c.y;
      x1 += c.score * (c.x + c.w);
      y1 += c.score * (c.y + c.h);
      for (std::size_t k = 0; k < kps.size() && k < c.keypoints.size(); ++k) kps[k] += c.score * c.keypoints[k];
    }
    if (total > 0) {
      merged.x = x0 / total;
      merged.y = y0 / total;
      merged.w = x1 / total - merged.x;
      merged.h = y1 / total - merged.y;
      for (auto& k : kps) k /= total;
      merged.keypoints = std::move(kps);
    }
    out.push_back(std::move(merged));
    remaining = std::move(rest);
  }
  return out;
}

Detection map_to_source(const Detection& d, const ops::LetterboxGeometry& g) {
  Detection s = d;
  const ops::PixelBox b = ops::map_box_to_source(ops::PixelBox{{d.x, d.y}, {d.w, d.h}}, g);
  s.x = b.origin.x;
  s.y = b.origin.y;
  s.w = b.size.x;
  s.h = b.size.y;
  for (auto& k : s.keypoints) k = (k - g.offset) / g.scale;
  return s;
}

}  // namespace fusescope::vision
