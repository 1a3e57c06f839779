// The half-precision candidates against the float64 oracle: every kernel family in fp16s (fp16
// storage, fp32 arithmetic) and fp16 (fp16 storage and arithmetic), over a few shapes each —
// odd sizes, groups and depthwise, dilation, batch 2, convolutions with K = 576 and 1152, the
// conv epilogue with BN + residual + each activation, every activation kind standalone.
//
// The oracle runs on the fp16-ROUNDED inputs, weights and residuals (the values the kernel
// actually reads), so what is measured is the kernel's own arithmetic plus the rounding of its
// output, not the rounding of its inputs. Bias and BN statistics are f32 in every precision and
// go to the oracle unrounded.
//
// Every tolerance below derives from fp16's unit roundoff u = 2^-11 (round to nearest: an fp16
// result is within u relative of the exact value, 4.9e-4) and the number of roundings an output
// goes through. "max-abs" limits are, as everywhere in this suite, relative to
// max(1, max|expected|).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "ops/concat_gpu.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/winograd.hpp"
#include "ops/elementwise_gpu.hpp"
#include "ops/gemm_gpu.hpp"
#include "ops/half.hpp"
#include "ops/pool2d_gpu.hpp"
#include "ops/softmax_gpu.hpp"
#include "reference/activation.hpp"
#include "reference/batchnorm.hpp"
#include "reference/concat.hpp"
#include "reference/conv2d.hpp"
#include "reference/elementwise.hpp"
#include "reference/gemm.hpp"
#include "reference/pool2d.hpp"
#include "reference/softmax.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

using ops::Precision;

constexpr Precision kHalfPrecisions[] = {Precision::fp16s, Precision::fp16};

// fp16's unit roundoff: 2^-11.
constexpr double kU = 1.0 / 2048.0;

// What the fp32 suite allows these kernels for fp32 arithmetic (sqrt(K) * 2^-24 over the
// largest K, with room): the f16s kernels compute in fp32 exactly as the fp32 kernels do.
constexpr double kFp32Arithmetic = 1e-5;

struct Tolerance {
  double rel_l2;
  double max_abs;
};

// fp32 arithmetic, one rounding to fp16 on the store: each output is within u of the fp32
// result, which is within kFp32Arithmetic of the exact one (relative to the output's scale),
// so |error| <= (u + kFp32Arithmetic (1 + u)) * scale. This is a bound, not an estimate: every
// f16s kernel, and the kernels that keep fp32 arithmetic in the fp16 variant (softmax, global
// average pool), must meet it.
constexpr Tolerance kOneRounding{kU + 2 * kFp32Arithmetic, kU + 2 * kFp32Arithmetic};

// A pure copy (concat/slice) and max pooling pick stored fp16 values: bit-exact.
constexpr Tolerance kExact{0.0, 0.0};

std::vector<float> round_to_half(std::vector<float> v) {
  for (float& x : v) x = ops::half_to_float(ops::float_to_half(x));
  return v;
}

std::string kernel_name(const char* kernel, Precision p) {
  return fmt::format("{} {}", kernel, ops::to_string(p));
}

constexpr ops::DType kF16 = ops::DType::f16;

// ---------------------------------------------------------------------------------------------
// fp16 arithmetic budgets

// An activation evaluated in fp16 (common.glsl's fp16 apply_activation): its error relative to
// the output's scale, in units of u, before the store, counting one u per rounding and Vulkan's
// precision bounds for fp16 builtins (exp: 1 + 2|x| ulp; division: 2.5 ulp = 5u; tanh: derived
// from exp, taken as 8u). relu/clip/none pass a stored value through: exact.
double activation_f16_budget(ops::ActivationKind kind) {
  switch (kind) {
    case ops::ActivationKind::none:
    case ops::ActivationKind::relu:
    case ops::ActivationKind::clip: return 0.0;
    // alpha's fp16 copy, the product.
    case ops::ActivationKind::leaky_relu: return 2.0;
    // alpha and beta copies, multiply, add (the clamp is exact).
    case ops::ActivationKind::hard_sigmoid: return 4.0;
    // x / 6 (5u), + 0.5, * x.
    case ops::ActivationKind::hard_swish: return 7.0;
    // hard_swish's 7, alpha's and beta's fp16 copies, the product, the sum.
    case ops::ActivationKind::hard_swish_affine: return 11.0;
    // exp(-|x|): (1 + 2|x|) ulp of a value e^-|x|, at most ~1.2 ulp of 1 = 2.4u on the result;
    // 1 + e; the reciprocal (5u, scaled by the output's own size); e * s.
    case ops::ActivationKind::sigmoid: return 9.0;
    case ops::ActivationKind::silu: return 10.0;  // sigmoid and one more product
    case ops::ActivationKind::tanh: return 8.0;
    // erf_h: x * 0.7071, the reciprocal (5u), five Horner steps on values up to ~1.4 (7u), exp,
    // poly * exp, 1 - (); then 1 + erf, 0.5 * x * ().
    case ops::ActivationKind::gelu: return 15.0;
    // erf_h alone: the same steps as inside gelu, on values up to 1.
    case ops::ActivationKind::erf: return 15.0;
    // c^3 and the inner polynomial (5 roundings), tanh_h (8u), 1 + t, 0.5 * x * ().
    case ops::ActivationKind::gelu_tanh: return 15.0;
    // 1 / inversesqrt: 2 + 2.5 ulp.
    case ops::ActivationKind::sqrt: return 9.0;
    // Its bound grows with |x| without limit: exp is tested over a range of its own in
    // test_pow_sqrt_exp.cpp, never through the tables here.
    case ops::ActivationKind::exp: break;
  }
  return 15.0;
}

