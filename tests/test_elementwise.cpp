// Elementwise add/sub/mul/div against the float64 oracle over a table of NumPy broadcasting
// patterns: equal shapes, a [1] scalar on either side, [2,3,1] with [3,4], the per-channel
// [C,1,1] operand BatchNorm-like graphs use, two-sided broadcasts up to rank 6, batch > 1, odd
// sizes and one big activation-sized tensor. Every case runs all four ops, so an operand swap
// shows in sub and div. Values are uniform in [-1, 1]; b's magnitudes are in [0.5, 2] with a
// random sign, so division never meets a near-zero divisor (whose huge quotient would swamp the
// relative-L2 norm and leave every other element unchecked) while both signs are still tested.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>

#include "ops/elementwise_gpu.hpp"
#include "ops/encode_util.hpp"
#include "reference/elementwise.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

struct BinaryCase {
  const char* name;
  ops::Shape a;
  ops::Shape b;
};

// Vulkan requires OpFAdd, OpFSub and OpFMul to be correctly rounded: each output is the exact
// result of the fp32 inputs (which the oracle reads exactly) rounded once, a relative error of
// at most 2^-24 = 5.96e-8 per element, hence in rel-L2 and in max-abs against max(1, max|y|).
// Any indexing or broadcast bug reads a wrong element and errs by O(1).
constexpr double kCorrectlyRounded = 5.97e-8;
// OpFDiv is allowed 2.5 ULP (Vulkan spec, "Precision and Operation of SPIR-V Instructions") for
// divisors of normal magnitude: 2.5 * 2^-23 = 2.98e-7 relative per element.
constexpr double kDivision = 2.99e-7;

constexpr ops::BinaryOp kOps[] = {ops::BinaryOp::add, ops::BinaryOp::sub, ops::BinaryOp::mul,
                                  ops::BinaryOp::div};

// Magnitudes in [0.5, 2], either sign: see the file comment.
std::vector<float> divisor_values(std::mt19937& rng, std::int64_t count) {
  auto v = random_values(rng, count, 0.5f, 2.0f);
  std::bernoulli_distribution negative(0.5);
  for (float& x : v)
    if (negative(rng)) x = -x;
  return v;
}

void check_binary(const BinaryCase& c, ops::BinaryOp op, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto a = random_values(rng, ops::numel(c.a));
  auto b = divisor_values(rng, ops::numel(c.b));
  const ops::Shape out_shape = ops::broadcast_shapes(c.a, c.b);
  auto ta = upload(c.a, a, "a");
  auto tb = upload(c.b, b, "b");
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(
      ty, [&](gpu::Recorder& rec) { ops::encode_binary({device(), rec}, op, ta, tb, ty); });
  auto expected = reference::binary(op, to_host(c.a, a), to_host(c.b, b));
  REQUIRE(expected.shape == out_shape);
  const double tol = op == ops::BinaryOp::div ? kDivision : kCorrectlyRounded;
  require_close(ops::to_string(op),
                fmt::format("{} {}: {} {} {} -> {}", ops::to_string(op), c.name, ops::to_string(c.a),
                            ops::to_string(op), ops::to_string(c.b), ops::to_string(out_shape)),
                got, expected, tol, tol);
}

void run_table(const std::vector<BinaryCase>& cases, std::uint32_t seed) {
  for (const BinaryCase& c : cases) {
    for (ops::BinaryOp op : kOps) {
      DYNAMIC_SECTION(ops::to_string(op) << " " << c.name) { check_binary(c, op, seed); }
      ++seed;
    }
  }
}

}  // namespace

TEST_CASE("elementwise matches oracle: equal shapes and scalars", "[kernel][elementwise]") {
  run_table({{"equal shapes 2x3x4x5", {2, 3, 4, 5}, {2, 3, 4, 5}},
             {"rank 1, 1000 elements", {1000}, {1000}},
             {"scalar-like [1] right of 1x3x8x8", {1, 3, 8, 8}, {1}},
             {"scalar-like [1] left of 2x3x4x5", {1}, {2, 3, 4, 5}},
             {"1x1x1x1 against 2x3x4x5", {1, 1, 1, 1}, {2, 3, 4, 5}},
             {"odd sizes 1x17x9x11 equal", {1, 17, 9, 11}, {1, 17, 9, 11}}},
            100);
}

