// Pow (the binary kernel's fifth op) and Sqrt / Exp (activation kinds) against the float64
// oracle, in fp32, fp16s and fp16: value tables with broadcasting, and C's special cases
// (negative bases, zeros, infinities, NaN), which must come out exactly.
//
// Tolerances come from Vulkan's precision rules ("Precision and Operation of SPIR-V
// Instructions"): multiplication correctly rounded, division 2.5 ULP, log2 3 ULP outside
// [0.5, 2] and 2^-21 absolute inside, exp2 and exp 3 + 2|x| ULP, inversesqrt 2 ULP, sqrt
// inherited from 1 / inversesqrt. An fp32 ULP is at most 2^-23 of the value, an fp16 one 2^-10.
// "max-abs" limits are, as everywhere in this suite, relative to max(1, max|expected|).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <limits>

#include "ops/activation_gpu.hpp"
#include "ops/elementwise_gpu.hpp"
#include "ops/half.hpp"
#include "reference/activation.hpp"
#include "reference/elementwise.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

using ops::Precision;

constexpr double kUlp32 = 1.0 / (1 << 23);  // 2^-23
constexpr double kUlp16 = 1.0 / (1 << 10);  // 2^-10
constexpr double kU16 = 1.0 / (1 << 11);    // fp16 unit roundoff: one rounding to fp16

constexpr Precision kPrecisions[] = {Precision::fp32, Precision::fp16s, Precision::fp16};

ops::DType dtype_of(Precision p) { return p == Precision::fp32 ? ops::DType::f32 : ops::DType::f16; }

std::vector<float> round_to_half(std::vector<float> v) {
  for (float& x : v) x = ops::half_to_float(ops::float_to_half(x));
  return v;
}

// The values a kernel of precision p actually reads.
std::vector<float> stored(Precision p, std::vector<float> v) {
  return p == Precision::fp32 ? v : round_to_half(std::move(v));
}

// ---------------------------------------------------------------------------------------------
// pow: bound per element, relative, in fp32 (every variant computes pow in fp32, binary.comp)

// Integer exponent |n| <= 16: a multiplication chain; each of its roundings enters x^n raised
// to the number of times its partial product is reused, at most n - 1 roundings of 2^-24 in
// all; a negative exponent adds the reciprocal (2.5 ULP).
double pow_integer_bound(int n) {
  const double chain = (std::abs(n) - 1) * kUlp32 / 2;
  return chain + (n < 0 ? 2.5 * kUlp32 : 0.0);
}

// exp2(y * log2|x|) with |x| in [0.5, 2] (log2 error <= 2^-21 absolute there) and |y| <= ymax:
// z = y log2|x| is off by ymax 2^-21 + |z| 2^-24 (the product's rounding), which exp2 turns
// into ln 2 times that relative; exp2 itself adds 3 + 2|z| ULP.
double pow_general_bound(double ymax) {
  const double zmax = ymax;  // |log2 x| <= 1
  const double dz = ymax * std::ldexp(1.0, -21) + zmax * kUlp32 / 2;
  return std::log(2.0) * dz + (3 + 2 * zmax) * kUlp32;
}

struct PowCase {
  const char* name;
  ops::Shape a, b;
  enum Domain { general, integer, square } domain;
};

// general: bases in [0.5, 2], exponents in [-3, 3] (non-integers, almost surely).
// integer: bases in [-2, 2] of either sign, exponents whole numbers in [-3, 3].
// square: bases in [-2, 2], the exponent the constant 2 (a variance's (x - mean)^2).
void fill_pow(const PowCase& c, std::mt19937& rng, std::vector<float>& a, std::vector<float>& b) {
  switch (c.domain) {
    case PowCase::general:
      a = random_values(rng, ops::numel(c.a), 0.5f, 2.0f);
      b = random_values(rng, ops::numel(c.b), -3.0f, 3.0f);
      break;
    case PowCase::integer:
      a = random_values(rng, ops::numel(c.a), -2.0f, 2.0f);
      b = random_values(rng, ops::numel(c.b), -3.49f, 3.49f);
      for (float& y : b) y = std::round(y);
      // Keep reciprocals of tiny bases (|x|^-3 up to 1e9) from swamping the relative-L2 norm.
      for (float& x : a)
        if (std::abs(x) < 0.25f) x = x < 0 ? x - 0.25f : x + 0.25f;
      break;
    case PowCase::square:
      a = random_values(rng, ops::numel(c.a), -2.0f, 2.0f);
      b.assign(static_cast<std::size_t>(ops::numel(c.b)), 2.0f);
      break;
  }
}