Tolerance budget(double units_of_u) { return {units_of_u * kU, units_of_u * kU}; }

// ---------------------------------------------------------------------------------------------
// conv2d

// fp16 arithmetic (conv2d_f16) accumulates K = C/groups*KH*KW products in fp16. Each product
// rounds once (u relative); each addition rounds the running sum S_k by up to half an ulp, an
// error of rms |S_k| * u / sqrt(6) (the ulp is 2^-10..2^-11 of |S_k|, uniform rounding). With
// random-sign terms of spread s, |S_k| ~ s * sqrt(k), so the sum's error has rms
// u * s * sqrt(sum_k k / 6) = u * s * K / sqrt(12) against outputs of ~s * sqrt(K):
// rel-L2 ~ u * sqrt(K / 12) (6.9u at K = 576, 9.8u at K = 1152; lavapipe measures 3.2e-3 =
// 6.5u for the 1x1 conv over 1152 channels, against 2.6e-4 for f16s). The limit allows twice that,
// u * sqrt(K / 3). max-abs is relative to the largest output (~3 standard deviations of the
// outputs) and the worst element error over a few hundred outputs is ~3 standard deviations
// of the errors: the same ratio, so the same limit.
// Then the epilogue in fp16, one u per rounding: the store (1), bias (fp16 copy + add: 2), BN
// (fp16 copies of mean, scale, beta + subtract, multiply, add: 6), residual add (1), and the
// activation's budget above.
Tolerance conv_f16_tolerance(std::int64_t k, bool bias, const ops::ConvEpilogue& e) {
  const double accumulation = std::sqrt(static_cast<double>(k) / 3.0);
  const double epilogue = 1.0 + (bias ? 2.0 : 0.0) + (e.batchnorm ? 6.0 : 0.0) +
                          (e.residual ? 1.0 : 0.0) + activation_f16_budget(e.activation.kind);
  return budget(accumulation + epilogue);
}


// BN statistics [4, C]: gamma in [0.5, 1.5], beta and mean in [-0.5, 0.5], var in [0.1, 2].
std::vector<float> bn_stats(std::mt19937& rng, std::int64_t c, bool tiny_variance_channel = false) {
  auto gamma = random_values(rng, c, 0.5f, 1.5f);
  auto beta = random_values(rng, c, -0.5f, 0.5f);
  auto mean = random_values(rng, c, -0.5f, 0.5f);
  auto var = random_values(rng, c, 0.1f, 2.0f);
  if (tiny_variance_channel) var[0] = 1e-6f;  // a dead channel: scale ~300
  std::vector<float> s;
  for (auto* row : {&gamma, &beta, &mean, &var}) s.insert(s.end(), row->begin(), row->end());
  return s;
}

struct ConvCase {
  std::string name;
  ops::Shape input;
  ops::Conv2dParams p;
  ops::ConvEpilogue epilogue{};
};

// Both algorithms. The gemm kernel sums in two levels (k-steps of BK = 32 by default, then the steps), so its
// fp16 running sums stay shorter than direct's and the same bound covers it.
void check_conv(const ConvCase& c, Precision prec, std::uint32_t seed, ops::ConvAlgorithm algorithm) {
  std::mt19937 rng(seed);
  const ops::Conv2dParams& p = c.p;
  const ops::ConvEpilogue& e = c.epilogue;
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  const std::int64_t k = w_shape[1] * w_shape[2] * w_shape[3];
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(k));
  const ops::Shape out_shape = ops::conv2d_output_shape(p, c.input);
  auto x = round_to_half(random_values(rng, ops::numel(c.input)));
  auto w = round_to_half(random_values(rng, ops::numel(w_shape), -w_scale, w_scale));
  auto b = random_values(rng, p.out_channels);
  auto s = bn_stats(rng, p.out_channels);
  auto r = round_to_half(random_values(rng, ops::numel(out_shape)));

  ops::Tensor tx = upload(c.input, x, "x", kF16);
  ops::Tensor tw = upload(w_shape, w, "w", kF16);
  ops::Tensor tb = upload({p.out_channels}, b, "b");
  ops::Tensor ts = upload({4, p.out_channels}, s, "bn");
  ops::Tensor tr = upload(out_shape, r, "residual", kF16);
  ops::Tensor ty = output_tensor(out_shape, "y", kF16);
  const ops::Tensor tu = winograd_weights_for(algorithm, p, w, kF16);
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::Conv2dOperands o;
    o.input = &tx;
    o.weight = &tw;
    o.bias = p.has_bias ? &tb : nullptr;
    o.bn_stats = e.batchnorm ? &ts : nullptr;
    o.residual = e.residual ? &tr : nullptr;
    o.output = &ty;
    o.winograd_weight = winograd_operand(tu);
    ops::encode_conv2d({device(), rec, prec}, p, e, o, c.name, 0, algorithm);
  });
  auto hx = to_host(c.input, x), hw = to_host(w_shape, w), hb = to_host({p.out_channels}, b);
  auto hs = to_host({4, p.out_channels}, s), hr = to_host(out_shape, r);
  auto expected = reference::conv2d_with_epilogue(p, e, hx, hw, p.has_bias ? &hb : nullptr,
                                                  e.batchnorm ? &hs : nullptr,
                                                  e.residual ? &hr : nullptr);
  REQUIRE(expected.shape == out_shape);
  const Tolerance tol =
      prec == Precision::fp16 ? conv_f16_tolerance(k, p.has_bias, e) : kOneRounding;
  require_close(kernel_name(conv_kernel_name(algorithm), prec),
                fmt::format("{} in {} K {}", c.name, ops::to_string(c.input), k), got, expected,
                tol.rel_l2, tol.max_abs);
}

