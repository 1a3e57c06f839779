// The generic YOLO-style decoder and its JSON config ([vision][yolo]): hand-made tiny output
// tensors in each layout and box format, with every expected box worked out in the comment
// beside it (not by the decoder's code), NMS through the config, and the config's error
// messages (each names the file and the field).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/onnx_import.hpp"
#include "test_support.hpp"
#include "vision/decoder_config.hpp"
#include "vision/detector.hpp"
#include "vision/yolo_decoder.hpp"

using namespace fusescope;
using namespace fusescope::vision;
namespace fs = std::filesystem;

namespace {

// Decoding is a few double operations on float inputs (log/exp of float-rounded logs):
// 1e-5 px is far below a misplaced term (>= 0.25 px here) and above float rounding of ~8 px
// values (~1e-6).
constexpr double kEps = 1e-5;

std::vector<Detection> decode_one(const DecoderConfig& c, const std::vector<float>& values, double threshold) {
  const std::span<const float> s(values);
  return decode_yolo(c, std::span<const std::span<const float>>(&s, 1), threshold);
}

float logit(double p) { return static_cast<float>(std::log(p / (1 - p))); }

DecoderConfig parse(const std::string& text) { return parse_decoder_config(text, "test.json"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ops::InvalidArgument& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kMinimal = R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb"}, "classes": ["a"]})";

}  // namespace

TEST_CASE("YOLO decoder: nchw, anchor-free ltrb in grid cells through exp, objectness x class", "[vision][yolo]") {
  // Input 8x8, stride 4: a 2x2 grid; K = 4 box + 1 objectness + 2 classes = 7 channels.
  DecoderConfig c = parse(R"({"outputs": [{"name": "p4", "stride": 4}], "layout": "nchw",
      "box": {"format": "ltrb", "units": "grid", "activation": "exp"}, "objectness": true,
      "score_activation": "sigmoid", "classes": ["a", "b"]})");
  c.input_width = c.input_height = 8;
  REQUIRE(expected_output_shape(c, 0) == ops::Shape{1, 7, 2, 2});
  std::vector<float> t(7 * 4, 0.0f);
  auto at = [&](int ch, int gy, int gx) -> float& { return t[static_cast<std::size_t>((ch * 2 + gy) * 2 + gx)]; };
  for (int gy = 0; gy < 2; ++gy)
    for (int gx = 0; gx < 2; ++gx) at(4, gy, gx) = -20.0f;  // no object anywhere ...
  // ... but in cell (gx 1, gy 0): centre ((1 + 0.5) * 4, 0.5 * 4) = (6, 2). Distances
  // exp(log d) = 0.5, 1, 0.25, 0.75 cells = 2, 4, 1, 3 px: x1 = 6 - 2 = 4, y1 = 2 - 4 = -2,
  // x2 = 6 + 1 = 7, y2 = 2 + 3 = 5 -> x 4, y -2, w 3, h 7.
  at(0, 0, 1) = std::log(0.5f);
  at(1, 0, 1) = std::log(1.0f);
  at(2, 0, 1) = std::log(0.25f);
  at(3, 0, 1) = std::log(0.75f);
  at(4, 0, 1) = 0.0f;          // sigmoid 0.5
  at(5, 0, 1) = logit(0.75);   // class a: 0.5 * 0.75 = 0.375
  at(6, 0, 1) = logit(0.1);    // class b: 0.5 * 0.1 = 0.05, below 0.1
  const std::vector<Detection> d = decode_one(c, t, 0.1);
  REQUIRE(d.size() == 1);
  CHECK(d[0].x == Approx(4).margin(kEps));
  CHECK(d[0].y == Approx(-2).margin(kEps));
  CHECK(d[0].w == Approx(3).margin(kEps));
  CHECK(d[0].h == Approx(7).margin(kEps));
  CHECK(d[0].class_id == 0);
  CHECK(d[0].class_name == "a");
  CHECK(d[0].score == Approx(0.375).margin(1e-6));
  // Lower the threshold: class b of the same cell joins (multi-label), same box.
  const std::vector<Detection> both = decode_one(c, t, 0.04);
  REQUIRE(both.size() == 2);
  CHECK(both[1].class_id == 1);
  CHECK(both[1].score == Approx(0.05).margin(1e-6));
  CHECK(both[1].x == Approx(4).margin(kEps));
}

TEST_CASE("YOLO decoder: rows layout, two strides, anchors, cxcywh with sigmoid centre and exp size", "[vision][yolo]") {
  // Input 4x4. Stride 2: 2x2 cells x 2 anchors = 8 rows (anchor-major: rows 0-3 anchor 0,
  // rows 4-7 anchor 1); stride 4: 1 cell x 2 anchors = rows 8, 9. K = 4 + 2 classes (no
  // objectness) = 6. Scores taken as they are (score_activation none).
  DecoderConfig c = parse(R"({"outputs": [{"name": "out", "strides": [2, 4],
        "anchors": [[[1, 1], [3, 5]], [[8, 8], [4, 2]]]}],
      "layout": "rows", "box": {"format": "cxcywh", "units": "grid",
        "activation": ["sigmoid", "sigmoid", "exp", "exp"]},
      "objectness": false, "score_activation": "none", "classes": ["a", "b"]})");
  c.input_width = c.input_height = 4;
  REQUIRE(expected_output_shape(c, 0) == ops::Shape{1, 10, 6});
  std::vector<float> t(10 * 6, 0.0f);
  // Row 5 = stride 2, anchor 1 (3x5 px), cell 1 = (gx 1, gy 0). Centre ((1 + sigmoid(0)) * 2,
  // (0 + sigmoid(0)) * 2) = (3, 1); size (exp(log 2) * 3, exp(0) * 5) = (6, 5); top-left
  // (3 - 3, 1 - 2.5) = (0, -1.5). Class b scores 0.9.
  float* r5 = &t[5 * 6];
  r5[2] = std::log(2.0f);
  r5[5] = 0.9f;
  // Row 8 = stride 4, anchor 0 (8x8 px), cell 0. Centre ((0 + sigmoid(logit 0.25)) * 4,
  // (0 + sigmoid(logit 0.75)) * 4) = (1, 3); size (exp(log 0.5) * 8, exp(0) * 8) = (4, 8);
  // top-left (-1, -1). Class a scores 0.6.
  float* r8 = &t[8 * 6];
  r8[0] = logit(0.25);
  r8[1] = logit(0.75);
  r8[2] = std::log(0.5f);
  r8[4] = 0.6f;
  const std::vector<Detection> d = decode_one(c, t, 0.5);
  REQUIRE(d.size() == 2);
  CHECK(d[0].x == Approx(0).margin(kEps));
  CHECK(d[0].y == Approx(-1.5).margin(kEps));
  CHECK(d[0].w == Approx(6).margin(kEps));
  CHECK(d[0].h == Approx(5).margin(kEps));
  CHECK(d[0].class_id == 1);
  CHECK(d[0].score == Approx(0.9).margin(1e-6));
  CHECK(d[1].x == Approx(-1).margin(kEps));
  CHECK(d[1].y == Approx(-1).margin(kEps));
  CHECK(d[1].w == Approx(4).margin(kEps));
  CHECK(d[1].h == Approx(8).margin(kEps));
  CHECK(d[1].class_id == 0);
}

