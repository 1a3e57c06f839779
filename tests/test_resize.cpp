// Resize (nearest with its four rounding rules, bilinear) against the float64 oracle over a
// table of every mode x coordinate transform combination, each enlarging and shrinking by
// integer and non-integer scales, by scales given directly and by scales derived from sizes
// (out / in), plus NHWC and the fp16 variants. Values are uniform in [-1, 1].
//
// Which scales the nearest cases use, and why: the kernel computes coordinates in fp32 (as ONNX
// Runtime does) and the oracle in float64. With a scale that is a short binary fraction (2,
// 0.5, 1.5, 0.75, 2.5, 0.625) every coordinate is a rational with a small denominator: it is
// either exactly a rounding boundary (k or k + 0.5, then representable and computed exactly by
// one correctly rounded fp32 division) or at least 1/denominator away from one, far beyond
// fp32's error, so both pick the same index. align_corners divides integers, so it is safe for
// any sizes. A scale like fp32(7/5) is not 7/5, and x / scale can land within an fp32 ulp of an
// integer: there fp32 and float64 may legitimately round to different neighbours, so such
// scales appear only in the linear cases, where a tiny coordinate difference is a tiny value
// difference.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>

#include "ops/half.hpp"
#include "ops/layout_transpose.hpp"
#include "ops/resize_gpu.hpp"
#include "reference/resize.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

using ops::CoordinateTransform;
using ops::NearestRounding;
using ops::ResizeMode;

// Nearest copies one stored element: the output must equal the oracle bit for bit.
constexpr double kNearestExact = 0.0;
// Linear: the fp32 coordinate is off by at most an ulp of itself (<= 32 * 2^-24 = 1.9e-6 for the
// sizes here, all <= 32), which moves the weight by as much and the value by at most that times
// |b - a| <= 2, i.e. 3.8e-6; the three lerps add ~4 roundings of 2^-24 (2.4e-7). 5e-6 covers
// the worst case; picking a wrong neighbour or weight errs by O(0.1).
constexpr double kLinearRelL2 = 5e-6;
constexpr double kLinearMaxAbs = 5e-6;

struct ScaleCase {
  const char* name;
  ops::Shape input;
  // Either scales (sizes 0) or sizes (scales 0).
  float scale_h = 0, scale_w = 0;
  std::int64_t out_h = 0, out_w = 0;
  bool dyadic = true;  // safe for nearest (see the file comment)
};

const std::vector<ScaleCase>& scale_cases() {
  static const std::vector<ScaleCase> cases{
      {"up x2 (scales)", {1, 3, 5, 6}, 2.0f, 2.0f},
      {"down x0.5 (scales)", {2, 2, 9, 8}, 0.5f, 0.5f},
      {"up x1.5, x2.5 non-integer (scales)", {1, 3, 6, 5}, 1.5f, 2.5f},
      {"down x0.75, x0.625 non-integer (scales)", {1, 2, 12, 16}, 0.75f, 0.625f},
      {"mixed: up x3 in H, down x0.5 in W (scales)", {1, 2, 4, 10}, 3.0f, 0.5f},
      {"sizes 4x8 -> 6x5 (scales 1.5, 0.625)", {1, 3, 4, 8}, 0, 0, 6, 5},
      {"to a single row and column: sizes 7x9 -> 1x1", {1, 2, 7, 9}, 0, 0, 1, 1, false},
      {"sizes 5x7 -> 7x4, non-dyadic scales 1.4, 0.571", {1, 3, 5, 7}, 0, 0, 7, 4, false},
      {"sizes 9x6 -> 32x13, non-dyadic scales 3.56, 2.17", {1, 2, 9, 6}, 0, 0, 32, 13, false},
  };
  return cases;
}

