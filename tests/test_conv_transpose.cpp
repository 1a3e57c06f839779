// conv_transpose2d against the float64 oracle (scatter form, sharing no indexing with the
// gather-form shader) over a table: PP-OCR's 2x2 stride 2, strides with kernels that do and do
// not divide them, padding, asymmetric padding, output_padding, dilation, groups and depthwise,
// no bias, batch > 1, channel counts that are not multiples of 16, 1x1 inputs; plus seeded random
// shapes, NHWC, the fp16 variants and a hand-computed case. Values are uniform in [-1, 1],
// weights scaled by 1/sqrt(C/groups * KH * KW) so outputs stay O(1).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "ops/conv_transpose_gpu.hpp"
#include "ops/half.hpp"
#include "ops/layout_transpose.hpp"
#include "reference/conv_transpose.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct Case {
  std::string name;
  ops::Shape input;
  ops::ConvTranspose2dParams p;
  std::int64_t expect_oh = 0, expect_ow = 0;  // when nonzero, the output size the case is about
};

// fp32 accumulation of at most K = C/groups * KH * KW products (K <= 48 * 9 = 432 here): the
// rounding grows like sqrt(K) * 2^-24 relative to the output's scale, ~1.2e-6. 1e-5 leaves room
// for cancellation; a wrong tap, stride test or group errs by O(0.1..1).
constexpr double kRelL2 = 1e-5;
constexpr double kMaxAbs = 1e-5;

ops::ConvTranspose2dParams params(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride,
                                  std::int64_t pad = 0, std::int64_t output_padding = 0, std::int64_t dilation = 1,
                                  std::int64_t groups = 1, bool bias = true) {
  ops::ConvTranspose2dParams p;
  p.in_channels = c;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.output_padding_h = p.output_padding_w = output_padding;
  p.dilation_h = p.dilation_w = dilation;
  p.groups = groups;
  p.has_bias = bias;
  return p;
}

struct Operands {
  std::vector<float> x, w, b;
  ops::Shape w_shape;
};

Operands make_operands(const Case& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o;
  o.w_shape = ops::conv_transpose2d_weight_shape(c.p);
  const float w_scale =
      1.0f / std::sqrt(static_cast<float>(c.p.in_channels / c.p.groups * c.p.kernel_h * c.p.kernel_w));
  o.x = random_values(rng, ops::numel(c.input));
  o.w = random_values(rng, ops::numel(o.w_shape), -w_scale, w_scale);
  o.b = random_values(rng, c.p.out_channels);
  return o;
}

reference::HostTensor oracle(const Case& c, const Operands& o) {
  const auto hb = to_host({c.p.out_channels}, o.b);
  return reference::conv_transpose2d(c.p, to_host(c.input, o.x), to_host(o.w_shape, o.w),
                                     c.p.has_bias ? &hb : nullptr);
}

void check(const Case& c, std::uint32_t seed, ops::Layout layout = ops::Layout::nchw) {
  const Operands o = make_operands(c, seed);
  const ops::Shape out_shape = ops::conv_transpose2d_output_shape(c.p, c.input);
  if (c.expect_oh != 0) {
    REQUIRE(out_shape[2] == c.expect_oh);
    REQUIRE(out_shape[3] == c.expect_ow);
  }
  const bool nhwc = layout == ops::Layout::nhwc;
  auto tx = upload(c.input, nhwc ? ops::nchw_to_nhwc(o.x, c.input) : o.x, "x");
  auto tw = upload(o.w_shape, o.w, "w");
  auto tb = upload({c.p.out_channels}, o.b, "b");
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_conv_transpose2d({device(), rec, ops::Precision::fp32, layout}, c.p, tx, tw,
                                 c.p.has_bias ? &tb : nullptr, ty, c.name);
  });
  if (nhwc) got = ops::nhwc_to_nchw(got, out_shape);
  const auto expected = oracle(c, o);
  REQUIRE(expected.shape == out_shape);
  require_close(nhwc ? "conv_transpose2d nhwc" : "conv_transpose2d",
                fmt::format("{} in {} out {}", c.name, ops::to_string(c.input), ops::to_string(out_shape)), got,
                expected, kRelL2, kMaxAbs);
}

