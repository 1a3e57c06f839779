// GEMM (Linear) and softmax against the float64 oracle.
// gemm: a table of M x N x K shapes (the 1x10x2048 classifier head, sizes that are not multiples
// of the 16x16 tile, 1x1x1, one tile-aligned 64^3, a tall 257x3x129) crossed with both weight
// layouts, with and without bias and three epilogues (none, relu, sigmoid); plus rank-4 inputs
// [N, C, 1, 1] (after global pooling) and [N, C, H, W] flattening to K. X is uniform in [-1, 1],
// W in [-1/sqrt(K), 1/sqrt(K)] so outputs stay O(1) at every K, bias in [-1, 1].
// softmax: axes 1 and -1, a 1000-way classifier, an inner axis of a rank-4 tensor, an axis of
// size 1, and rows of +-100 logits that overflow exp() unless the row max is subtracted first.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "gpu/error.hpp"
#include "gpu/recorder.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/gemm_gpu.hpp"
#include "ops/softmax_gpu.hpp"
#include "reference/gemm.hpp"
#include "reference/softmax.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// fp32 accumulation of K products: rounding grows like sqrt(K) * 2^-24 relative to the output's
// scale, 2.7e-6 at K = 2048 (the classifier head, the largest K here). 1e-5 leaves ~4x room for
// unlucky cancellation yet is far below what a tiling bug (a skipped or doubled k block, a wrong
// edge tile, a transposed weight read) produces, which is O(0.1..1). The epilogues add at most
// a few ulp: bias is one add, relu is exact, sigmoid has slope <= 1/4 and a few ulp of its own.
constexpr double kGemmRelL2 = 1e-5;
constexpr double kGemmMaxAbs = 1e-5;

struct GemmShape {
  const char* name;
  std::int64_t m, n, k;
};

void check_gemm(const std::string& name, const ops::Shape& x_shape, const ops::GemmParams& p,
                std::uint32_t seed) {
  std::mt19937 rng(seed);
  const ops::Shape w_shape = ops::gemm_weight_shape(p);
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(p.in_features));
  auto x = random_values(rng, ops::numel(x_shape));
  auto w = random_values(rng, ops::numel(w_shape), -w_scale, w_scale);
  auto b = random_values(rng, p.out_features);
  const ops::Shape out_shape = ops::gemm_output_shape(p, x_shape);

  auto tx = upload(x_shape, x, "x");
  auto tw = upload(w_shape, w, "w");
  auto tb = upload({p.out_features}, b, "b");
  auto ty = output_tensor(out_shape, "y");
  auto hx = to_host(x_shape, x), hw = to_host(w_shape, w), hb = to_host({p.out_features}, b);
  auto expected = reference::gemm(p, hx, hw, p.has_bias ? &hb : nullptr);
  REQUIRE(expected.shape == out_shape);
  // Both kernels, where W [N, K] lets the subgroup conv run it: the same oracle, the same bound
  // (its two-level sum errs like the tiled kernel's serial one, well inside 1e-5).
  std::vector<ops::GemmAlgorithm> algorithms{ops::GemmAlgorithm::tiled};
  const ops::Conv2dParams as_conv = [&] {
    ops::Conv2dParams c;
    c.in_channels = p.in_features;
    c.out_channels = p.out_features;
    return c;
  }();
  if (p.transpose_weight && ops::subgroup_conv_fits(device(), as_conv, {x_shape[0], p.in_features, 1, 1}))
    algorithms.push_back(ops::GemmAlgorithm::subgroup);
  for (ops::GemmAlgorithm algorithm : algorithms) {
    auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
      ops::encode_gemm({device(), rec}, p, tx, tw, p.has_bias ? &tb : nullptr, ty, name, algorithm);
    });
    require_close(algorithm == ops::GemmAlgorithm::tiled ? "gemm" : "gemm (subgroup conv)",
                  fmt::format("{} x {} -> {}", name, ops::to_string(x_shape), ops::to_string(out_shape)),
                  got, expected, kGemmRelL2, kGemmMaxAbs);
  }
}

// Softmax outputs lie in [0, 1] and the row divides by one fp32 sum of exp(x - max) terms, all
// positive (no cancellation). The sum's rounding is a relative error common to the whole row,
// growing like sqrt(n/3) * 2^-24 for a serial sum of n terms: 1.1e-6 at n = 1000. exp() adds
// a few ulp per element (Vulkan allows 3 + 2|x| ulp; |x - max| <= 8 for the [-4, 4] logits
// here, and the larger |x - max| of the +-100 rows only touch outputs below e^-10). 1e-5 in
// rel-L2 and in max-abs (outputs <= 1) covers both with room; a missed max subtraction gives
// NaN, a wrong axis stride or a row mixed with its neighbour errs by O(0.1).
constexpr double kSoftmaxRelL2 = 1e-5;
constexpr double kSoftmaxMaxAbs = 1e-5;