TEST_CASE("YOLO decoder: columns layout with pixel xyxy and xywh, and ltrb in pixels", "[vision][yolo]") {
  // Input 8x8, stride 8: one cell, N = 1; columns [1, K, 1] is the same memory as one row, so
  // stride 4 (2x2 = 4 predictions) tells the layouts apart: value k of prediction n at k * 4 + n.
  for (const char* format : {"xyxy", "xywh"}) {
    INFO(format);
    DecoderConfig c = parse(std::string(R"({"outputs": [{"name": "o", "stride": 4}], "layout": "columns",
        "box": {"format": ")") + format + R"(", "units": "pixels"}, "objectness": true,
        "score_activation": "none", "classes": ["a"]})");
    c.input_width = c.input_height = 8;
    REQUIRE(expected_output_shape(c, 0) == ops::Shape{1, 6, 4});
    std::vector<float> t(6 * 4, 0.0f);
    // Prediction 2 (cell gx 0, gy 1): values 1, 2, 5, 7; objectness 0.8, class 0.5 -> 0.4.
    const float v[6] = {1, 2, 5, 7, 0.8f, 0.5f};
    for (int k = 0; k < 6; ++k) t[static_cast<std::size_t>(k * 4 + 2)] = v[k];
    const std::vector<Detection> d = decode_one(c, t, 0.3);
    REQUIRE(d.size() == 1);
    // Pixels are absolute, the cell plays no part: xyxy (1, 2)-(5, 7) -> w 4, h 5;
    // xywh top-left (1, 2), size 5 x 7.
    CHECK(d[0].x == Approx(1).margin(kEps));
    CHECK(d[0].y == Approx(2).margin(kEps));
    CHECK(d[0].w == Approx(std::string(format) == "xyxy" ? 4 : 5).margin(kEps));
    CHECK(d[0].h == Approx(std::string(format) == "xyxy" ? 5 : 7).margin(kEps));
    CHECK(d[0].score == Approx(0.4).margin(1e-6));
  }
  // ltrb in pixels: distances from the cell centre as they are. nchw, stride 4, cell (1, 1):
  // centre (6, 6); l 1, t 2, r 3, b 4 -> (5, 4)-(9, 10): x 5, y 4, w 4, h 6.
  DecoderConfig c = parse(R"({"outputs": [{"name": "o", "stride": 4}],
      "box": {"format": "ltrb", "units": "pixels"}, "objectness": false, "score_activation": "sigmoid",
      "classes": ["a"]})");
  c.input_width = c.input_height = 8;
  std::vector<float> t(5 * 4, -20.0f);
  const float v[5] = {1, 2, 3, 4, 0};
  for (int k = 0; k < 5; ++k) t[static_cast<std::size_t>(k * 4 + 3)] = v[k];
  const std::vector<Detection> d = decode_one(c, t, 0.3);
  REQUIRE(d.size() == 1);
  CHECK(d[0].x == Approx(5).margin(kEps));
  CHECK(d[0].y == Approx(4).margin(kEps));
  CHECK(d[0].w == Approx(4).margin(kEps));
  CHECK(d[0].h == Approx(6).margin(kEps));
  CHECK(d[0].score == Approx(0.5).margin(1e-6));
}

