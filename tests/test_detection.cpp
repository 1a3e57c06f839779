// Detection decoding and NMS against hand-computed cases ([vision][nms], [vision][blazeface]):
// MediaPipe's SSD anchors (counts and centres worked out from the strides), a BlazeFace decode
// of a synthetic raw output, plain NMS (class-aware, class-agnostic, score threshold, top-k)
// and MediaPipe's weighted NMS on crafted boxes. Every expected number below is worked out in
// the comment next to it, not taken from the code.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "vision/blazeface.hpp"
#include "vision/detection.hpp"
#include "vision/detection_match.hpp"

using namespace fusescope;
using namespace fusescope::vision;

namespace {

// Decoding is a few double operations on float inputs: 1e-9 absolute in 0..256 pixel units is
// far below any misplaced term (>= 1e-3) and far above double rounding (~1e-13).
constexpr double kEps = 1e-9;

Detection box(double x, double y, double w, double h, double score, std::int64_t cls = 0) {
  Detection d;
  d.x = x, d.y = y, d.w = w, d.h = h, d.score = score, d.class_id = cls;
  return d;
}

}  // namespace

TEST_CASE("SSD anchors: BlazeFace front and back have 896 anchors with hand-computed centres", "[vision][blazeface]") {
  for (auto variant : {BlazeFaceVariant::front, BlazeFaceVariant::back}) {
    INFO(to_string(variant));
    const BlazeFaceConfig c = blazeface_config(variant);
    const std::vector<Anchor> a = generate_ssd_anchors(c.anchors);
    // front: 128/8 = 16 -> 16*16 cells * 2 anchors = 512; 128/16 = 8 -> 8*8 * (3 layers * 2) = 384.
    // back: 256/16 = 16 and 256/32 = 8: the same grids, the same 896 (the models' outputs are
    // [1, 512, *] and [1, 384, *]: tests/test_blazeface.cpp checks those shapes).
    REQUIRE(a.size() == 896);
    // Cell (0, 0) of the 16x16 map: centre (0.5/16, 0.5/16); its two anchors share it.
    CHECK(a[0].cx == Approx(0.03125).margin(kEps));
    CHECK(a[0].cy == Approx(0.03125).margin(kEps));
    CHECK(a[1].cx == Approx(0.03125).margin(kEps));
    // Anchor 2 is cell x = 1: (1.5/16, 0.5/16).
    CHECK(a[2].cx == Approx(0.09375).margin(kEps));
    CHECK(a[2].cy == Approx(0.03125).margin(kEps));
    // Anchor 32 = row 1, x 0: (0.5/16, 1.5/16).
    CHECK(a[32].cx == Approx(0.03125).margin(kEps));
    CHECK(a[32].cy == Approx(0.09375).margin(kEps));
    // Anchor 511: the last cell (15, 15): 15.5/16.
    CHECK(a[511].cx == Approx(0.96875).margin(kEps));
    CHECK(a[511].cy == Approx(0.96875).margin(kEps));
    // Anchors 512..517: cell (0, 0) of the 8x8 map, (0.5/8, 0.5/8); 518 is x = 1: 1.5/8.
    for (int i = 512; i < 518; ++i) CHECK(a[static_cast<std::size_t>(i)].cx == Approx(0.0625).margin(kEps));
    CHECK(a[518].cx == Approx(0.1875).margin(kEps));
    CHECK(a[518].cy == Approx(0.0625).margin(kEps));
    // Anchor 895: cell (7, 7): 7.5/8.
    CHECK(a[895].cx == Approx(0.9375).margin(kEps));
    CHECK(a[895].cy == Approx(0.9375).margin(kEps));
    // Fixed anchor size: w = h = 1.
    CHECK(a[700].w == 1.0);
    CHECK(a[700].h == 1.0);
  }
}