double pow_fp32_bound(PowCase::Domain d) {
  switch (d) {
    case PowCase::general: return pow_general_bound(3.0);
    case PowCase::integer: return pow_integer_bound(-3);  // the largest of n in [-3, 3]
    case PowCase::square: return pow_integer_bound(2);    // x * x: correctly rounded
  }
  return 0.0;
}

const std::vector<PowCase> kPowCases{
    {"general: equal shapes 2x3x5x7", {2, 3, 5, 7}, {2, 3, 5, 7}, PowCase::general},
    {"general: per-channel exponent [3,1,1] on 2x3x4x5", {2, 3, 4, 5}, {3, 1, 1}, PowCase::general},
    {"general: base [5,1] with exponent row [1,7]", {5, 1}, {1, 7}, PowCase::general},
    {"integer, negative bases: equal shapes 4x33", {4, 33}, {4, 33}, PowCase::integer},
    {"integer, negative bases: exponent [1,6] against 5x6", {5, 6}, {1, 6}, PowCase::integer},
    {"square: x^2 with a [1] exponent, 2x8x9x9", {2, 8, 9, 9}, {1}, PowCase::square},
    {"square: big 4x64x28x28 with a [1] exponent", {4, 64, 28, 28}, {1}, PowCase::square},
};

// ---------------------------------------------------------------------------------------------
// exact special values

bool same_float(float got, double want) {
  const float w = static_cast<float>(want);
  if (std::isnan(w)) return std::isnan(got);
  return std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(w);  // sign of 0 too
}

std::string show(float v) { return std::isnan(v) ? "nan" : fmt::format("{}{}", std::signbit(v) ? "-" : "", std::abs(v)); }

}  // namespace

TEST_CASE("pow matches oracle: exponent domains and broadcasting, every precision", "[kernel][elementwise][pow]") {
  std::uint32_t seed = 21000;
  for (Precision prec : kPrecisions) {
    for (const PowCase& c : kPowCases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        std::vector<float> a, b;
        fill_pow(c, rng, a, b);
        a = stored(prec, a);
        b = stored(prec, b);
        const ops::Shape out = ops::broadcast_shapes(c.a, c.b);
        auto ta = upload(c.a, a, "a", dtype_of(prec));
        auto tb = upload(c.b, b, "b", dtype_of(prec));
        auto ty = output_tensor(out, "y", dtype_of(prec));
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_binary({device(), rec, prec}, ops::BinaryOp::pow, ta, tb, ty, c.name);
        });
        auto expected = reference::binary(ops::BinaryOp::pow, to_host(c.a, a), to_host(c.b, b));
        // fp32 pow, then (fp16s, fp16) one rounding to fp16 on the store.
        const double tol = pow_fp32_bound(c.domain) + (prec == Precision::fp32 ? 0.0 : kU16);
        require_close(fmt::format("pow {}", ops::to_string(prec)), c.name, got, expected, tol, tol);
      }
      ++seed;
    }
  }
}

TEST_CASE("pow follows C's special cases exactly: signs, zeros, infinities, NaN", "[kernel][elementwise][pow]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Each result is exact on any conforming device: the special cases are branches in pow_c,
  // and the finite ones are short multiplication chains of small integers (exact in fp16 too).
  const std::vector<std::pair<float, float>> pairs{
      {2.0f, 0.0f},   {nan, 0.0f},    {-3.0f, -0.0f}, {1.0f, nan},    {1.0f, -inf},  {-1.0f, inf},
      {-1.0f, -inf},  {-2.0f, 3.0f},  {-2.0f, 2.0f},  {-2.0f, -1.0f}, {-3.0f, 4.0f}, {3.0f, 2.0f},
      {-8.0f, 1.0f / 3.0f}, {-2.0f, 0.5f}, {-inf, 0.5f}, {-inf, -0.5f}, {0.0f, -1.0f}, {-0.0f, -1.0f}, {-0.0f, -2.0f},
      {0.0f, 2.0f},   {-0.0f, 3.0f},  {-0.0f, 2.0f},  {0.0f, -0.5f},  {0.5f, inf},   {0.5f, -inf},
      {2.0f, inf},    {2.0f, -inf},   {-2.0f, inf},   {inf, -2.0f},   {inf, 0.5f},   {-inf, 3.0f},
      {-inf, 2.0f},   {-inf, -3.0f},  {-inf, -2.0f},  {nan, 2.0f},    {2.0f, nan},   {-1.0f, 7.0f},
  };
  std::vector<float> a, b;
  for (const auto& [x, y] : pairs) {
    a.push_back(x);
    b.push_back(y);
  }
  const ops::Shape shape{static_cast<std::int64_t>(pairs.size())};
  for (Precision prec : kPrecisions) {
    DYNAMIC_SECTION(ops::to_string(prec)) {
      // -8^(1/3)'s exponent rounds to another non-integer in fp16: still NaN.
      const std::vector<float> sa = stored(prec, a), sb = stored(prec, b);
      auto ta = upload(shape, sa, "a", dtype_of(prec));
      auto tb = upload(shape, sb, "b", dtype_of(prec));
      auto ty = output_tensor(shape, "y", dtype_of(prec));
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_binary({device(), rec, prec}, ops::BinaryOp::pow, ta, tb, ty, "pow specials");
      });
      auto expected = reference::binary(ops::BinaryOp::pow, to_host(shape, sa), to_host(shape, sb));
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        INFO("pow(" << show(sa[i]) << ", " << show(sb[i]) << ") = " << show(got[i]) << ", C says "
                    << show(static_cast<float>(expected.data[i])));
        CHECK(same_float(got[i], expected.data[i]));
      }
      require_no_validation_messages();
    }
  }
}