void check_softmax(const std::string& name, const ops::Shape& shape, std::int64_t axis,
                   const std::vector<float>& x) {
  const ops::SoftmaxParams p{axis};
  auto tx = upload(shape, x, "x");
  auto ty = output_tensor(shape, "y");
  auto got = run_kernel(
      ty, [&](gpu::Recorder& rec) { ops::encode_softmax({device(), rec}, p, tx, ty, name); });
  auto expected = reference::softmax(p, to_host(shape, x));
  REQUIRE(expected.shape == shape);
  require_close("softmax", fmt::format("{}: {} axis {}", name, ops::to_string(shape), axis), got, expected,
                kSoftmaxRelL2, kSoftmaxMaxAbs);
}

}  // namespace

TEST_CASE("gemm matches oracle: shapes x weight layout x bias x activation", "[kernel][gemm]") {
  const std::vector<GemmShape> shapes{
      {"classifier head 1x10x2048", 1, 10, 2048},
      {"33x17x65 (not multiples of the 16 tile)", 33, 17, 65},
      {"1x1x1", 1, 1, 1},
      {"64x64x64 (tile-aligned)", 64, 64, 64},
      {"257x3x129 (tall, thin N)", 257, 3, 129},
  };
  const std::pair<ops::Activation, const char*> acts[] = {
      {ops::Activation::none(), "none"}, {ops::Activation::relu(), "relu"}, {ops::Activation::sigmoid(), "sigmoid"}};
  std::uint32_t seed = 100;
  for (const GemmShape& s : shapes) {
    for (bool transpose : {true, false}) {
      for (bool bias : {false, true}) {
        for (const auto& [act, act_name] : acts) {
          const std::string name = fmt::format("{}, W {}, {}, {}", s.name, transpose ? "[N,K]" : "[K,N]",
                                               bias ? "bias" : "no bias", act_name);
          DYNAMIC_SECTION(name) {
            ops::GemmParams p;
            p.in_features = s.k;
            p.out_features = s.n;
            p.transpose_weight = transpose;
            p.has_bias = bias;
            p.activation = act;
            check_gemm(name, {s.m, s.k}, p, seed);
          }
          ++seed;
        }
      }
    }
  }
}

TEST_CASE("gemm matches oracle: rank-4 inputs flatten to K", "[kernel][gemm]") {
  struct Case {
    const char* name;
    ops::Shape input;
    std::int64_t n;
    bool transpose;
  };
  const std::vector<Case> cases{
      {"[2,2048,1,1] after global pool -> 2x1000 (ResNet fc)", {2, 2048, 1, 1}, 1000, true},
      {"[3,64,1,1] -> 3x10, W [K,N]", {3, 64, 1, 1}, 10, false},
      {"[2,4,3,3] flattening to K=36 -> 2x7", {2, 4, 3, 3}, 7, true},
  };
  std::uint32_t seed = 200;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      ops::GemmParams p;
      p.in_features = ops::numel(c.input) / c.input[0];
      p.out_features = c.n;
      p.transpose_weight = c.transpose;
      p.has_bias = true;
      check_gemm(c.name, c.input, p, seed);
    }
    ++seed;
  }
}

TEST_CASE("softmax matches oracle: axes and shapes", "[kernel][softmax]") {
  struct Case {
    const char* name;
    ops::Shape shape;
    std::int64_t axis;
  };
  const std::vector<Case> cases{
      {"2x5x3 axis 1 (strided rows)", {2, 5, 3}, 1},
      {"2x5x3 axis -1", {2, 5, 3}, -1},
      {"2x5x3 axis 0", {2, 5, 3}, 0},
      {"4x1000 axis -1 (classifier)", {4, 1000}, -1},
      {"4x1000 axis 1 (same axis, positive)", {4, 1000}, 1},
      {"3x7x50x9 axis 2", {3, 7, 50, 9}, 2},
      {"3x7x50x9 axis -3", {3, 7, 50, 9}, -3},
      {"4x1 axis 1 (a single entry: all ones)", {4, 1}, 1},
  };
  std::uint32_t seed = 300;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::mt19937 rng(seed);
      // Logits in [-4, 4]: spread enough that the outputs differ by up to e^8, as trained
      // classifiers' do.
      check_softmax(c.name, c.shape, c.axis, random_values(rng, ops::numel(c.shape), -4.0f, 4.0f));
    }
    ++seed;
  }
}

