// Max and average pooling and global average pooling against the float64 oracle over a table of
// shapes: kernel/stride/padding combinations, ceil mode on and off (including a shape where ceil
// mode drops a last window that would start in the padding), count_include_pad both ways
// (including a ceil-mode window that hangs past the padded input), stride larger than the
// kernel, non-square kernels, asymmetric padding, batch > 1 and odd channel counts, plus seeded
// random shapes. Values are uniform in [-1, 1] unless a case says otherwise.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "ops/pool2d_gpu.hpp"
#include "reference/pool2d.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct PoolCase {
  const char* name;
  ops::Shape input;  // N, C, H, W
  ops::Pool2dParams p;
  // When nonzero, the output H x W the case is about (so a case named "drops the last window"
  // cannot silently stop doing so).
  std::int64_t expect_oh = 0, expect_ow = 0;
  float lo = -1.0f, hi = 1.0f;
};


constexpr auto kMax = ops::PoolKind::max;
constexpr auto kAvg = ops::PoolKind::average;

// Max pooling returns one of its inputs (or -inf, which the shape rule makes impossible): no
// arithmetic, no rounding, so the output must equal the oracle exactly.
constexpr double kMaxPoolExact = 0.0;
// Average pooling sums a window of k <= 25 fp32 terms (5x5 is the largest window here and in
// the random shapes) and divides once: at most k roundings, each <= 2^-24 of a partial sum whose
// magnitude is <= k * max|x| = k, then divided by k or fewer, so |error| <= k * 2^-24 * max|x| =
// 1.5e-6 at k = 25 with |x| <= 1. Relative L2 is typically 2^-24 * sqrt(k) / sqrt(k) ~ 1e-7;
// 2e-6 covers the worst case in both numbers, and a wrong divisor (counting or not counting the
// padding) errs by at least 1/k of the mean, i.e. O(1e-2) relative.
constexpr double kAveragePoolRelL2 = 2e-6;
constexpr double kAveragePoolMaxAbs = 2e-6;

void check_pool(const PoolCase& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const ops::Pool2dParams& p = c.p;
  auto x = random_values(rng, ops::numel(c.input), c.lo, c.hi);
  const ops::Shape out_shape = ops::pool2d_output_shape(p, c.input);
  if (c.expect_oh != 0) {
    REQUIRE(out_shape[2] == c.expect_oh);
    REQUIRE(out_shape[3] == c.expect_ow);
  }
  auto tx = upload(c.input, x, "x");
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(
      ty, [&](gpu::Recorder& rec) { ops::encode_pool2d({device(), rec}, p, tx, ty, c.name); });
  auto expected = reference::pool2d(p, to_host(c.input, x));
  REQUIRE(expected.shape == out_shape);
  const bool is_max = p.kind == ops::PoolKind::max;
  require_close(is_max ? "max_pool2d" : "average_pool2d",
                fmt::format("{} in {} out {}", c.name, ops::to_string(c.input), ops::to_string(out_shape)),
                got, expected, is_max ? kMaxPoolExact : kAveragePoolRelL2,
                is_max ? kMaxPoolExact : kAveragePoolMaxAbs);
}

void run_table(const std::vector<PoolCase>& cases, std::uint32_t seed) {
  for (const PoolCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_pool(c, seed++); }
  }
}