TEST_CASE("sqrt and exp match oracle in every precision", "[kernel][activation][sqrt]") {
  struct Case {
    const char* name;
    ops::Activation act;
    float lo, hi;
  };
  // sqrt over [0, 4] and exp over [-2, 2]; a quarter of sqrt's inputs are made negative below,
  // where both sides must be NaN (a finite kernel value there fails the comparison).
  const std::vector<Case> cases{
      {"sqrt", ops::Activation::sqrt(), 0.0f, 4.0f},
      {"exp", ops::Activation::exp(), -2.0f, 2.0f},
  };
  const ops::Shape shape{3, 5, 7, 11};  // 1155 elements, odd
  std::uint32_t seed = 22000;
  for (Precision prec : kPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        auto x = random_values(rng, ops::numel(shape), c.lo, c.hi);
        if (c.act.kind == ops::ActivationKind::sqrt)
          for (std::size_t i = 0; i < x.size(); i += 4) x[i] = -x[i] - 0.01f;
        x = stored(prec, x);
        auto tx = upload(shape, x, "x", dtype_of(prec));
        auto ty = output_tensor(shape, "y", dtype_of(prec));
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_activation({device(), rec, prec}, c.act, tx, ty, c.name);
        });
        auto expected = reference::activation(to_host(shape, x), c.act);
        // sqrt: 1 / inversesqrt, 2 + 2.5 ULP. exp on |x| <= 2: 3 + 2 * 2 = 7 ULP (the fp32 row
        // of the table; the fp16 row allows no more). fp32 and fp16 arithmetic in their own
        // ULPs; fp16s computes in fp32 and rounds once to fp16.
        const double ulps = c.act.kind == ops::ActivationKind::sqrt ? 4.5 : 7.0;
        const double tol = prec == Precision::fp32   ? ulps * kUlp32
                           : prec == Precision::fp16s ? ulps * kUlp32 + kU16
                                                      : ulps * kUlp16;
        require_close(fmt::format("{} {}", c.name, ops::to_string(prec)), c.name, got, expected, tol, tol);
      }
      ++seed;
    }
  }
}

TEST_CASE("sqrt and exp special values are exact", "[kernel][activation][sqrt]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    ops::Activation act;
    std::vector<float> x;
  };
  // exp(100) overflows fp32 (and fp16) to inf; exp(-200) underflows to 0 (exp(-100) would be
  // an fp32 subnormal, which devices may flush).
  const std::vector<Case> cases{
      {ops::Activation::sqrt(), {-1.0f, -inf, -1e-3f, inf, 0.0f, nan}},
      {ops::Activation::exp(), {-inf, inf, nan, 100.0f, -200.0f}},
  };
  for (Precision prec : kPrecisions) {
    for (const Case& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << ops::to_string(c.act)) {
        const std::vector<float> x = stored(prec, c.x);
        const ops::Shape shape{static_cast<std::int64_t>(x.size())};
        auto tx = upload(shape, x, "x", dtype_of(prec));
        auto ty = output_tensor(shape, "y", dtype_of(prec));
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_activation({device(), rec, prec}, c.act, tx, ty, "specials");
        });
        auto expected = reference::activation(to_host(shape, x), c.act);
        for (std::size_t i = 0; i < x.size(); ++i) {
          INFO(ops::to_string(c.act) << "(" << show(x[i]) << ") = " << show(got[i]) << ", C says "
                                     << show(static_cast<float>(expected.data[i])));
          CHECK(same_float(got[i], expected.data[i]));
        }
        require_no_validation_messages();
      }
    }
  }
}
