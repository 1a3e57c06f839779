// mAP@0.5 against hand-worked cases ([vision][map]): each expected number is computed in the
// comment beside it from the definition in vision/map_metric.hpp, not by the code.
#include <catch2/catch.hpp>

#include <vector>

#include "vision/map_metric.hpp"

using namespace fusescope;
using namespace fusescope::vision;

namespace {

Detection box(double x, double y, double w, double h, std::int64_t cls, double score = 1.0) {
  Detection d;
  d.x = x, d.y = y, d.w = w, d.h = h, d.class_id = cls, d.score = score;
  return d;
}

// Sums of a few products of small fractions: 1e-12 is far below any wrong term (>= 1/12).
constexpr double kEps = 1e-12;

}  // namespace

TEST_CASE("mAP: perfect detections give 1, none give 0", "[vision][map]") {
  const std::vector<std::vector<Detection>> truth = {{box(0, 0, 10, 10, 0), box(20, 20, 5, 5, 1)}, {box(3, 3, 8, 8, 1)}};
  const MapResult perfect = mean_average_precision(truth, truth, 2);
  CHECK(perfect.map == Approx(1.0).margin(kEps));
  CHECK(perfect.ground_truth == std::vector<std::int64_t>{1, 2});
  const MapResult none = mean_average_precision({{}, {}}, truth, 2);
  CHECK(none.map == 0.0);
}

TEST_CASE("mAP: ranks, duplicates, misses, wrong class and the IoU bar", "[vision][map]") {
  // Class 0, two frames, three ground-truth boxes: A (0,0,10,10) in frame 0, B (50,50,10,10)
  // and C (80,0,10,10) in frame 1.
  const std::vector<std::vector<Detection>> truth = {{box(0, 0, 10, 10, 0)},
                                                     {box(50, 50, 10, 10, 0), box(80, 0, 10, 10, 0)}};
  // Detections, best first:
  //   0.9 frame 0 on A exactly                         TP  (tp 1: P 1/1, R 1/3)
  //   0.8 frame 0 on A again (duplicate)               FP  (P 1/2, R 1/3)
  //   0.7 frame 1 (52,50,10,10): IoU with B 80/120 = 0.667 >= 0.5   TP (P 2/3, R 2/3)
  //   0.6 frame 1 (85,0,10,10): IoU with C 50/150 = 0.333 < 0.5     FP (P 2/4, R 2/3)
  //   0.5 frame 1 on C but class 1: not class 0's at all (class 1 has no truth: not averaged)
  // Monotone precision from the right: 1, 2/3, 2/3, 1/2. Recall rises at ranks 1 (to 1/3) and
  // 3 (to 2/3): AP = 1/3 * 1 + 1/3 * 2/3 = 5/9. C is never found: recall stops at 2/3.
  const std::vector<std::vector<Detection>> dets = {
      {box(0, 0, 10, 10, 0, 0.9), box(0, 0, 10, 10, 0, 0.8)},
      {box(52, 50, 10, 10, 0, 0.7), box(85, 0, 10, 10, 0, 0.6), box(80, 0, 10, 10, 1, 0.5)}};
  const MapResult r = mean_average_precision(dets, truth, 2);
  CHECK(r.ap[0] == Approx(5.0 / 9.0).margin(kEps));
  CHECK(r.ap[1] == 0.0);
  CHECK(r.ground_truth[1] == 0);
  CHECK(r.map == Approx(5.0 / 9.0).margin(kEps));  // the mean over class 0 alone

  // The same with a stricter bar (0.7): the 0.7 detection's 0.667 no longer counts; only the
  // first is a TP: P 1, R 1/3 -> AP 1/3.
  CHECK(mean_average_precision(dets, truth, 2, 0.7).ap[0] == Approx(1.0 / 3.0).margin(kEps));
}

TEST_CASE("mAP: a false positive ranked first lowers AP, and the mean is over classes", "[vision][map]") {
  // Class 0: one truth; an FP at 0.9 (P 0, R 0), then the TP at 0.8 (P 1/2, R 1) -> AP 1/2.
  // Class 1: one truth, found first -> AP 1. mAP = (1/2 + 1) / 2 = 3/4.
  const std::vector<std::vector<Detection>> truth = {{box(0, 0, 10, 10, 0), box(40, 40, 10, 10, 1)}};
  const std::vector<std::vector<Detection>> dets = {
      {box(20, 20, 10, 10, 0, 0.9), box(0, 0, 10, 10, 0, 0.8), box(40, 40, 10, 10, 1, 0.3)}};
  const MapResult r = mean_average_precision(dets, truth, 2);
  CHECK(r.ap[0] == Approx(0.5).margin(kEps));
  CHECK(r.ap[1] == Approx(1.0).margin(kEps));
  CHECK(r.map == Approx(0.75).margin(kEps));
}

TEST_CASE("mAP: mismatched frames and bad class ids are errors", "[vision][map]") {
  CHECK_THROWS_WITH(mean_average_precision({{}}, {{}, {}}, 1), Catch::Contains("1 frames of detections for 2"));
  CHECK_THROWS_WITH(mean_average_precision({{box(0, 0, 1, 1, 3)}}, {{}}, 2), Catch::Contains("class 3, expected 0..1"));
}