TEST_CASE("elementwise matches oracle: broadcasting patterns", "[kernel][elementwise]") {
  run_table({{"[2,3,1] with [3,4] -> 2x3x4", {2, 3, 1}, {3, 4}},
             {"[3,4] with [2,3,1] -> 2x3x4", {3, 4}, {2, 3, 1}},
             {"column [5,1] with row [1,7] -> 5x7", {5, 1}, {1, 7}},
             {"per-channel [C,1,1]: 2x16x7x7 with [16,1,1] (BN-like)", {2, 16, 7, 7}, {16, 1, 1}},
             {"per-channel [1,C,1,1] left: [1,13,1,1] with 1x13x5x6", {1, 13, 1, 1}, {1, 13, 5, 6}},
             {"odd sizes 1x17x9x11 with [17,1,11]", {1, 17, 9, 11}, {17, 1, 11}},
             {"batch 3 against batch 1: 3x4x5x6 with 1x4x5x6", {3, 4, 5, 6}, {1, 4, 5, 6}},
             {"batch 1 against batch 4: 1x3x1x6 with 4x1x5x1", {1, 3, 1, 6}, {4, 1, 5, 1}},
             {"rank 6 two-sided: [2,1,3,1,4,5] with [3,1,2,1,5]", {2, 1, 3, 1, 4, 5}, {3, 1, 2, 1, 5}},
             {"rank 6 equal 2x3x1x2x3x5 with [1]", {2, 3, 1, 2, 3, 5}, {1}}},
            200);
}

TEST_CASE("elementwise matches oracle: big activation-sized tensor", "[kernel][elementwise]") {
  run_table({{"big 8x64x28x28 equal shapes", {8, 64, 28, 28}, {8, 64, 28, 28}},
             {"big 8x64x28x28 with per-channel [64,1,1]", {8, 64, 28, 28}, {64, 1, 1}}},
            300);
}

TEST_CASE("elementwise in place: out is the non-broadcast operand", "[kernel][elementwise]") {
  // The header allows out == a when a is not broadcast (the residual add writes into its own
  // input). No NaN poisoning here: the output is the input. A kernel that wrote before reading,
  // or read a neighbour another invocation had already overwritten, errs by O(1).
  const ops::Shape shape{2, 6, 5, 7};
  const ops::Shape channel{6, 1, 1};
  std::uint32_t seed = 400;
  for (ops::BinaryOp op : kOps) {
    DYNAMIC_SECTION(ops::to_string(op) << " in place: 2x6x5x7 (op)= [6,1,1]") {
      std::mt19937 rng(seed);
      auto a = random_values(rng, ops::numel(shape));
      auto b = divisor_values(rng, ops::numel(channel));
      auto ta = upload(shape, a, "a");
      auto tb = upload(channel, b, "b");
      gpu::Recorder rec(device(), "test");
      ops::encode_binary({device(), rec}, op, ta, tb, ta);
      rec.submit_and_wait();
      auto got = ops::download_tensor(device(), ta);
      auto expected = reference::binary(op, to_host(shape, a), to_host(channel, b));
      const double tol = op == ops::BinaryOp::div ? kDivision : kCorrectlyRounded;
      require_close(ops::to_string(op), fmt::format("{} in place 2x6x5x7 with [6,1,1]", ops::to_string(op)),
                    got, expected, tol, tol);
    }
    ++seed;
  }
}

// The encoder walks a broadcast over the fewest dims that describe it; the kernel tables above
// prove the walks index correctly, this pins down that the common cases really collapse.
TEST_CASE("broadcast_walk merges contiguous dims and drops size-1 ones", "[elementwise]") {
  auto walk = [](const ops::Shape& a, const ops::Shape& b) {
    const ops::BroadcastWalk w = ops::broadcast_walk(a, b, ops::broadcast_shapes(a, b));
    return std::vector<std::vector<std::int64_t>>{w.dims, w.a_strides, w.b_strides};
  };
  using V = std::vector<std::vector<std::int64_t>>;
  CHECK(walk({2, 3, 4, 5}, {2, 3, 4, 5}) == V{{120}, {1}, {1}});
  CHECK(walk({1, 8, 6, 6}, {1, 8, 6, 6}) == V{{288}, {1}, {1}});
  CHECK(walk({2, 3, 4, 5}, {}) == V{{120}, {1}, {0}});
  CHECK(walk({}, {}) == V{{1}, {0}, {0}});
  // Squeeze-and-excite: a per-channel scale, the spatial dims merged into one.
  CHECK(walk({2, 3, 4, 5}, {1, 3, 1, 1}) == V{{2, 3, 20}, {60, 20, 1}, {0, 1, 0}});
  CHECK(walk({1, 3, 1, 1}, {1, 3, 4, 5}) == V{{3, 20}, {1, 0}, {20, 1}});
  // An outer product keeps both dims.
  CHECK(walk({3, 1}, {1, 4}) == V{{3, 4}, {1, 0}, {0, 1}});
  // A row vector against a matrix: the trailing dims stay apart only where b's stride breaks.
  CHECK(walk({6, 7}, {7}) == V{{6, 7}, {7, 1}, {0, 1}});
}