TEST_CASE("YOLO decoder: NMS follows the config (class-aware or agnostic, top-k)", "[vision][yolo]") {
  // Two predictions in one row layout, pixel xyxy: (0,0)-(10,10) class a 0.9 and (1,0)-(11,10)
  // class b 0.8: IoU = 90 / 110 = 0.818 > 0.5. Class-aware keeps both, agnostic only the first.
  DecoderConfig c = parse(R"({"outputs": [{"name": "o", "stride": 8}], "layout": "rows",
      "box": {"format": "xyxy", "units": "pixels"}, "objectness": false, "score_activation": "none",
      "classes": ["a", "b"], "class_aware": true})");
  c.input_width = 16;
  c.input_height = 8;  // 2x1 cells: two rows
  std::vector<float> t = {0, 0, 10, 10, 0.9f, 0.0f, 1, 0, 11, 10, 0.0f, 0.8f};
  const std::span<const float> s(t);
  const std::span<const std::span<const float>> outs(&s, 1);
  CHECK(detect_yolo(c, outs, 0.25, 0.5).size() == 2);
  c.class_aware = false;
  const std::vector<Detection> agnostic = detect_yolo(c, outs, 0.25, 0.5);
  REQUIRE(agnostic.size() == 1);
  CHECK(agnostic[0].class_name == "a");
  c.class_aware = true;
  c.top_k = 1;
  CHECK(detect_yolo(c, outs, 0.25, 0.5).size() == 1);
  // A wrong-sized tensor names the output.
  const std::vector<float> short_tensor(5, 0.0f);
  const std::span<const float> ss(short_tensor);
  CHECK_THROWS_WITH(decode_yolo(c, std::span<const std::span<const float>>(&ss, 1), 0.25),
                    Catch::Contains("output o has 5 values") && Catch::Contains("needs 12"));
}