// Cases shared by max and average pooling, built for `kind`.
std::vector<PoolCase> common_cases(ops::PoolKind kind) {
  ops::Pool2dParams non_square = ops::square_pool(kind, 1, 1);
  non_square.kernel_h = 2;
  non_square.kernel_w = 3;
  non_square.stride_h = 1;
  non_square.stride_w = 2;
  non_square.pad_left = non_square.pad_right = 1;
  ops::Pool2dParams asym = ops::square_pool(kind, 3, 2);
  asym.pad_top = 0;
  asym.pad_left = 1;
  asym.pad_bottom = 1;
  asym.pad_right = 0;
  ops::Pool2dParams asym_ceil = asym;
  asym_ceil.ceil_mode = true;
  return {
      {"2x2 stride 2 on 1x3x8x8", {1, 3, 8, 8}, ops::square_pool(kind, 2, 2), 4, 4},
      {"3x3 stride 2 pad 1 (ResNet stem) on 1x8x56x56", {1, 8, 56, 56}, ops::square_pool(kind, 3, 2, 1), 28, 28},
      {"3x3 stride 1 pad 1 on odd 7 channels 15x13", {1, 7, 15, 13}, ops::square_pool(kind, 3, 1, 1), 15, 13},
      {"ceil off: 3x3 stride 2 on 1x3x8x8 drops the partial window", {1, 3, 8, 8}, ops::square_pool(kind, 3, 2), 3, 3},
      {"ceil on: 3x3 stride 2 on 1x3x8x8 keeps a partial last window", {1, 3, 8, 8},
       ops::square_pool(kind, 3, 2, 0, true), 4, 4},
      {"ceil on: 3x3 stride 3 pad 1 on 1x2x5x5 drops a window starting in the padding", {1, 2, 5, 5},
       ops::square_pool(kind, 3, 3, 1, true), 2, 2},
      {"ceil on: 2x2 stride 2 on odd 1x5x7x9", {1, 5, 7, 9}, ops::square_pool(kind, 2, 2, 0, true), 4, 5},
      {"stride 3 > kernel 2 on 1x3x11x10", {1, 3, 11, 10}, ops::square_pool(kind, 2, 3), 4, 3},
      {"1x1 kernel stride 2 (subsampling) on 1x4x9x9", {1, 4, 9, 9}, ops::square_pool(kind, 1, 2), 5, 5},
      {"non-square 2x3 kernel, stride 1x2, pad 0,1 on 1x3x6x11", {1, 3, 6, 11}, non_square, 5, 6},
      {"asymmetric padding t0 l1 b1 r0, 3x3 stride 2 on 1x3x8x8", {1, 3, 8, 8}, asym, 4, 4},
      {"asymmetric padding with ceil on 1x3x9x8", {1, 3, 9, 8}, asym_ceil, 5, 4},
      {"window equals the 7x7 input", {1, 9, 7, 7}, ops::square_pool(kind, 7, 7), 1, 1},
      {"batch 3, 5 channels, 3x3 stride 2 pad 1 on 11x11", {3, 5, 11, 11}, ops::square_pool(kind, 3, 2, 1), 6, 6},
  };
}

}  // namespace

TEST_CASE("max pool matches oracle: kernel, stride, padding, ceil mode", "[kernel][pool]") {
  auto cases = common_cases(kMax);
  // Padding must never win a max: with every input negative a kernel that reads the padding
  // as 0 returns 0 at the borders.
  cases.push_back({"all-negative input, 3x3 stride 2 pad 1 on 1x3x9x9", {1, 3, 9, 9},
                   ops::square_pool(kMax, 3, 2, 1), 5, 5, -2.0f, -1.0f});
  cases.push_back({"all-negative input, ceil on, 3x3 stride 2 pad 1 on 2x3x8x8", {2, 3, 8, 8},
                   ops::square_pool(kMax, 3, 2, 1, true), 5, 5, -2.0f, -1.0f});
  // Padding 2 on a 3x3 kernel (ONNX's maxpool_2d_pads; beyond PyTorch's half-kernel limit): the
  // corner windows hold a single real element, which must win over the padding.
  cases.push_back({"all-negative input, 3x3 stride 1 pad 2 (more than half the kernel) on 1x3x5x5", {1, 3, 5, 5},
                   ops::square_pool(kMax, 3, 1, 2), 7, 7, -2.0f, -1.0f});
  // Dilated max pooling (ONNX MaxPool-10's dilations; conformance maxpool_2d_dilations): taps
  // `dilation` apart, so a kernel that read the window's every element would pick up the rows
  // between the taps. All-negative input with padding: a padded tap must never win either.
  ops::Pool2dParams dilated = ops::square_pool(kMax, 3, 1, 2);
  dilated.dilation_h = dilated.dilation_w = 2;
  cases.push_back({"dilation 2, 3x3 stride 1 pad 2 on 1x3x9x9 (span 5)", {1, 3, 9, 9}, dilated, 9, 9});
  cases.push_back({"dilation 2, all-negative, 3x3 stride 1 pad 2 on 1x3x9x9", {1, 3, 9, 9}, dilated, 9, 9, -2.0f, -1.0f});
  ops::Pool2dParams dilated_ceil = ops::square_pool(kMax, 2, 2, 0, true);
  dilated_ceil.dilation_h = 2;
  dilated_ceil.dilation_w = 3;
  cases.push_back({"dilation 2x3, 2x2 stride 2 ceil on 2x2x8x9 (spans 3x4)", {2, 2, 8, 9}, dilated_ceil, 4, 4});
  run_table(cases, 1000);
}