ops::ResizeParams make_params(const ScaleCase& s, ResizeMode mode, NearestRounding rounding,
                              CoordinateTransform transform) {
  if (s.out_h > 0) {
    return ops::resize_to_size(mode, rounding, transform, s.input[2], s.input[3], s.out_h, s.out_w);
  }
  ops::ResizeParams p;
  p.mode = mode;
  p.nearest = rounding;
  p.transform = transform;
  p.scale_h = s.scale_h;
  p.scale_w = s.scale_w;
  p.length_from_scale = true;  // as the importer sets it for ONNX `scales`
  p.out_h = static_cast<std::int64_t>(std::floor(s.input[2] * static_cast<double>(s.scale_h)));
  p.out_w = static_cast<std::int64_t>(std::floor(s.input[3] * static_cast<double>(s.scale_w)));
  return p;
}

std::string describe(const ops::ResizeParams& p) {
  if (p.mode == ResizeMode::linear) return fmt::format("linear {}", ops::to_string(p.transform));
  return fmt::format("nearest {} {}", ops::to_string(p.nearest), ops::to_string(p.transform));
}

constexpr CoordinateTransform kTransforms[] = {
    CoordinateTransform::half_pixel, CoordinateTransform::pytorch_half_pixel, CoordinateTransform::align_corners,
    CoordinateTransform::asymmetric, CoordinateTransform::tf_half_pixel_for_nearest};
constexpr NearestRounding kRoundings[] = {NearestRounding::round_prefer_floor, NearestRounding::round_prefer_ceil,
                                          NearestRounding::floor, NearestRounding::ceil};

struct ModeCase {
  ResizeMode mode;
  NearestRounding rounding;
};

std::vector<ModeCase> mode_cases() {
  std::vector<ModeCase> m;
  for (NearestRounding r : kRoundings) m.push_back({ResizeMode::nearest, r});
  m.push_back({ResizeMode::linear, NearestRounding::round_prefer_floor});
  return m;
}

void check_resize(const ops::ResizeParams& p, const ops::Shape& input, const std::string& what, std::uint32_t seed,
                  ops::Layout layout) {
  std::mt19937 rng(seed);
  const auto x = random_values(rng, ops::numel(input));
  const ops::Shape out_shape = ops::resize_output_shape(p, input);
  const bool nhwc = layout == ops::Layout::nhwc;
  auto tx = upload(input, nhwc ? ops::nchw_to_nhwc(x, input) : x, "x");
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_resize({device(), rec, ops::Precision::fp32, layout}, p, tx, ty, what);
  });
  if (nhwc) got = ops::nhwc_to_nchw(got, out_shape);
  const auto expected = reference::resize(p, to_host(input, x));
  REQUIRE(expected.shape == out_shape);
  const bool nearest = p.mode == ResizeMode::nearest;
  require_close(nearest ? "resize nearest" : "resize linear",
                fmt::format("{} {} in {} out {}", what, ops::to_string(layout), ops::to_string(input),
                            ops::to_string(out_shape)),
                got, expected, nearest ? kNearestExact : kLinearRelL2, nearest ? kNearestExact : kLinearMaxAbs);
}

}  // namespace

TEST_CASE("resize matches oracle: every mode x coordinate transform, up and down, non-integer scales",
          "[kernel][resize]") {
  std::uint32_t seed = 31000;
  for (CoordinateTransform t : kTransforms) {
    for (const ModeCase& m : mode_cases()) {
      for (const ScaleCase& s : scale_cases()) {
        const bool nearest = m.mode == ResizeMode::nearest;
        if (nearest && !s.dyadic && t != CoordinateTransform::align_corners) continue;  // see the file comment
        const ops::ResizeParams p = make_params(s, m.mode, m.rounding, t);
        const std::string what = fmt::format("{}: {}", describe(p), s.name);
        DYNAMIC_SECTION(what) { check_resize(p, s.input, what, seed, ops::Layout::nchw); }
        ++seed;
      }
    }
  }
}