TEST_CASE("SSD anchors: scales without fixed size follow SsdAnchorsCalculator", "[vision][blazeface]") {
  SsdAnchorOptions o = blazeface_config(BlazeFaceVariant::front).anchors;
  o.fixed_anchor_size = false;
  const std::vector<Anchor> a = generate_ssd_anchors(o);
  REQUIRE(a.size() == 896);
  // Layer scales: min + (max - min) * i / 3 with min 0.1484375, max 0.75:
  // s0 = 0.1484375, s1 = 0.3489583.., s2 = 0.5494791.., s3 = 0.75.
  const double s0 = 0.1484375, s1 = 0.1484375 + 0.6015625 / 3, s2 = 0.1484375 + 2 * 0.6015625 / 3, s3 = 0.75;
  CHECK(a[0].w == Approx(s0).margin(kEps));                  // layer 0, aspect 1
  CHECK(a[1].w == Approx(std::sqrt(s0 * s1)).margin(kEps));  // layer 0, interpolated
  // The 8x8 map stacks layers 1, 2, 3: s1, sqrt(s1 s2), s2, sqrt(s2 s3), s3, sqrt(s3 * 1).
  const double want[6] = {s1, std::sqrt(s1 * s2), s2, std::sqrt(s2 * s3), s3, std::sqrt(s3)};
  for (int i = 0; i < 6; ++i) CHECK(a[static_cast<std::size_t>(512 + i)].h == Approx(want[i]).margin(kEps));
  SsdAnchorOptions bad = o;
  bad.strides = {8, 0};
  CHECK_THROWS_WITH(generate_ssd_anchors(bad), Catch::Contains("stride 0"));
}

TEST_CASE("BlazeFace decode: a synthetic raw output, by hand", "[vision][blazeface]") {
  const BlazeFaceConfig c = blazeface_config(BlazeFaceVariant::front);
  const std::vector<Anchor> anchors = generate_ssd_anchors(c.anchors);
  std::vector<float> scores(896, -10.0f), regs(896 * 16, 0.0f);
  // Anchor 2: centre (0.09375, 0.03125) = (12, 4) input pixels at scale 128.
  scores[2] = 2.0f;  // sigmoid(2) = 0.880797077977882
  float* r = regs.data() + 2 * 16;
  r[0] = 12.8f;   // cx = 12.8/128 + 0.09375 = 0.19375 -> 24.8 px
  r[1] = -6.4f;   // cy = -6.4/128 + 0.03125 = -0.01875 -> -2.4 px
  r[2] = 25.6f;   // w = 25.6/128 = 0.2 -> 25.6 px
  r[3] = 12.8f;   // h = 0.1 -> 12.8 px
  r[4] = 0.0f;    // keypoint 0 at the anchor centre: (12, 4)
  r[5] = 0.0f;
  r[14] = -12.f;  // keypoint 5: (-12/128 + 0.09375) * 128 = 0, (3.2/128 + 0.03125) * 128 = 7.2
  r[15] = 3.2f;
  // Anchor 600 with a huge logit: clipped to 100 before the sigmoid -> score 1 (not NaN).
  scores[600] = 1e30f;
  // Anchor 601 with -1e30: clipped to -100, sigmoid ~3.7e-44: finite, below any threshold.
  scores[601] = -1e30f;

  const std::vector<Detection> d = decode_blazeface(scores, regs, anchors, c, 0.5);
  REQUIRE(d.size() == 2);
  CHECK(d[0].score == Approx(0.880797077977882).margin(1e-12));
  // Box corners: x = 24.8 - 25.6/2 = 12.0, y = -2.4 - 12.8/2 = -8.8 (not clipped).
  // Tolerance 1e-5: the raw values are floats (12.8f = 12.80000019..), scaled by <= 1.
  CHECK(d[0].x == Approx(12.0).margin(1e-5));
  CHECK(d[0].y == Approx(-8.8).margin(1e-5));
  CHECK(d[0].w == Approx(25.6).margin(1e-5));
  CHECK(d[0].h == Approx(12.8).margin(1e-5));
  CHECK(d[0].cx() == Approx(24.8).margin(1e-5));
  CHECK(d[0].cy() == Approx(-2.4).margin(1e-5));
  REQUIRE(d[0].keypoints.size() == 6);
  CHECK(d[0].keypoints[0].x == Approx(12.0).margin(1e-5));
  CHECK(d[0].keypoints[0].y == Approx(4.0).margin(1e-5));
  CHECK(d[0].keypoints[5].x == Approx(0.0).margin(1e-5));
  CHECK(d[0].keypoints[5].y == Approx(7.2).margin(1e-5));
  CHECK(d[0].class_name == "face");
  CHECK(d[1].score == 1.0);  // 1 / (1 + e^-100) rounds to 1 in double

  const std::vector<Detection> all = decode_blazeface(scores, regs, anchors, c, 0.0);
  CHECK(all.size() == 896);
  for (const auto& x : all) REQUIRE(std::isfinite(x.score));
  CHECK_THROWS_WITH(decode_blazeface(std::span(scores).first(895), regs, anchors, c, 0.5),
                    Catch::Contains("895 scores for 896 anchors"));
}

