// Pad against the float64 oracle over a table: constant (zero and non-zero fill, pads on every
// axis including N and C, one-sided pads), reflect up to its limit of dim - 1 on each side, edge
// with pads far wider than the input, ranks 1 to 6, zero pads (a copy), and seeded random cases
// in every mode; the fp16 storage variants (the fill rounded to fp16 once, like a stored element);
// and bad pads rejected by name.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "ops/half.hpp"
#include "ops/pad_gpu.hpp"
#include "reference/pad.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// pad.comp copies elements (or writes the fill's bits) without arithmetic: every output element
// must equal the oracle's exactly. A wrong mirror or clamp index picks another input value
// (error O(1)), a missed element stays the NaN poison.
constexpr double kCopyExact = 0.0;

constexpr auto kConstant = ops::PadMode::constant;
constexpr auto kReflect = ops::PadMode::reflect;
constexpr auto kEdge = ops::PadMode::edge;

struct PadCase {
  std::string name;
  ops::Shape input;
  ops::PadParams p;
};

std::string pads_string(const std::vector<std::int64_t>& pads) {
  std::string s = "[";
  for (std::size_t i = 0; i < pads.size(); ++i) s += (i ? "," : "") + std::to_string(pads[i]);
  return s + "]";
}

void check_pad(const PadCase& c, std::uint32_t seed, ops::Precision precision = ops::Precision::fp32) {
  std::mt19937 rng(seed);
  const bool half = precision != ops::Precision::fp32;
  const ops::DType dtype = half ? ops::DType::f16 : ops::DType::f32;
  auto round = [&](float v) { return half ? ops::half_to_float(ops::float_to_half(v)) : v; };
  auto x = random_values(rng, ops::numel(c.input));
  for (float& v : x) v = round(v);
  const ops::Shape out_shape = ops::pad_output_shape(c.p, c.input);
  auto tx = upload(c.input, x, "x", dtype);
  auto ty = output_tensor(out_shape, "y", dtype);
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_pad({device(), rec, precision}, c.p, tx, ty, c.name);
  });
  // The oracle pads the values the kernel reads with the fill the kernel stores (fp16-rounded
  // in the 16-bit variants).
  ops::PadParams oracle_params = c.p;
  oracle_params.value = round(c.p.value);
  auto expected = reference::pad(oracle_params, to_host(c.input, x));
  REQUIRE(expected.shape == out_shape);
  require_close(fmt::format("pad {}", ops::to_string(precision)),
                fmt::format("{}: {} {} pads {} -> {}", c.name, ops::to_string(c.input), ops::to_string(c.p.mode),
                            pads_string(c.p.pads), ops::to_string(out_shape)),
                got, expected, kCopyExact, kCopyExact);
}

ops::PadParams pad(ops::PadMode mode, std::vector<std::int64_t> pads, float value = 0.0f) {
  return {mode, std::move(pads), value};
}

std::vector<PadCase> table() {
  return {
      {"constant 0, H and W (Conv's padding as a node)", {1, 3, 5, 7}, pad(kConstant, {0, 0, 1, 2, 0, 0, 3, 1})},
      {"constant -2.5 on every axis incl. N and C", {2, 3, 4, 5}, pad(kConstant, {1, 2, 1, 0, 0, 1, 2, 3}, -2.5f)},
      {"constant, end pads only (TF SAME's odd pixel)", {1, 4, 6, 6}, pad(kConstant, {0, 0, 0, 0, 0, 0, 1, 1})},
      {"constant, channel pad (BlazeFace's zero channels)", {1, 5, 3, 3}, pad(kConstant, {0, 0, 0, 0, 0, 4, 0, 0})},
      {"reflect 1 on H and W", {1, 3, 6, 5}, pad(kReflect, {0, 0, 1, 1, 0, 0, 1, 1})},
      {"reflect at its limit dim - 1", {2, 3, 6, 5}, pad(kReflect, {0, 0, 5, 4, 0, 0, 5, 4})},
      {"reflect on C, asymmetric", {1, 4, 3, 3}, pad(kReflect, {0, 3, 0, 2, 0, 1, 2, 0})},
      {"edge, pads wider than the input", {1, 2, 4, 3}, pad(kEdge, {0, 0, 6, 7, 0, 0, 5, 8})},
      {"edge on a 1x1 map", {1, 3, 1, 1}, pad(kEdge, {0, 0, 2, 2, 0, 0, 2, 2})},
      {"rank 1 reflect", {5}, pad(kReflect, {4, 3})},
      {"rank 2 edge", {3, 4}, pad(kEdge, {2, 1, 0, 3})},
      {"rank 3 constant", {2, 3, 4}, pad(kConstant, {1, 0, 2, 0, 3, 1}, 1.0f)},
      {"rank 6 reflect", {2, 2, 3, 2, 2, 3}, pad(kReflect, {1, 0, 2, 1, 0, 1, 0, 1, 1, 1, 1, 2})},
      {"zero pads (a copy)", {2, 3, 4, 5}, pad(kConstant, {0, 0, 0, 0, 0, 0, 0, 0}, 7.0f)},
  };
}

}  // namespace