TEST_CASE("resize output sizes and the coordinates that decide them", "[kernel][resize]") {
  // Spot checks that tie the table to the ONNX text, not to the oracle: nearest asymmetric floor
  // x2 repeats every pixel twice (PP-OCR's FPN upsampling), and half_pixel round_prefer_ceil at
  // scale 0.5 picks odd pixels (coordinate 2 * x + 0.5, a tie rounded up).
  const ops::Shape in{1, 1, 2, 4};
  const std::vector<float> x{0, 1, 2, 3, 4, 5, 6, 7};
  auto run = [&](const ops::ResizeParams& p) {
    const ops::Shape out = ops::resize_output_shape(p, in);
    auto tx = upload(in, x, "x");
    auto ty = output_tensor(out, "y");
    return run_kernel(ty, [&](gpu::Recorder& rec) { ops::encode_resize({device(), rec}, p, tx, ty, "spot"); });
  };
  ops::ResizeParams up;
  up.nearest = NearestRounding::floor;
  up.transform = CoordinateTransform::asymmetric;
  up.scale_h = up.scale_w = 2.0f;
  up.out_h = 4;
  up.out_w = 8;
  CHECK(run(up) == std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3,
                                      4, 4, 5, 5, 6, 6, 7, 7, 4, 4, 5, 5, 6, 6, 7, 7});
  ops::ResizeParams down;
  down.nearest = NearestRounding::round_prefer_ceil;
  down.transform = CoordinateTransform::half_pixel;
  down.scale_h = down.scale_w = 0.5f;
  down.out_h = 1;
  down.out_w = 2;
  CHECK(run(down) == std::vector<float>{5, 7});
  // The same with round_prefer_floor picks the even pixels of the even row.
  down.nearest = NearestRounding::round_prefer_floor;
  CHECK(run(down) == std::vector<float>{0, 2});
}

TEST_CASE("resize under NHWC matches oracle", "[kernel][resize][layout]") {
  std::uint32_t seed = 32000;
  const std::vector<std::pair<ops::ResizeParams, ops::Shape>> cases{
      {make_params(scale_cases()[0], ResizeMode::nearest, NearestRounding::floor, CoordinateTransform::asymmetric),
       {2, 5, 5, 6}},
      {make_params(scale_cases()[3], ResizeMode::nearest, NearestRounding::round_prefer_ceil,
                   CoordinateTransform::half_pixel),
       {1, 3, 12, 16}},
      {make_params(scale_cases()[2], ResizeMode::linear, {}, CoordinateTransform::pytorch_half_pixel), {1, 7, 6, 5}},
      {make_params(scale_cases()[7], ResizeMode::linear, {}, CoordinateTransform::align_corners), {2, 3, 5, 7}},
  };
  for (const auto& [p, in] : cases) {
    const std::string what = describe(p);
    DYNAMIC_SECTION(what << " " << ops::to_string(in)) { check_resize(p, in, what, seed, ops::Layout::nhwc); }
    ++seed;
  }
}