TEST_CASE("average pool matches oracle: kernel, stride, padding, ceil mode", "[kernel][pool]") {
  run_table(common_cases(kAvg), 2000);
}

TEST_CASE("average pool matches oracle: count_include_pad true and false", "[kernel][pool]") {
  std::vector<PoolCase> cases;
  for (bool include : {false, true}) {
    const char* const names[] = {
        include ? "include pad: 3x3 stride 1 pad 1 on 1x5x7x7" : "exclude pad: 3x3 stride 1 pad 1 on 1x5x7x7",
        include ? "include pad: 3x3 stride 2 pad 1 on batch 2, 3x10x10"
                : "exclude pad: 3x3 stride 2 pad 1 on batch 2, 3x10x10",
        // ceil mode: the last window [7, 10) covers real row 7, padding row 8 and row 9 beyond the
        // padded input; with count_include_pad the divisor counts 2 rows, not 3 (PyTorch).
        include ? "include pad, ceil on: 3x3 stride 2 pad 1 on 1x3x8x8, last window hangs past the padding"
                : "exclude pad, ceil on: 3x3 stride 2 pad 1 on 1x3x8x8, last window hangs past the padding",
        include ? "include pad: 5x5 stride 2 pad 2 on 1x3x9x6" : "exclude pad: 5x5 stride 2 pad 2 on 1x3x9x6",
        // ONNX's averagepool_2d_pads(_count_include_pad): padding 2 > half the 3x3 kernel; corner
        // windows hold one real element (divisor 1 excluding the padding, 9 including it).
        include ? "include pad: 3x3 stride 1 pad 2 on 1x3x5x5" : "exclude pad: 3x3 stride 1 pad 2 on 1x3x5x5",
    };
    cases.push_back({names[0], {1, 5, 7, 7}, ops::square_pool(kAvg, 3, 1, 1, false, include), 7, 7});
    cases.push_back({names[1], {2, 3, 10, 10}, ops::square_pool(kAvg, 3, 2, 1, false, include), 5, 5});
    cases.push_back({names[2], {1, 3, 8, 8}, ops::square_pool(kAvg, 3, 2, 1, true, include), 5, 5});
    cases.push_back({names[3], {1, 3, 9, 6}, ops::square_pool(kAvg, 5, 2, 2, false, include), 5, 3});
    cases.push_back({names[4], {1, 3, 5, 5}, ops::square_pool(kAvg, 3, 1, 2, false, include), 7, 7});
  }
  run_table(cases, 3000);
}