TEST_CASE("pad matches oracle: constant, reflect, edge, ranks 1-6", "[kernel][pad]") {
  std::uint32_t seed = 9500;
  for (const PadCase& c : table()) {
    DYNAMIC_SECTION(c.name) { check_pad(c, seed); }
    ++seed;
  }
}

TEST_CASE("pad matches oracle: seeded random shapes, pads and modes", "[kernel][pad]") {
  std::mt19937 rng(20261127);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 24; ++i) {
    PadCase c;
    c.p.mode = static_cast<ops::PadMode>(pick(0, 2));
    c.p.value = static_cast<float>(pick(-4, 4)) * 0.75f;
    const int rank = pick(1, 5);
    for (int d = 0; d < rank; ++d) c.input.push_back(pick(1, 7));
    c.p.pads.resize(static_cast<std::size_t>(2 * rank));
    for (int d = 0; d < 2 * rank; ++d) {
      const std::int64_t dim = c.input[static_cast<std::size_t>(d % rank)];
      const int most = c.p.mode == kReflect ? static_cast<int>(dim - 1) : 4;
      c.p.pads[static_cast<std::size_t>(d)] = pick(0, most);
    }
    c.name = fmt::format("random #{}", i);
    DYNAMIC_SECTION(c.name << " " << ops::to_string(c.p.mode) << " " << ops::to_string(c.input) << " pads "
                           << pads_string(c.p.pads)) {
      check_pad(c, 9600 + static_cast<std::uint32_t>(i));
    }
  }
}

TEST_CASE("pad fp16 storage variants copy 16-bit elements and the rounded fill exactly", "[kernel][pad][fp16]") {
  const gpu::DeviceInfo& info = device().info();
  std::uint32_t seed = 9700;
  for (ops::Precision prec : {ops::Precision::fp16s, ops::Precision::fp16}) {
    if (!info.storage_16bit || (prec == ops::Precision::fp16 && !info.fp16_arithmetic)) {
      WARN("device " << info.name << " lacks the features for " << ops::to_string(prec) << ": not tested");
      continue;
    }
    const std::vector<PadCase> cases{
        // 0.1 is not an fp16 value: the kernel must store fp16(0.1), not truncated bits.
        {"constant 0.1, odd sizes", {1, 3, 5, 7}, pad(kConstant, {0, 0, 1, 2, 0, 0, 1, 1}, 0.1f)},
        {"reflect", {2, 3, 4, 5}, pad(kReflect, {0, 0, 3, 2, 0, 0, 1, 4})},
        {"edge rank 3", {3, 1, 5}, pad(kEdge, {1, 2, 0, 0, 3, 1})},
    };
    for (const PadCase& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) { check_pad(c, seed, prec); }
      ++seed;
    }
  }
}

TEST_CASE("pad rejects negative, oversized and miscounted pads, naming the node", "[kernel][pad][bad_input]") {
  using Catch::Matchers::Contains;
  const ops::Shape s{1, 2, 3, 4};
  REQUIRE_THROWS_WITH(ops::pad_output_shape(pad(kConstant, {0, 0, 1, 1}), s, "p1"),
                      Contains("p1") && Contains("4 pads") && Contains("expected 8"));
  REQUIRE_THROWS_WITH(ops::pad_output_shape(pad(kConstant, {0, 0, -1, 0, 0, 0, 0, 0}), s, "p2"),
                      Contains("p2") && Contains("negative"));
  // Reflect over an axis of 3 can mirror at most 2 elements.
  REQUIRE_THROWS_WITH(ops::pad_output_shape(pad(kReflect, {0, 0, 3, 0, 0, 0, 0, 0}), s, "p3"),
                      Contains("p3") && Contains("at most 2"));
  REQUIRE_THROWS_WITH(ops::pad_output_shape(pad(kReflect, {0, 1, 0, 0, 0, 0, 0, 0}), {1, 1, 3, 4}, "p4"),
                      Contains("p4") && Contains("at most 0"));
  REQUIRE_THROWS_WITH(ops::pad_output_shape(pad(static_cast<ops::PadMode>(7), {0, 0, 0, 0, 0, 0, 0, 0}), s, "p5"),
                      Contains("p5") && Contains("mode 7"));
  require_no_validation_messages();
}