TEST_CASE("half precision resize matches oracle", "[kernel][resize][fp16]") {
  // fp16's unit roundoff u = 2^-11. Nearest copies a stored fp16 value: exact. Linear in f16s
  // computes in fp32 and rounds once on the store: u plus the fp32 budget above. Linear in f16
  // rounds the weight t to fp16 (u relative, times |b - a| <= 2: 2u), and each of the three lerps
  // a + (b - a) * t rounds b - a (2u), the product (2u) and the sum (u): 7u per lerp with |x| <=
  // 1; the last lerp carries its inputs' 7u (weights sum to 1) plus its own 7u, and the store is
  // exact (already fp16): 14u = 6.8e-3. 16u leaves room for the coordinate's fp32 error; a wrong
  // neighbour errs by O(0.1).
  constexpr double kU = 1.0 / 2048.0;
  constexpr double kF16sLinear = kU + 2 * kLinearMaxAbs;
  constexpr double kF16Linear = 16 * kU;
  std::uint32_t seed = 33000;
  for (ops::Precision prec : {ops::Precision::fp16s, ops::Precision::fp16}) {
    for (const ModeCase& m : {ModeCase{ResizeMode::nearest, NearestRounding::round_prefer_floor},
                              ModeCase{ResizeMode::linear, NearestRounding::round_prefer_floor}}) {
      for (std::size_t s : {std::size_t{2}, std::size_t{3}, std::size_t{5}}) {
        const ScaleCase& sc = scale_cases()[s];
        const ops::ResizeParams p = make_params(sc, m.mode, m.rounding, CoordinateTransform::half_pixel);
        DYNAMIC_SECTION(ops::to_string(prec) << ": " << describe(p) << " " << sc.name) {
          std::mt19937 rng(seed);
          auto x = random_values(rng, ops::numel(sc.input));
          for (float& v : x) v = ops::half_to_float(ops::float_to_half(v));  // the stored values
          const ops::Shape out = ops::resize_output_shape(p, sc.input);
          auto tx = upload(sc.input, x, "x", ops::DType::f16);
          auto ty = output_tensor(out, "y", ops::DType::f16);
          auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
            ops::encode_resize({device(), rec, prec}, p, tx, ty, sc.name);
          });
          const auto expected = reference::resize(p, to_host(sc.input, x));
          const double tol = m.mode == ResizeMode::nearest ? kNearestExact
                             : prec == ops::Precision::fp16s ? kF16sLinear
                                                              : kF16Linear;
          require_close(fmt::format("resize {} {}", ops::to_string(m.mode), ops::to_string(prec)), sc.name, got,
                        expected, tol, tol);
        }
        ++seed;
      }
    }
  }
}

TEST_CASE("resize rejects bad parameters naming the node", "[kernel][resize][bad-input]") {
  ops::ResizeParams p;
  p.out_h = 0;
  p.out_w = 4;
  REQUIRE_THROWS_WITH(ops::resize_output_shape(p, {1, 1, 2, 2}, "up1"),
                      Catch::Matchers::Contains("up1") && Catch::Matchers::Contains("positive sizes"));
  p.out_h = 4;
  p.scale_h = 0.0f;
  REQUIRE_THROWS_WITH(ops::resize_output_shape(p, {1, 1, 2, 2}, "up2"),
                      Catch::Matchers::Contains("up2") && Catch::Matchers::Contains("scales"));
  p.scale_h = 1.0f;
  REQUIRE_THROWS_WITH(ops::resize_output_shape(p, {1, 2, 2}, "up3"),
                      Catch::Matchers::Contains("up3") && Catch::Matchers::Contains("4 dimensions"));
}

// resize reads x through a texel buffer where a view holds it, else from its storage-buffer
// variant (ops::Encoder::texel_reads = false forces that): the two give the same bits, in both
// layouts, nearest and linear.
TEST_CASE("resize: the texel and storage variants give the same bits", "[kernel][resize]") {
  for (const ScaleCase& s : scale_cases()) {
    for (const ModeCase m : mode_cases()) {
      for (ops::Layout layout : {ops::Layout::nchw, ops::Layout::nhwc}) {
        const ops::ResizeParams p = make_params(s, m.mode, m.rounding, CoordinateTransform::half_pixel);
        INFO(s.name << ", " << describe(p) << ", " << ops::to_string(layout));
        std::mt19937 rng(61);
        const auto x = random_values(rng, ops::numel(s.input));
        auto tx = upload(s.input, x, "x");
        auto ty = output_tensor(ops::resize_output_shape(p, s.input), "y");
        auto run = [&](bool texel) {
          return run_kernel(ty, [&](gpu::Recorder& rec) {
            ops::Encoder enc{device(), rec, ops::Precision::fp32, layout};
            enc.texel_reads = texel;
            ops::encode_resize(enc, p, tx, ty, "texel vs storage");
          });
        };
        const std::vector<float> texel = run(true), storage = run(false);
        REQUIRE(texel.size() == storage.size());
        CHECK(std::memcmp(texel.data(), storage.data(), texel.size() * sizeof(float)) == 0);
      }
    }
  }
  require_no_validation_messages();
}