std::vector<Case> table() {
  auto asym = params(4, 6, 3, 2, 0, 1);
  asym.pad_top = 1;
  asym.pad_left = 0;
  asym.pad_bottom = 0;
  asym.pad_right = 2;
  auto rect = params(3, 5, 1, 1);
  rect.kernel_h = 2;
  rect.kernel_w = 3;
  rect.stride_h = 3;
  rect.stride_w = 2;
  rect.output_padding_h = 2;
  return {
      {"PP-OCR: 2x2 stride 2, 24 -> 24 channels, no bias", {1, 24, 10, 10}, params(24, 24, 2, 2, 0, 0, 1, 1, false), 20, 20},
      {"2x2 stride 2 with bias, batch 2", {2, 8, 5, 7}, params(8, 16, 2, 2), 10, 14},
      {"3x3 stride 2 pad 1 output_padding 1 (exact x2)", {1, 5, 6, 6}, params(5, 7, 3, 2, 1, 1), 12, 12},
      {"3x3 stride 1 pad 1 (same size)", {1, 4, 7, 5}, params(4, 3, 3, 1, 1), 7, 5},
      {"4x4 stride 2 pad 1 (DCGAN)", {1, 6, 4, 4}, params(6, 3, 4, 2, 1), 8, 8},
      {"stride 3 > kernel 2 leaves gaps", {1, 3, 4, 5}, params(3, 4, 2, 3), 11, 14},
      {"stride 3 with output_padding 2", {1, 3, 3, 3}, params(3, 2, 2, 3, 0, 2), 10, 10},
      {"dilation 2, 3x3 stride 1", {1, 3, 5, 6}, params(3, 4, 3, 1, 0, 0, 2), 9, 10},
      {"dilation 2 stride 2 pad 2", {1, 4, 5, 5}, params(4, 4, 3, 2, 2, 1, 2), 10, 10},
      {"groups 2: 6 -> 4 channels", {1, 6, 5, 5}, params(6, 4, 3, 2, 1, 1, 1, 2), 10, 10},
      {"depthwise groups = 5", {2, 5, 4, 6}, params(5, 5, 2, 2, 0, 0, 1, 5), 8, 12},
      {"asymmetric padding t1 l0 b0 r2", {1, 4, 6, 5}, asym, 13, 10},
      {"non-square 2x3 kernel, stride 3x2, output_padding 2x0", {1, 3, 4, 5}, rect, 13, 11},
      {"48 input channels (three 16-channel blocks), 3x3 stride 2", {1, 48, 4, 4}, params(48, 8, 3, 2), 9, 9},
      {"1x1 input, 3x3 kernel", {2, 7, 1, 1}, params(7, 3, 3, 1), 3, 3},
      // 8 and 4 output channels per group: one invocation's channel block stays in its group.
      {"groups 2: 6 -> 16 channels, 3x3 stride 2", {1, 6, 4, 5}, params(6, 16, 3, 2, 1, 1, 1, 2), 8, 10},
      {"groups 3: 9 -> 12 channels, 2x2 stride 2", {1, 9, 3, 4}, params(9, 12, 2, 2, 0, 0, 1, 3), 6, 8},
      // Kernel = stride, no padding: the shader's upsampling form (TILE), at each size it takes
      // (2 above), with 20 input channels to cross a 16-channel block.
      {"3x3 stride 3 upsampling, 5 -> 8 channels", {1, 5, 3, 4}, params(5, 8, 3, 3), 9, 12},
      {"4x4 stride 4 upsampling, 20 -> 4 channels, batch 2", {2, 20, 2, 3}, params(20, 4, 4, 4), 8, 12},
      // 2x2 stride 2 with pad_end 1 and output_padding 1: the output is still exactly twice the input.
      {"2x2 stride 2, pad_end 1 + output_padding 1", {1, 8, 3, 3}, [] {
         auto p = params(8, 8, 2, 2, 0, 1);
         p.pad_bottom = p.pad_right = 1;
         return p;
       }(), 6, 6},
  };
}

}  // namespace

TEST_CASE("conv_transpose2d matches oracle: strides, pads, output_padding, dilation, groups", "[kernel][conv_transpose]") {
  std::uint32_t seed = 41000;
  for (const Case& c : table()) {
    DYNAMIC_SECTION(c.name) { check(c, seed); }
    ++seed;
  }
}

TEST_CASE("conv_transpose2d matches oracle: seeded random shapes", "[kernel][conv_transpose]") {
  std::mt19937 rng(20261125);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Case> cases;
  while (cases.size() < 24) {
    const std::int64_t groups = pick(1, 3);
    ops::ConvTranspose2dParams p;
    p.groups = groups;
    p.in_channels = groups * pick(1, 6);
    p.out_channels = groups * pick(1, 5);
    p.kernel_h = pick(1, 4);
    p.kernel_w = pick(1, 4);
    p.stride_h = pick(1, 3);
    p.stride_w = pick(1, 3);
    p.dilation_h = pick(1, 2);
    p.dilation_w = pick(1, 2);
    p.pad_top = pick(0, 2);
    p.pad_left = pick(0, 2);
    p.pad_bottom = pick(0, 2);
    p.pad_right = pick(0, 2);
    p.output_padding_h = pick(0, 2);
    p.output_padding_w = pick(0, 2);
    p.has_bias = pick(0, 1) == 1;
    const ops::Shape in{pick(1, 2), p.in_channels, pick(1, 7), pick(1, 7)};
    try {
      ops::conv_transpose2d_output_shape(p, in);
    } catch (const ops::InvalidArgument&) {
      continue;  // output_padding too large or everything padded away: rejected by design
    }
    cases.push_back({fmt::format("random #{}: g{} {}->{} k{}x{} s{}x{} d{}x{} p{},{},{},{} op{}x{}{}", cases.size(), groups,
                                 p.in_channels, p.out_channels, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                                 p.dilation_h, p.dilation_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right,
                                 p.output_padding_h, p.output_padding_w, p.has_bias ? " bias" : ""),
                     in, p});
  }
  std::uint32_t seed = 42000;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { check(c, seed); }
    ++seed;
  }
}