void run_conv_table(const std::vector<ConvCase>& cases, std::uint32_t seed,
                    std::span<const ops::ConvAlgorithm> algorithms = ops::kConvAlgorithms) {
  for (Precision prec : kHalfPrecisions) {
    for (const ConvCase& c : cases) {
      for (ops::ConvAlgorithm a : algorithms) {
        if (ops::is_winograd(a) && !ops::winograd_applies(c.p)) continue;
        // F(4x4,3x3) computes in fp32 only (refused below, workbench::kConv2dWinograd4RelL2 says why).
        if (a == ops::ConvAlgorithm::winograd4) continue;
        DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name << " [" << ops::to_string(a) << "]") {
          check_conv(c, prec, seed, a);
        }
      }
      ++seed;
    }
  }
}

const ops::Activation kEveryActivation[] = {
    ops::Activation::none(),         ops::Activation::relu(),
    ops::Activation::relu6(),        ops::Activation::leaky_relu(0.1f),
    ops::Activation::sigmoid(),      ops::Activation::hard_sigmoid(),
    ops::Activation::hard_swish(),   ops::Activation::silu(),
    ops::Activation::tanh(),         ops::Activation::gelu(),
    ops::Activation::gelu_tanh(),    ops::Activation::hard_swish_affine(1.75f, -0.25f),
};

// ---------------------------------------------------------------------------------------------
// elementwise kernels

// BN in fp16: mean, scale and beta rounded to fp16 (3 roundings, the scale computed in fp32
// first), subtract, multiply, add (3), the activation's budget, the store (1).
Tolerance batchnorm_f16_tolerance(const ops::Activation& act) {
  return budget(7.0 + activation_f16_budget(act.kind));
}

// add, sub and mul are correctly rounded in fp16 (Vulkan requires it): one rounding, as f16s.
// Division may be off by 2.5 ulp = 2.5 * 2^-10 = 5u.
constexpr Tolerance kDivideF16{5 * kU, 5 * kU};

// Average pooling in fp16 over a window of n elements: the same running-sum model as the conv
// accumulation above (rel-L2 ~ u * sqrt(n / 12), twice that allowed: u * sqrt(n / 3)), then the
// division (2.5 ulp = 5u) and the store (1). Per window size; max-abs the same (the outputs,
// averages of values in [-1, 1], are below 1, so it is relative to 1).
Tolerance average_pool_f16_tolerance(std::int64_t window) {
  return budget(std::sqrt(static_cast<double>(window) / 3.0) + 6.0);
}

// GEMM in fp16 arithmetic: fp16 products (u each), fp32 accumulation (negligible next to u).
// The products' errors are independent and add like u * sqrt(sum p_k^2) ~ u * |y| for random
// signs; the worst element over a few hundred is ~3x that (3). The sum rounded to fp16 (1),
// bias (fp16 copy + add: 2), the activation's budget, the store (1). Independent of K, which is
// why the f16 GEMM keeps fp32 accumulation (shaders/gemm.comp).
Tolerance gemm_f16_tolerance(bool bias, const ops::Activation& act) {
  return budget(5.0 + (bias ? 2.0 : 0.0) + activation_f16_budget(act.kind));
}

}  // namespace

TEST_CASE("half precision conv2d matches oracle: shapes", "[kernel][fp16]") {
  run_conv_table(
      {{"odd 7x5 image, 5->7 channels 3x3", {1, 5, 7, 5}, conv_params(5, 7, 3, 1, 1)},
       {"groups 3 odd channels stride 2", {1, 9, 5, 6}, conv_params(9, 15, 3, 2, 1, 1, 3)},
       {"depthwise 13 channels stride 2", {1, 13, 9, 9}, conv_params(13, 13, 3, 2, 1, 1, 13)},
       {"depthwise 5x5 dilation 2, batch 2", {2, 7, 12, 12}, conv_params(7, 7, 5, 1, 4, 2, 7)},
       {"dilation 2 no bias", {1, 3, 10, 10}, conv_params(3, 4, 3, 1, 2, 2, 1, false)},
       {"batch 2 strided 1x1", {2, 8, 8, 8}, conv_params(8, 16, 1, 2)},
       {"K 576: 64 channels 3x3", {1, 64, 6, 6}, conv_params(64, 9, 3, 1, 1)},
       {"K 1152: 128 channels 3x3", {1, 128, 5, 5}, conv_params(128, 8, 3, 1, 1)},
       {"K 1152: 1x1 over 1152 channels", {1, 1152, 3, 3}, conv_params(1152, 5, 1)}},
      11000);
}