// The shaders divide their index arithmetic by multiply and shift (common.glsl's fast_div, with
// ops::fast_divisor's constants). Exact for every 32-bit n and d >= 1: checked here on the host's
// mirror of the shader's formula at the edges (powers of two and their neighbours, the largest
// values) and on random pairs; the GPU's own fast_div runs in every binary case above.
TEST_CASE("fast_div divides exactly: powers of two, their neighbours, extremes, random", "[elementwise]") {
  std::vector<std::uint32_t> values = {1, 2, 3, 5, 6, 7, 9, 10, 25, 49, 96, 160, 641, 25600, 65535, 65536, 65537,
                                       0x7FFFFFFFu, 0x80000000u, 0x80000001u, 0xFFFFFFFEu, 0xFFFFFFFFu};
  for (int b = 2; b < 32; ++b) {
    const std::uint32_t p = std::uint32_t{1} << b;
    values.insert(values.end(), {p - 1, p, p + 1});
  }
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {  // xorshift64*: reproducible, no test seed to manage
    state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
    return static_cast<std::uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
  };
  std::size_t wrong = 0, checked = 0;
  auto check = [&](std::uint32_t n, std::uint32_t d) {
    const ops::FastDivisor f = ops::fast_divisor(d);
    wrong += ops::fast_div(n, d, f) != n / d;
    ++checked;
  };
  for (std::uint32_t d : values) {
    for (std::uint32_t n : values) check(n, d);
    check(0, d);
    for (int i = 0; i < 2000; ++i) check(next(), d);
  }
  for (int i = 0; i < 200000; ++i) check(next(), std::max<std::uint32_t>(next() >> (next() % 32), 1));
  INFO(checked << " pairs");
  CHECK(wrong == 0);
  CHECK_THROWS(ops::fast_divisor(0));
}

// binary reads a and b through texel buffers where views hold them, else from its storage
// variant (ops::Encoder::texel_reads = false forces that): the same bits for every op over
// equal shapes, a scalar, a per-channel operand and a two-sided broadcast.
TEST_CASE("elementwise: the texel and storage variants give the same bits", "[kernel][elementwise]") {
  const BinaryCase cases[] = {{"equal", {2, 5, 7, 3}, {2, 5, 7, 3}},
                              {"scalar", {2, 5, 7, 3}, {1}},
                              {"per channel", {2, 5, 7, 3}, {5, 1, 1}},
                              {"two-sided", {3, 1, 4}, {1, 6, 1}}};
  for (const BinaryCase& c : cases) {
    for (ops::BinaryOp op : kOps) {
      INFO(c.name << ", " << ops::to_string(op));
      std::mt19937 rng(77);
      auto a = random_values(rng, ops::numel(c.a));
      auto b = divisor_values(rng, ops::numel(c.b));
      auto ta = upload(c.a, a, "a");
      auto tb = upload(c.b, b, "b");
      auto ty = output_tensor(ops::broadcast_shapes(c.a, c.b, "test"), "y");
      auto run = [&](bool texel) {
        return run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::Encoder enc{device(), rec};
          enc.texel_reads = texel;
          ops::encode_binary(enc, op, ta, tb, ty);
        });
      };
      const std::vector<float> texel = run(true), storage = run(false);
      REQUIRE(texel.size() == storage.size());
      CHECK(std::memcmp(texel.data(), storage.data(), texel.size() * sizeof(float)) == 0);
    }
  }
  require_no_validation_messages();
}