TEST_CASE("conv_transpose2d by hand: 2x2 stride 2 tiles the kernel times each pixel", "[kernel][conv_transpose]") {
  // One channel, x = [[1, 2], [3, 4]], w = [[1, 10], [100, 1000]], bias 0.5: each pixel becomes
  // its own 2x2 tile x * w + 0.5 (the ONNX text, computed by hand; no oracle involved).
  const auto p = params(1, 1, 2, 2);
  auto tx = upload({1, 1, 2, 2}, std::vector<float>{1, 2, 3, 4}, "x");
  auto tw = upload({1, 1, 2, 2}, std::vector<float>{1, 10, 100, 1000}, "w");
  auto tb = upload({1}, std::vector<float>{0.5f}, "b");
  auto ty = output_tensor({1, 1, 4, 4}, "y");
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_conv_transpose2d({device(), rec}, p, tx, tw, &tb, ty, "by hand");
  });
  CHECK(got == std::vector<float>{1.5f,   10.5f,   2.5f,   20.5f,   100.5f, 1000.5f, 200.5f, 2000.5f,
                                  3.5f,   30.5f,   4.5f,   40.5f,   300.5f, 3000.5f, 400.5f, 4000.5f});
}

TEST_CASE("conv_transpose2d under NHWC matches oracle", "[kernel][conv_transpose][layout]") {
  std::uint32_t seed = 43000;
  for (std::size_t i : {std::size_t{0}, std::size_t{2}, std::size_t{9}, std::size_t{11}, std::size_t{15}}) {
    const Case c = table()[i];
    DYNAMIC_SECTION(c.name) { check(c, seed, ops::Layout::nhwc); }
    ++seed;
  }
}

TEST_CASE("half precision conv_transpose2d matches oracle", "[kernel][conv_transpose][fp16]") {
  // u = 2^-11. f16s: fp32 arithmetic, one rounding on the store: u + 2 * kMaxAbs. f16: each of
  // the K <= 48 * 9 products rounds (u) and the three-level sum adds about sqrt(taps) + sqrt(16)
  // + sqrt(C/16) roundings of partial sums no larger than the output's scale; for K = 432 that
  // is ~3 + 4 + 2 = 9 u-sized steps in the worst (aligned) case, with random signs far fewer.
  // 16u bounds it with the bias add and store; an indexing bug errs by O(0.1).
  constexpr double kU = 1.0 / 2048.0;
  std::uint32_t seed = 44000;
  for (ops::Precision prec : {ops::Precision::fp16s, ops::Precision::fp16}) {
    for (std::size_t i : {std::size_t{1}, std::size_t{8}, std::size_t{13}}) {
      const Case c = table()[i];
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        Operands o = make_operands(c, seed);
        auto to_half = [](std::vector<float>& v) {
          for (float& f : v) f = ops::half_to_float(ops::float_to_half(f));
        };
        to_half(o.x);
        to_half(o.w);
        const ops::Shape out = ops::conv_transpose2d_output_shape(c.p, c.input);
        auto tx = upload(c.input, o.x, "x", ops::DType::f16);
        auto tw = upload(o.w_shape, o.w, "w", ops::DType::f16);
        auto tb = upload({c.p.out_channels}, o.b, "b");
        auto ty = output_tensor(out, "y", ops::DType::f16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_conv_transpose2d({device(), rec, prec}, c.p, tx, tw, c.p.has_bias ? &tb : nullptr, ty, c.name);
        });
        const double tol = prec == ops::Precision::fp16s ? kU + 2 * kMaxAbs : 16 * kU;
        require_close(fmt::format("conv_transpose2d {}", ops::to_string(prec)), c.name, got, oracle(c, o), tol, tol);
      }
      ++seed;
    }
  }
}

TEST_CASE("conv_transpose2d rejects bad parameters naming the node", "[kernel][conv_transpose][bad-input]") {
  auto p = params(4, 4, 2, 2, 0, 2);  // output_padding 2 >= stride 2
  REQUIRE_THROWS_WITH(ops::conv_transpose2d_output_shape(p, {1, 4, 3, 3}, "up.deconv"),
                      Catch::Matchers::Contains("up.deconv") && Catch::Matchers::Contains("output_padding"));
  p = params(4, 4, 2, 2, 3);  // padding removes a 6x6 output entirely
  REQUIRE_THROWS_WITH(ops::conv_transpose2d_output_shape(p, {1, 4, 3, 3}, "up.deconv"),
                      Catch::Matchers::Contains("removes the whole"));
  p = params(4, 6, 2, 2, 0, 0, 1, 4);  // 6 output channels not divisible by 4 groups
  REQUIRE_THROWS_WITH(ops::conv_transpose2d_output_shape(p, {1, 4, 3, 3}, "up.deconv"),
                      Catch::Matchers::Contains("not divisible"));
  p = params(4, 4, 2, 2);
  REQUIRE_THROWS_WITH(ops::conv_transpose2d_output_shape(p, {1, 3, 3, 3}, "up.deconv"),
                      Catch::Matchers::Contains("expected in_channels = 4"));
}