TEST_CASE("Decoder config: defaults and every field read", "[vision][yolo]") {
  const DecoderConfig m = parse(kMinimal);
  CHECK(m.layout == OutputLayout::nchw);
  CHECK(m.box_units == BoxUnits::grid);
  CHECK(m.objectness);
  CHECK(m.fit == ops::ResizeFit::letterbox);
  CHECK(m.values_per_prediction() == 6);
  const DecoderConfig c = parse(R"({"about": "x",
      "input": {"name": "in", "width": 64, "height": 32, "order": "bgr", "fit": "stretch", "pad": 0,
                "mean": [1, 2, 3], "std": [4, 5, 6], "scale": "255"},
      "outputs": [{"name": "o", "strides": [8, 16], "anchors": null}], "layout": "columns",
      "box": {"format": "cxcywh", "units": "pixels", "activation": "none"},
      "objectness": false, "score_activation": "none", "classes": ["p", "q", "r"],
      "score_threshold": 0.4, "iou_threshold": 0.6, "class_aware": false, "top_k": -1})");
  CHECK(c.input_name == "in");
  CHECK(c.input_width == 64);
  CHECK(c.input_height == 32);
  CHECK(c.order == ops::PixelOrder::bgr);
  CHECK(c.fit == ops::ResizeFit::stretch);
  CHECK(c.pad_value == 0.0f);
  CHECK(c.mean[2] == 3.0f);
  CHECK(c.std[0] == 4.0f);
  CHECK(c.scale_255);
  CHECK(c.outputs[0].strides == std::vector<std::int64_t>{8, 16});
  CHECK(c.layout == OutputLayout::columns);
  CHECK(c.box_format == BoxFormat::cxcywh);
  CHECK(c.box_units == BoxUnits::pixels);
  CHECK(!c.objectness);
  CHECK(c.score_activation == Activation::none);
  CHECK(c.classes.size() == 3);
  CHECK(c.score_threshold == 0.4);
  CHECK(c.iou_threshold == 0.6);
  CHECK(!c.class_aware);
  CHECK(c.top_k == -1);
  // 64x32 input, strides 8 and 16: 8x4 + 4x2 = 40 predictions of K = 4 + 3.
  DecoderConfig sized = c;
  CHECK(expected_output_shape(sized, 0) == ops::Shape{1, 7, 40});
}