TEST_CASE("half precision conv2d: winograd4 (fp32 only) is refused by name",
          "[kernel][fp16]") {
  const ConvCase c{"64 channels 3x3", {1, 64, 6, 6}, conv_params(64, 9, 3, 1, 1)};
  const ops::Shape w_shape = ops::conv2d_weight_shape(c.p);
  const std::vector<float> w(static_cast<std::size_t>(ops::numel(w_shape)), 0.01f);
  ops::Tensor tx = upload(c.input, std::vector<float>(static_cast<std::size_t>(ops::numel(c.input)), 1.0f), "x", kF16);
  ops::Tensor tw = upload(w_shape, w, "w", kF16);
  ops::Tensor tb = upload({9}, std::vector<float>(9, 0.0f), "b");
  ops::Tensor ty = output_tensor(ops::conv2d_output_shape(c.p, c.input), "y", kF16);
  const ops::Tensor tu = winograd_weights_for(ops::ConvAlgorithm::winograd4, c.p, w, kF16);
  for (Precision prec : kHalfPrecisions) {
    DYNAMIC_SECTION(ops::to_string(prec)) {
      gpu::Recorder rec(device(), "winograd4 fp16");
      ops::Conv2dOperands o;
      o.input = &tx;
      o.weight = &tw;
      o.bias = &tb;
      o.output = &ty;
      o.winograd_weight = &tu;
      REQUIRE_THROWS_WITH(ops::encode_conv2d({device(), rec, prec}, c.p, {}, o, c.name, 0, ops::ConvAlgorithm::winograd4),
                          Catch::Contains(c.name) && Catch::Contains("fp32 only"));
      CHECK_FALSE(ops::winograd_conv_fits(device(), ops::ConvAlgorithm::winograd4, c.p, c.input, prec));
      CHECK(ops::winograd_conv_fits(device(), ops::ConvAlgorithm::winograd4, c.p, c.input, Precision::fp32));
    }
  }
}

TEST_CASE("half precision conv2d epilogue: BN + residual + every activation", "[kernel][fp16]") {
  // Every activation through conv2d.comp (direct, and depthwise: its taps unrolled). gemm,
  // subgroup and winograd are shaders of their own whose epilogues call the same
  // apply_activation (shaders/common.glsl) with the same arguments: they get hard_sigmoid (both
  // of its parameters, alpha and beta, reach it) and relu without bias over a longer K. Every
  // activation on every algorithm was 120 pipelines, which lavapipe compiles with LLVM at 3-10 s
  // each (gemm the slowest) with a cold shader cache, as on a fresh CI machine: 575 s, a
  // quarter of the whole suite's test time.
  auto bn_residual = [](const ops::Activation& act) {
    ops::ConvEpilogue e;
    e.batchnorm = true;
    e.bn = {12, 1e-5f};
    e.residual = true;
    e.activation = act;
    return ConvCase{fmt::format("bias+BN+residual+{}, batch 2", ops::to_string(act)), {2, 16, 6, 7},
                    conv_params(16, 12, 3, 1, 1), e};
  };
  std::vector<ConvCase> every, parameter_paths;
  for (const ops::Activation& act : kEveryActivation) every.push_back(bn_residual(act));
  parameter_paths.push_back(bn_residual(ops::Activation::hard_sigmoid()));
  ops::ConvEpilogue e;
  e.batchnorm = true;
  e.bn = {16, 1e-5f};
  e.residual = true;
  e.activation = ops::Activation::relu();
  parameter_paths.push_back(
      {"K 576 BN+residual+relu, no bias", {1, 64, 5, 5}, conv_params(64, 16, 3, 1, 1, 1, 1, false), e});
  const ops::ConvAlgorithm conv2d_comp[] = {ops::ConvAlgorithm::direct, ops::ConvAlgorithm::depthwise};
  const ops::ConvAlgorithm own_shaders[] = {ops::ConvAlgorithm::gemm, ops::ConvAlgorithm::subgroup,
                                            ops::ConvAlgorithm::winograd};
  run_conv_table(every, 12000, conv2d_comp);
  run_conv_table(parameter_paths, 12100, own_shaders);
}