TEST_CASE("IoU of crafted boxes", "[vision][nms]") {
  // Overlap 9x10 = 90; union 100 + 100 - 90 = 110.
  CHECK(iou(box(0, 0, 10, 10, 1), box(1, 0, 10, 10, 1)) == Approx(90.0 / 110.0));
  CHECK(iou(box(0, 0, 10, 10, 1), box(10, 0, 10, 10, 1)) == 0.0);  // touching edges
  CHECK(iou(box(0, 0, 10, 10, 1), box(2, 2, 5, 5, 1)) == Approx(0.25));  // 25 inside 100
  CHECK(iou(box(0, 0, 0, 10, 1), box(0, 0, 0, 10, 1)) == 0.0);  // empty boxes
}

TEST_CASE("NMS: class-aware and class-agnostic, score threshold, top-k", "[vision][nms]") {
  // A and B overlap by IoU 90/110 = 0.818; C is B's box in class 1; D stands apart; E scores
  // below the threshold.
  const std::vector<Detection> in = {box(1, 0, 10, 10, 0.8, 0),  box(0, 0, 10, 10, 0.9, 0), box(1, 0, 10, 10, 0.7, 1),
                                     box(20, 20, 5, 5, 0.6, 0), box(30, 30, 5, 5, 0.1, 0)};
  NmsOptions o;
  o.iou_threshold = 0.5;
  o.score_threshold = 0.2;
  auto scores = [](const std::vector<Detection>& v) {
    std::vector<double> s;
    for (const auto& d : v) s.push_back(d.score);
    return s;
  };
  o.class_aware = true;  // B goes (A, same class); C stays (class 1); D stays; E is under 0.2
  CHECK(scores(non_max_suppression(in, o)) == std::vector<double>{0.9, 0.7, 0.6});
  o.class_aware = false;  // C goes too (A overlaps it by 0.818 whatever its class)
  CHECK(scores(non_max_suppression(in, o)) == std::vector<double>{0.9, 0.6});
  o.top_k = 1;
  CHECK(scores(non_max_suppression(in, o)) == std::vector<double>{0.9});
  o.top_k = -1;
  o.class_aware = true;
  o.iou_threshold = 0.85;  // 0.818 is no longer enough to suppress
  CHECK(scores(non_max_suppression(in, o)) == std::vector<double>{0.9, 0.8, 0.7, 0.6});
  o.score_threshold = 0.0;
  CHECK(non_max_suppression(in, o).size() == 5);
}

TEST_CASE("Weighted NMS: clusters averaged by score, MediaPipe's way", "[vision][nms]") {
  // A (0,0,10,10) 0.9 and B (2,0,10,10) 0.6 overlap by 80/120 = 0.667 > 0.3: one cluster.
  // C (7,0,10,10) 0.55 overlaps A by 30/170 = 0.176 (not in A's cluster) and B by 50/150 =
  // 0.333 — but B left with A's cluster, so C stands alone. D is far away.
  std::vector<Detection> in = {box(7, 0, 10, 10, 0.55), box(0, 0, 10, 10, 0.9), box(2, 0, 10, 10, 0.6),
                               box(30, 30, 10, 10, 0.5)};
  in[1].keypoints = {{5, 5}};
  in[2].keypoints = {{7, 5}};
  in[0].keypoints = {{12, 5}};
  in[3].keypoints = {{35, 35}};
  NmsOptions o;
  o.iou_threshold = 0.3;
  o.score_threshold = 0.3;
  const std::vector<Detection> out = weighted_non_max_suppression(in, o);
  REQUIRE(out.size() == 3);
  // Merged: xmin = (0.9*0 + 0.6*2)/1.5 = 0.8, xmax = (0.9*10 + 0.6*12)/1.5 = 10.8 -> w 10;
  // y unchanged; keypoint x = (0.9*5 + 0.6*7)/1.5 = 5.8; the score stays the best's, 0.9.
  CHECK(out[0].score == 0.9);
  CHECK(out[0].x == Approx(0.8).margin(kEps));
  CHECK(out[0].w == Approx(10.0).margin(kEps));
  CHECK(out[0].y == Approx(0.0).margin(kEps));
  CHECK(out[0].h == Approx(10.0).margin(kEps));
  CHECK(out[0].keypoints.at(0).x == Approx(5.8).margin(kEps));
  CHECK(out[0].keypoints.at(0).y == Approx(5.0).margin(kEps));
  CHECK(out[1].score == 0.55);
  CHECK(out[1].x == Approx(7.0).margin(kEps));  // a cluster of one is itself
  CHECK(out[2].score == 0.5);
  o.top_k = 2;
  CHECK(weighted_non_max_suppression(in, o).size() == 2);
  o.top_k = -1;
  o.score_threshold = 0.58;  // C and D drop out before clustering
  CHECK(weighted_non_max_suppression(in, o).size() == 1);
}