TEST_CASE("Decoder config: errors name the file and the field", "[vision][yolo]") {
  CHECK_THAT(error_of("{not json"), Catch::Contains("test.json: not valid JSON"));
  CHECK_THAT(error_of(R"({"box": {"format": "ltrb"}, "classes": ["a"]})"), Catch::Contains("test.json: outputs: missing"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "xywhr"}, "classes": ["a"]})"),
             Catch::Contains("box.format: 'xywhr': expected one of ltrb, cxcywh, xywh, xyxy"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb", "unit": "grid"}, "classes": ["a"]})"),
             Catch::Contains("box.unit: unknown key"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "strides": [4, 8]}], "box": {"format": "ltrb"}, "classes": ["a"]})"),
             Catch::Contains("outputs[0].strides: the nchw layout has one output per stride"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": -4}], "box": {"format": "ltrb"}, "classes": ["a"]})"),
             Catch::Contains("outputs[0].strides[0]: -4: expected a positive stride"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "strides": [4, 8], "anchors": [[[1, 2]], [[1, 2], [3, 4]]]}],
                         "layout": "rows", "box": {"format": "cxcywh"}, "classes": ["a"]})"),
             Catch::Contains("outputs[0].anchors[1]: 2 anchors where stride 4 has 1"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4, "anchors": [[[1, 2]]]}], "box": {"format": "ltrb"}, "classes": ["a"]})"),
             Catch::Contains("outputs[0].anchors: ltrb boxes are distances"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb"}, "classes": []})"),
             Catch::Contains("classes: expected a non-empty array"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb"}, "classes": ["a"], "score_threshold": 2})"),
             Catch::Contains("score_threshold: 2: expected 0..1"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb"}, "classes": ["a"],
                         "input": {"std": [1, 0, 1]}})"),
             Catch::Contains("input.std[1]: a zero std"));
  CHECK_THAT(error_of(R"({"outputs": [{"name": "p", "stride": 4}], "box": {"format": "ltrb", "activation": ["exp", "exp"]}, "classes": ["a"]})"),
             Catch::Contains("box.activation: expected one name or 4"));
  // Files: absent, a directory.
  CHECK_THROWS_WITH(load_decoder_config("/nonexistent/decoder.json"),
                    Catch::Contains("decoder config /nonexistent/decoder.json: no such file"));
  CHECK_THROWS_WITH(load_decoder_config(fs::temp_directory_path()), Catch::Contains("not a regular file"));
}

TEST_CASE("Decoder config against a model: missing outputs and wrong shapes are named", "[vision][yolo]") {
  const fs::path model = fs::path(FUSESCOPE_SOURCE_DIR) / "assets/dpn-shapes/dpn-shapes.onnx";
  if (!fs::exists(model)) {
    WARN(model.string() << " is absent (tools/dpn_shapes.py makes it)");
    testing::note_skipped();
    return;
  }
  const graph::Graph g = io::import_onnx(model);
  const DecoderConfig shipped = load_decoder_config(model.parent_path() / "decoder.json");
  const DetectorSpec spec = yolo_spec(g, shipped, "decoder.json");
  CHECK(spec.kind == DetectorKind::yolo);
  CHECK(spec.yolo.input_width == 128);
  CHECK(spec.preprocess.out_order == ops::PixelOrder::rgb);

  DecoderConfig missing = shipped;
  missing.outputs[1].name = "p32";
  CHECK_THROWS_WITH(yolo_spec(g, missing, "my.json"),
                    Catch::Contains("my.json: outputs[1] names 'p32', which the graph does not output") &&
                        Catch::Contains("outputs p8 1x9x16x16 p16 1x9x8x8"));
  DecoderConfig extra_class = shipped;
  extra_class.classes.push_back("star");  // K = 10, the model has 9
  CHECK_THROWS_WITH(yolo_spec(g, extra_class, "my.json"),
                    Catch::Contains("output 'p8' has shape 1x9x16x16") && Catch::Contains("needs 1x10x16x16"));
  DecoderConfig wrong_stride = shipped;
  wrong_stride.outputs[0].strides = {4};
  CHECK_THROWS_WITH(yolo_spec(g, wrong_stride, "my.json"), Catch::Contains("needs 1x9x32x32"));
  DecoderConfig wrong_size = shipped;
  wrong_size.input_width = 160;
  CHECK_THROWS_WITH(yolo_spec(g, wrong_size, "my.json"), Catch::Contains("input is 160x128 (width x height) in the config, 128x128 in the graph"));
  DecoderConfig wrong_input = shipped;
  wrong_input.input_name = "images";
  CHECK_THROWS_WITH(yolo_spec(g, wrong_input, "my.json"), Catch::Contains("input.name 'images' is not an input of the graph"));
}