TEST_CASE("half precision activations match oracle: every kind, core and saturating tails",
          "[kernel][fp16]") {
  // core: [-8, 8] covers every kind's curved part. tails: |x| in [10, 2000] — past fp16 exp's
  // overflow (x > 11.09) and GELU-tanh's x^3 overflow (|x| > 40): must saturate to 0 / 1 / -1
  // or follow x, never inf or NaN.
  const ops::Shape shape{2, 3, 7, 9};  // 378 elements, odd per-row count
  std::uint32_t seed = 13000;
  for (Precision prec : kHalfPrecisions) {
    for (const ops::Activation& act : kEveryActivation) {
      for (const bool tails : {false, true}) {
        DYNAMIC_SECTION(ops::to_string(prec) << ": " << ops::to_string(act) << (tails ? " tails" : " core")) {
          std::mt19937 rng(seed);
          std::vector<float> x;
          if (tails) {
            auto mag = random_values(rng, ops::numel(shape), 10.0f, 2000.0f);
            auto sgn = random_values(rng, ops::numel(shape));
            for (std::size_t i = 0; i < mag.size(); ++i) x.push_back(sgn[i] < 0 ? -mag[i] : mag[i]);
          } else {
            x = random_values(rng, ops::numel(shape), -8.0f, 8.0f);
          }
          x = round_to_half(x);
          auto tx = upload(shape, x, "x", kF16);
          auto ty = output_tensor(shape, "y", kF16);
          auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
            ops::encode_activation({device(), rec, prec}, act, tx, ty, ops::to_string(act));
          });
          auto expected = reference::activation(to_host(shape, x), act);
          // fp16: the activation's budget plus the store; none/relu/relu6 must be exact.
          const double f16_budget = activation_f16_budget(act.kind);
          const Tolerance tol = prec == Precision::fp16s ? kOneRounding
                                : f16_budget == 0.0      ? kExact
                                                         : budget(1.0 + f16_budget);
          require_close(kernel_name("activation", prec),
                        fmt::format("{} {}", ops::to_string(act), tails ? "tails" : "core"), got,
                        expected, tol.rel_l2, tol.max_abs);
        }
        ++seed;
      }
    }
  }
}