TEST_CASE("softmax subtracts the row max: rows of +-100 logits", "[kernel][softmax]") {
  // exp(100) = 2.7e43 overflows fp32 (max 3.4e38) and exp(-100) = 3.7e-44 is a denormal that
  // flushes to 0 on many devices, so without the max subtraction row 0 (all in [90, 100]) gives
  // inf / inf and row 1 (all in [-100, -90]) gives 0 / 0, both NaN. Row 2 mixes +-100 with
  // ordinary values, where the max entry dominates. Values of +-80 would not catch it: exp(80)
  // = 5.5e34 still fits.
  std::mt19937 rng(400);
  const std::int64_t width = 37;
  std::vector<float> x = random_values(rng, width, 90.0f, 100.0f);
  auto low = random_values(rng, width, -100.0f, -90.0f);
  x.insert(x.end(), low.begin(), low.end());
  auto mixed = random_values(rng, width, -4.0f, 4.0f);
  mixed[3] = 100.0f;
  mixed[11] = -100.0f;
  mixed[20] = 99.5f;
  x.insert(x.end(), mixed.begin(), mixed.end());
  SECTION("axis -1, rows 3x37") { check_softmax("large logits", {3, width}, -1, x); }
  SECTION("axis 0, same values transposed to 37x3") {
    std::vector<float> t(x.size());
    for (std::int64_t r = 0; r < 3; ++r)
      for (std::int64_t c = 0; c < width; ++c) t[c * 3 + r] = x[r * width + c];
    check_softmax("large logits, strided", {width, 3}, 0, t);
  }
}

// lavapipe ends every loop of an invocation after 65535 iterations in all
// (gpu::DeviceInfo::loop_iteration_limit) and silently returns what it has: a softmax over
// 30000 classes left 24466 outputs unwritten, a gemm over K = 400000 summed part of K. The
// encoders refuse such shapes with DeviceLimit; here the largest shape each accepts must still
// be right (its loop count is not underestimated) and the next one must be refused.
TEST_CASE("gemm and softmax: reductions longer than the device's loop limit", "[kernel][gemm][softmax]") {
  if (device().info().loop_iteration_limit == 0) {
    WARN("device has no loop iteration limit; nothing to refuse");
    return;
  }
  // The largest n in [lo, hi) whose encoding `encode(recorder, n)` does not throw DeviceLimit.
  auto largest_accepted = [](std::int64_t lo, std::int64_t hi, auto&& encode) {
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      gpu::Recorder recorder(device(), "probe");
      try {
        encode(recorder, mid);
        lo = mid;
      } catch (const gpu::DeviceLimit&) {
        hi = mid;
      }
    }
    return lo;
  };
  SECTION("softmax") {
    const std::int64_t n = largest_accepted(1000, 1000000, [](gpu::Recorder& rec, std::int64_t axis) {
      auto tx = output_tensor({1, axis}, "x"), ty = output_tensor({1, axis}, "y");
      ops::encode_softmax({device(), rec}, ops::SoftmaxParams{1}, tx, ty, "probe");
    });
    INFO("largest accepted softmax axis " << n);
    std::mt19937 rng(41);
    check_softmax("longest accepted axis", {1, n}, 1, random_values(rng, n, -4.0f, 4.0f));
    auto tx = output_tensor({1, n + 1}, "x"), ty = output_tensor({1, n + 1}, "y");
    gpu::Recorder rec(device(), "refused");
    REQUIRE_THROWS_AS(ops::encode_softmax({device(), rec}, ops::SoftmaxParams{1}, tx, ty, "probe"), gpu::DeviceLimit);
  }
  SECTION("gemm") {
    auto params = [](std::int64_t k) {
      ops::GemmParams p;
      p.in_features = k;
      p.out_features = 3;
      p.has_bias = true;
      return p;
    };
    const std::int64_t k = largest_accepted(1000, 10000000, [&](gpu::Recorder& rec, std::int64_t kk) {
      const ops::GemmParams p = params(kk);
      auto tx = output_tensor({1, kk}, "x"), tw = output_tensor(ops::gemm_weight_shape(p), "w");
      auto tb = output_tensor({3}, "b"), ty = output_tensor({1, 3}, "y");
      ops::encode_gemm({device(), rec}, p, tx, tw, &tb, ty, "probe");
    });
    INFO("largest accepted gemm K " << k);
    check_gemm("longest accepted reduction", {1, k}, params(k), 43);
  }
}