TEST_CASE("pool matches oracle: seeded random shapes", "[kernel][pool]") {
  std::mt19937 rng(20261126);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<PoolCase> cases;
  std::vector<std::string> names;
  names.reserve(32);
  while (cases.size() < 32) {
    ops::Pool2dParams p;
    p.kind = pick(0, 1) == 0 ? kMax : kAvg;
    p.kernel_h = pick(1, 5);
    p.kernel_w = pick(1, 5);
    p.stride_h = pick(1, 3);
    p.stride_w = pick(1, 3);
    p.pad_top = pick(0, 2);
    p.pad_left = pick(0, 2);
    p.pad_bottom = pick(0, 2);
    p.pad_right = pick(0, 2);
    p.ceil_mode = pick(0, 1) == 1;
    p.count_include_pad = pick(0, 1) == 1;
    ops::Shape in{pick(1, 3), pick(1, 9), pick(1, 14), pick(1, 14)};
    try {
      ops::pool2d_output_shape(p, in);
    } catch (const ops::InvalidArgument&) {
      continue;  // padding not smaller than the kernel or a kernel that does not fit: rejected by design
    }
    names.push_back(fmt::format("random #{}: {} k{}x{} s{}x{} p{},{},{},{}{}{}", cases.size(),
                                p.kind == kMax ? "max" : "avg", p.kernel_h, p.kernel_w, p.stride_h,
                                p.stride_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right,
                                p.ceil_mode ? " ceil" : "",
                                p.kind == kAvg && p.count_include_pad ? " include-pad" : ""));
    cases.push_back({names.back().c_str(), in, p});
  }
  run_table(cases, 4000);
}

TEST_CASE("global average pool matches oracle: 1x1, 7x7, 56x56, odd sizes, batch 2", "[kernel][pool]") {
  // Inputs in [-0.25, 1]: mostly positive like the post-ReLU/SiLU maps a network's global pool
  // sees, so each plane's mean (~0.375) sits well away from zero, with negatives so a sign bug
  // shows. Planes over 1024 elements: the kernel sums ceil(H*W / 128) strided terms per
  // invocation, then 7 tree levels and one divide: <= 25 + 7 + 1 = 33 roundings at 56x56. Up to
  // 1024: one invocation sums the plane in blocks of 32, then the blocks: <= 32 + 32 + 1 = 65
  // roundings at 32x32. Each is <= 2^-24 of a partial sum bounded by sum|x| ~ 1.13 |sum x|, so
  // the relative error is <= 65 * 2^-24 * 1.13 = 4.4e-6. 5e-6 covers it; summing a plane twice
  // or dividing by the wrong count errs by >= 1/(H*W) relative, and missing a whole row, block
  // or invocation share by far more.
  constexpr double kGlobalPoolRelL2 = 5e-6;
  constexpr double kGlobalPoolMaxAbs = 5e-6;
  struct Case {
    const char* name;
    ops::Shape input;
  };
  const std::vector<Case> cases{
      {"1x1 planes: 2x3x1x1", {2, 3, 1, 1}},
      {"7x7 planes (ResNet head): 2x64x7x7", {2, 64, 7, 7}},
      {"56x56 planes: 2x16x56x56", {2, 16, 56, 56}},
      {"32x32 planes, the largest one invocation sums: 2x8x32x32", {2, 8, 32, 32}},
      {"33x32 planes, the smallest the tree sums: 2x8x33x32", {2, 8, 33, 32}},
      {"odd 13x9 planes, 5 channels: 2x5x13x9", {2, 5, 13, 9}},
      {"odd 1x17 planes: 2x3x1x17", {2, 3, 1, 17}},
      {"66000 planes, more workgroups than one grid row (65535): 2x33000x1x2", {2, 33000, 1, 2}},
  };
  std::uint32_t seed = 5000;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::mt19937 rng(seed);
      auto x = random_values(rng, ops::numel(c.input), -0.25f, 1.0f);
      const ops::Shape out_shape = ops::global_average_pool_output_shape(c.input);
      auto tx = upload(c.input, x, "x");
      auto ty = output_tensor(out_shape, "y");
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_global_average_pool({device(), rec}, tx, ty, c.name);
      });
      auto expected = reference::global_average_pool(to_host(c.input, x));
      REQUIRE(expected.shape == out_shape);
      require_close("global_average_pool",
                    fmt::format("{} in {} out {}", c.name, ops::to_string(c.input), ops::to_string(out_shape)),
                    got, expected, kGlobalPoolRelL2, kGlobalPoolMaxAbs);
    }
    ++seed;
  }
}