TEST_CASE("half precision batchnorm matches oracle", "[kernel][fp16]") {
  struct Case {
    const char* name;
    ops::Shape shape;
    ops::Activation act;
    bool tiny_variance;
  };
  const std::vector<Case> cases{
      {"NCHW batch 2, 17 channels", {2, 17, 4, 3}, {}, false},
      {"rank 2 (BatchNorm1d)", {5, 9}, {}, false},
      {"1x1 spatial with relu", {1, 33, 1, 1}, ops::Activation::relu(), false},
      {"odd 7x5 with silu", {1, 6, 7, 5}, ops::Activation::silu(), false},
      {"dead channel (var 1e-6, scale ~300)", {1, 5, 6, 6}, {}, true},
  };
  std::uint32_t seed = 14000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        const std::int64_t ch = c.shape[1];
        auto x = round_to_half(random_values(rng, ops::numel(c.shape), -2.0f, 2.0f));
        auto s = bn_stats(rng, ch, c.tiny_variance);
        ops::BatchNormParams p{ch, 1e-5f};
        auto tx = upload(c.shape, x, "x", kF16);
        auto ts = upload({4, ch}, s, "stats");
        auto ty = output_tensor(c.shape, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_batchnorm({device(), rec, prec}, p, c.act, tx, ts, ty, c.name);
        });
        auto expected = reference::batchnorm(p, to_host(c.shape, x), to_host({4, ch}, s), c.act);
        const Tolerance tol = prec == Precision::fp16 ? batchnorm_f16_tolerance(c.act) : kOneRounding;
        require_close(kernel_name("batchnorm", prec), c.name, got, expected, tol.rel_l2,
                      tol.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision binary ops match oracle with broadcasting", "[kernel][fp16]") {
  struct Case {
    const char* name;
    ops::BinaryOp op;
    ops::Shape a, b;
  };
  const std::vector<Case> cases{
      {"add same shape (residual)", ops::BinaryOp::add, {2, 3, 5, 7}, {2, 3, 5, 7}},
      {"add per-channel bias", ops::BinaryOp::add, {2, 3, 5, 7}, {1, 3, 1, 1}},
      {"sub rank mismatch", ops::BinaryOp::sub, {4, 5}, {5}},
      {"mul by scalar (SE scale)", ops::BinaryOp::mul, {1, 9, 3, 3}, {1, 9, 1, 1}},
      {"div both broadcast", ops::BinaryOp::div, {3, 1, 5}, {1, 4, 1}},
  };
  std::uint32_t seed = 15000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        auto a = round_to_half(random_values(rng, ops::numel(c.a)));
        auto b = random_values(rng, ops::numel(c.b), 0.5f, 2.0f);  // away from 0 for div
        auto sign = random_values(rng, ops::numel(c.b));
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = sign[i] < 0 ? -b[i] : b[i];
        b = round_to_half(b);
        const ops::Shape out = ops::broadcast_shapes(c.a, c.b);
        auto ta = upload(c.a, a, "a", kF16);
        auto tb = upload(c.b, b, "b", kF16);
        auto ty = output_tensor(out, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_binary({device(), rec, prec}, c.op, ta, tb, ty, c.name);
        });
        auto expected = reference::binary(c.op, to_host(c.a, a), to_host(c.b, b));
        const Tolerance tol =
            prec == Precision::fp16 && c.op == ops::BinaryOp::div ? kDivideF16 : kOneRounding;
        require_close(kernel_name("binary", prec), c.name, got, expected, tol.rel_l2, tol.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision pooling matches oracle", "[kernel][fp16]") {
  struct Case {
    const char* name;
    ops::Shape input;
    ops::Pool2dParams p;
  };
  const std::vector<Case> cases{
      {"max 3x3 s2 p1 (ResNet stem), batch 2", {2, 5, 9, 9}, ops::square_pool(ops::PoolKind::max, 3, 2, 1)},
      {"max 2x2 s2 odd 7x5, ceil", {1, 3, 7, 5}, ops::square_pool(ops::PoolKind::max, 2, 2, 0, true)},
      {"avg 3x3 s1 p1 count_include_pad", {1, 4, 6, 7}, ops::square_pool(ops::PoolKind::average, 3, 1, 1, false, true)},
      {"avg 3x3 s2 p1 exclude pad, batch 2", {2, 3, 9, 8}, ops::square_pool(ops::PoolKind::average, 3, 2, 1)},
      {"avg 7x7 window (49 terms)", {1, 3, 7, 7}, ops::square_pool(ops::PoolKind::average, 7, 1, 0)},
  };
  std::uint32_t seed = 16000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        auto x = round_to_half(random_values(rng, ops::numel(c.input)));
        const ops::Shape out = ops::pool2d_output_shape(c.p, c.input);
        auto tx = upload(c.input, x, "x", kF16);
        auto ty = output_tensor(out, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_pool2d({device(), rec, prec}, c.p, tx, ty, c.name);
        });
        auto expected = reference::pool2d(c.p, to_host(c.input, x));
        Tolerance tol = kExact;  // max picks a stored value
        if (c.p.kind == ops::PoolKind::average) {
          tol = prec == Precision::fp16 ? average_pool_f16_tolerance(c.p.kernel_h * c.p.kernel_w)
                                        : kOneRounding;
        }
        require_close(kernel_name("pool2d", prec), c.name, got, expected, tol.rel_l2, tol.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision global average pool matches oracle (fp32 sums)", "[kernel][fp16]") {
  // Both variants sum in fp32 and round once (shaders/global_average_pool.comp): kOneRounding.
  // The 56x56 plane of non-negative values (post-ReLU) is the case an fp16 running sum would
  // fail: near 1500 its ulp is 1, and every term < 0.5 would vanish.
  struct Case {
    const char* name;
    ops::Shape input;
    float lo;
  };
  const std::vector<Case> cases{
      {"7x7 planes, batch 2", {2, 5, 7, 7}, -1.0f},
      {"56x56 plane, non-negative", {1, 3, 56, 56}, 0.0f},
      {"1x1 planes", {1, 17, 1, 1}, -1.0f},
      {"odd 13x11", {1, 4, 13, 11}, -1.0f},
  };
  std::uint32_t seed = 17000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        auto x = round_to_half(random_values(rng, ops::numel(c.input), c.lo, 1.0f));
        const ops::Shape out{c.input[0], c.input[1], 1, 1};
        auto tx = upload(c.input, x, "x", kF16);
        auto ty = output_tensor(out, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_global_average_pool({device(), rec, prec}, tx, ty, c.name);
        });
        auto expected = reference::global_average_pool(to_host(c.input, x));
        require_close(kernel_name("global_average_pool", prec), c.name, got, expected,
                      kOneRounding.rel_l2, kOneRounding.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision concat and slice copy 16-bit elements exactly", "[kernel][fp16]") {
  std::uint32_t seed = 18000;
  for (Precision prec : kHalfPrecisions) {
    DYNAMIC_SECTION(ops::to_string(prec) << ": concat axis 1, odd channel counts") {
      std::mt19937 rng(seed);
      const std::vector<ops::Shape> shapes{{2, 3, 5, 7}, {2, 1, 5, 7}, {2, 4, 5, 7}};
      std::vector<std::vector<float>> values;
      std::vector<ops::Tensor> tensors;
      std::vector<reference::HostTensor> hosts;
      for (const ops::Shape& s : shapes) {
        values.push_back(round_to_half(random_values(rng, ops::numel(s))));
        tensors.push_back(upload(s, values.back(), "x", kF16));
        hosts.push_back(to_host(s, values.back()));
      }
      const ops::Shape out{2, 8, 5, 7};
      auto ty = output_tensor(out, "y", kF16);
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_concat({device(), rec, prec}, {&tensors[0], &tensors[1], &tensors[2]}, 1, ty);
      });
      auto expected = reference::concat({&hosts[0], &hosts[1], &hosts[2]}, 1);
      require_close(kernel_name("copy_axis", prec), "concat axis 1 (3+1+4 channels)", got,
                    expected, kExact.rel_l2, kExact.max_abs);
    }
    DYNAMIC_SECTION(ops::to_string(prec) << ": concat last axis, odd widths") {
      std::mt19937 rng(seed + 1);
      auto a = round_to_half(random_values(rng, 3 * 5));
      auto b = round_to_half(random_values(rng, 3 * 2));
      auto ta = upload({3, 5}, a, "a", kF16);
      auto tb = upload({3, 2}, b, "b", kF16);
      auto ty = output_tensor({3, 7}, "y", kF16);
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_concat({device(), rec, prec}, {&ta, &tb}, -1, ty);
      });
      auto ha = to_host({3, 5}, a), hb = to_host({3, 2}, b);
      auto expected = reference::concat({&ha, &hb}, -1);
      require_close(kernel_name("copy_axis", prec), "concat last axis (5+2)", got, expected,
                    kExact.rel_l2, kExact.max_abs);
    }
    DYNAMIC_SECTION(ops::to_string(prec) << ": slice at odd element offsets") {
      std::mt19937 rng(seed + 2);
      const ops::Shape in{3, 4, 11};
      auto x = round_to_half(random_values(rng, ops::numel(in)));
      auto tx = upload(in, x, "x", kF16);
      const ops::SliceParams p{-1, 3, 5};  // elements 3..7 of each 11-row: odd starts
      auto ty = output_tensor({3, 4, 5}, "y", kF16);
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_slice({device(), rec, prec}, p, tx, ty);
      });
      auto expected = reference::slice(p, to_host(in, x));
      require_close(kernel_name("copy_axis", prec), "slice last axis [3, 8) of 11", got, expected,
                    kExact.rel_l2, kExact.max_abs);
    }
    DYNAMIC_SECTION(ops::to_string(prec) << ": slice channels 1..3 of 5") {
      std::mt19937 rng(seed + 3);
      const ops::Shape in{2, 5, 3, 3};
      auto x = round_to_half(random_values(rng, ops::numel(in)));
      auto tx = upload(in, x, "x", kF16);
      const ops::SliceParams p{1, 1, 3};
      auto ty = output_tensor({2, 3, 3, 3}, "y", kF16);
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_slice({device(), rec, prec}, p, tx, ty);
      });
      auto expected = reference::slice(p, to_host(in, x));
      require_close(kernel_name("copy_axis", prec), "slice channels [1, 4) of 5", got, expected,
                    kExact.rel_l2, kExact.max_abs);
    }
    seed += 10;
  }
}