TEST_CASE("Detections map from letterboxed input pixels back to the source frame", "[vision][nms]") {
  // 200x100 letterboxed into 128x128: scale min(128/200, 128/100) = 0.64, content 128x64,
  // offset (0, (128 - 64) / 2 = 32). Input box (64, 48) 32x16 -> source ((64 - 0) / 0.64,
  // (48 - 32) / 0.64) = (100, 25), size 50x25; keypoint (64, 64) -> (100, 50).
  const ops::LetterboxGeometry g = ops::letterbox_geometry(ops::ResizeFit::letterbox, 200, 100, 128, 128);
  Detection d = box(64, 48, 32, 16, 0.9);
  d.keypoints = {{64, 64}};
  const Detection s = map_to_source(d, g);
  CHECK(s.x == Approx(100.0).margin(kEps));
  CHECK(s.y == Approx(25.0).margin(kEps));
  CHECK(s.w == Approx(50.0).margin(kEps));
  CHECK(s.h == Approx(25.0).margin(kEps));
  CHECK(s.cx() == Approx(125.0).margin(kEps));
  CHECK(s.keypoints.at(0).x == Approx(100.0).margin(kEps));
  CHECK(s.keypoints.at(0).y == Approx(50.0).margin(kEps));
  CHECK(s.score == 0.9);
}

TEST_CASE("matching two detectors' answers: one to one, best IoU first, same class only", "[vision][match]") {
  // a0 and b1 are the same 10x10 box shifted by 1 px: intersection 9x10 = 90, union 110,
  // IoU 90/110 = 0.8182. a0 against b0 (shifted by 5 px): 5x10 = 50 / 150 = 0.3333, below 0.5.
  // a1 (class 1) and b2 (class 0) coincide but differ in class: no pair. a2 has no partner.
  const std::vector<Detection> a = {box(0, 0, 10, 10, 0.9), box(50, 50, 10, 10, 0.8, 1), box(100, 0, 10, 10, 0.7)};
  const std::vector<Detection> b = {box(5, 0, 10, 10, 0.6), box(1, 0, 10, 10, 0.85), box(50, 50, 10, 10, 0.8, 0)};
  const DetectionMatch m = match_detections(a, b, 0.5);
  REQUIRE(m.pairs.size() == 1);
  CHECK(m.pairs[0].a == 0);
  CHECK(m.pairs[0].b == 1);
  CHECK(m.pairs[0].iou == Approx(90.0 / 110.0).epsilon(1e-12));
  CHECK(m.pairs[0].score_difference == Approx(0.85 - 0.9).epsilon(1e-12));
  CHECK(m.only_a == std::vector<std::size_t>{1, 2});
  CHECK(m.only_b == std::vector<std::size_t>{0, 2});

  // Greedy by IoU, not by order: a0 = b1 and a1 = b0 exactly (IoU 1), the crossed pairs overlap
  // by 0.8182. Taking the best first pairs a0-b1 and a1-b0; a matcher walking a in order and
  // taking a0's first acceptable partner would pair a0-b0 and a1-b1 at 0.8182 each.
  const std::vector<Detection> c = {box(0, 0, 10, 10, 0.9), box(1, 0, 10, 10, 0.8)};
  const std::vector<Detection> d = {box(1, 0, 10, 10, 0.8), box(0, 0, 10, 10, 0.9)};
  const DetectionMatch n = match_detections(c, d, 0.5);
  REQUIRE(n.pairs.size() == 2);
  CHECK(n.pairs[0].a == 0);
  CHECK(n.pairs[0].b == 1);
  CHECK(n.pairs[1].a == 1);
  CHECK(n.pairs[1].b == 0);
  CHECK(n.only_a.empty());
  CHECK(n.only_b.empty());
  CHECK(match_detections({}, d).only_b == std::vector<std::size_t>{0, 1});
}