TEST_CASE("half precision gemm matches oracle", "[kernel][fp16]") {
  struct Case {
    const char* name;
    std::int64_t m, n, k;
    bool transpose;
    bool bias;
    ops::Activation act;
  };
  const std::vector<Case> cases{
      {"classifier head 1x10x2048", 1, 10, 2048, true, true, {}},
      {"odd 17x33x45, W [K, N], relu", 17, 33, 45, false, true, ops::Activation::relu()},
      {"tile-aligned 64x64x64, no bias", 64, 64, 64, true, false, {}},
      {"tall 257x3x129, sigmoid", 257, 3, 129, true, true, ops::Activation::sigmoid()},
      {"batch 2, K 576, W [K, N]", 2, 24, 576, false, true, {}},
  };
  std::uint32_t seed = 19000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        ops::GemmParams p;
        p.in_features = c.k;
        p.out_features = c.n;
        p.transpose_weight = c.transpose;
        p.has_bias = c.bias;
        p.activation = c.act;
        const ops::Shape x_shape{c.m, c.k};
        const ops::Shape w_shape = ops::gemm_weight_shape(p);
        const float w_scale = 1.0f / std::sqrt(static_cast<float>(c.k));
        auto x = round_to_half(random_values(rng, ops::numel(x_shape)));
        auto w = round_to_half(random_values(rng, ops::numel(w_shape), -w_scale, w_scale));
        auto b = random_values(rng, c.n);
        auto tx = upload(x_shape, x, "x", kF16);
        auto tw = upload(w_shape, w, "w", kF16);
        auto tb = upload({c.n}, b, "b");
        auto ty = output_tensor({c.m, c.n}, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_gemm({device(), rec, prec}, p, tx, tw, c.bias ? &tb : nullptr, ty, c.name,
                           ops::GemmAlgorithm::tiled);
        });
        auto hx = to_host(x_shape, x), hw = to_host(w_shape, w), hb = to_host({c.n}, b);
        auto expected = reference::gemm(p, hx, hw, c.bias ? &hb : nullptr);
        const Tolerance tol =
            prec == Precision::fp16 ? gemm_f16_tolerance(c.bias, c.act) : kOneRounding;
        require_close(kernel_name("gemm", prec), c.name, got, expected, tol.rel_l2, tol.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision softmax matches oracle (fp32 exp and sum)", "[kernel][fp16]") {
  // Both variants compute in fp32 and round once (shaders/softmax.comp): kOneRounding.
  struct Case {
    const char* name;
    ops::Shape shape;
    std::int64_t axis;
    float range;
  };
  const std::vector<Case> cases{
      {"4x10 last axis", {4, 10}, -1, 4.0f},
      {"2x1000 classifier", {2, 1000}, 1, 4.0f},
      {"inner axis of 2x5x3x4", {2, 5, 3, 4}, 1, 4.0f},
      {"+-100 logits", {3, 17}, -1, 100.0f},
  };
  std::uint32_t seed = 20000;
  for (Precision prec : kHalfPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        auto x = round_to_half(random_values(rng, ops::numel(c.shape), -c.range, c.range));
        const ops::SoftmaxParams p{c.axis};
        auto tx = upload(c.shape, x, "x", kF16);
        auto ty = output_tensor(c.shape, "y", kF16);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_softmax({device(), rec, prec}, p, tx, ty, c.name);
        });
        auto expected = reference::softmax(p, to_host(c.shape, x));
        require_close(kernel_name("softmax", prec), c.name, got, expected, kOneRounding.rel_l2,
                      kOneRounding.max_abs);
      }
      ++seed;
    }
  }
}

TEST_CASE("half precision encoders reject tensors of the wrong dtype", "[kernel][fp16][bad_input]") {
  using Catch::Matchers::Contains;
  std::mt19937 rng(21000);
  const ops::Conv2dParams p = conv_params(3, 4, 3, 1, 1);
  const ops::Shape in{1, 3, 5, 5}, out{1, 4, 5, 5};
  auto x = random_values(rng, ops::numel(in));
  auto w = random_values(rng, 4 * 3 * 9);
  auto b = random_values(rng, 4);
  ops::Tensor x32 = upload(in, x, "x32");
  ops::Tensor x16 = upload(in, x, "x16", kF16);
  ops::Tensor w16 = upload({4, 3, 3, 3}, w, "w16", kF16);
  ops::Tensor b32 = upload({4}, b, "b32");
  ops::Tensor b16 = upload({4}, b, "b16", kF16);
  ops::Tensor y16 = output_tensor(out, "y16", kF16);
  ops::Tensor y32 = output_tensor(out, "y32");
  auto encode = [&](Precision prec, const ops::Tensor& input, const ops::Tensor& bias,
                    const ops::Tensor& output) {
    gpu::Recorder rec(device(), "bad dtype");
    ops::Conv2dOperands o;
    o.input = &input;
    o.weight = &w16;
    o.bias = &bias;
    o.output = &output;
    ops::encode_conv2d({device(), rec, prec}, p, {}, o, "stem_conv");
  };
  SECTION("fp16s given an f32 input") {
    REQUIRE_THROWS_WITH(encode(Precision::fp16s, x32, b32, y16),
                        Contains("stem_conv") && Contains("input tensor 'x32' is f32") &&
                            Contains("precision fp16s expects f16"));
  }
  SECTION("fp16 given an f16 bias (bias stays f32)") {
    REQUIRE_THROWS_WITH(encode(Precision::fp16, x16, b16, y16),
                        Contains("stem_conv") && Contains("bias tensor 'b16' is f16") &&
                            Contains("expects f32"));
  }
  SECTION("fp16s given an f32 output") {
    REQUIRE_THROWS_WITH(encode(Precision::fp16s, x16, b32, y32),
                        Contains("output tensor 'y32' is f32") && Contains("expects f16"));
  }
  SECTION("fp32 given f16 tensors") {
    REQUIRE_THROWS_WITH(encode(Precision::fp32, x16, b32, y32),
                        Contains("input tensor 'x16' is f16") &&
                            Contains("precision fp32 expects f32"));
  }
  SECTION("fp16s activation, concat and gemm name their op and tensor") {
    gpu::Recorder rec(device(), "bad dtype");
    REQUIRE_THROWS_WITH(ops::encode_activation({device(), rec, Precision::fp16s},
                                               ops::Activation::relu(), x32, x32, "act1"),
                        Contains("act1: input tensor 'x32' is f32"));
    REQUIRE_THROWS_WITH(ops::encode_concat({device(), rec, Precision::fp16s}, {&x16, &x32}, 1,
                                           output_tensor({1, 6, 5, 5}, "cat", kF16), "cat1"),
                        Contains("cat1: input 1 tensor 'x32' is f32"));
    ops::GemmParams g;
    g.in_features = 75;
    g.out_features = 4;
    ops::Tensor gw = output_tensor({4, 75}, "fc_w");  // f32
    REQUIRE_THROWS_WITH(ops::encode_gemm({device(), rec, Precision::fp16}, g, x16, gw, nullptr,
                                         output_tensor({1, 4}, "fc_y", kF16), "fc"),
                        Contains("fc: weight tensor 'fc_w' is f32"));
  }
  require_no_validation_messages();
}

TEST_CASE("half precision needs the device's 16-bit features", "[kernel][fp16]") {
  // Tells which Vulkan feature is missing, on which device; where the device has them (lavapipe
  // has both) the fp16 variants must be selectable.
  const gpu::DeviceInfo& info = device().info();
  gpu::Recorder rec(device(), "features");
  ops::Tensor x = output_tensor({1, 2, 3, 3}, "x", kF16);
  ops::Tensor y = output_tensor({1, 2, 3, 3}, "y", kF16);
  for (Precision prec : kHalfPrecisions) {
    const bool supported = info.storage_16bit && (prec == Precision::fp16s || info.fp16_arithmetic);
    auto encode = [&] {
      ops::encode_activation({device(), rec, prec}, ops::Activation::relu(), x, y, "relu1");
    };
    if (supported) {
      REQUIRE_NOTHROW(encode());
    } else if (!info.storage_16bit) {
      REQUIRE_THROWS_WITH(encode(), Catch::Matchers::Contains("storageBuffer16BitAccess") &&
                                        Catch::Matchers::Contains(info.name));
    } else {
      REQUIRE_THROWS_WITH(encode(), Catch::Matchers::Contains("shaderFloat16") &&
                                        Catch::Matchers::Contains(info.name));
    }
  }
  require_no_validation_messages();
}
