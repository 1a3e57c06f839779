// Transpose against the float64 oracle over a table of permutations: the two layout shuffles
// CNN exports begin and end with (NHWC -> NCHW, NCHW -> NHWC), ONNX's default reversed perm,
// every rank from 1 to 6, size-1 dims moved around, the identity, a grid wider than one row of
// workgroups, and seeded random ranks, shapes and perms; the fp16 storage variants; the host
// helpers that collapse dims and spot order-keeping perms; and bad perms rejected by name.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "ops/half.hpp"
#include "ops/transpose_gpu.hpp"
#include "reference/transpose.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// transpose.comp moves 32-bit (or 16-bit) words without arithmetic: every output element must
// equal its source exactly. Any nonzero error is a wrong index; an element never written stays
// the NaN poison and fails as non-finite.
constexpr double kCopyExact = 0.0;

std::string perm_string(const std::vector<std::int64_t>& perm) {
  if (perm.empty()) return "default (reversed)";
  std::string s = "[";
  for (std::size_t i = 0; i < perm.size(); ++i) s += (i ? "," : "") + std::to_string(perm[i]);
  return s + "]";
}

struct TransposeCase {
  std::string name;
  ops::Shape input;
  std::vector<std::int64_t> perm;
};

void check_transpose(const TransposeCase& c, std::uint32_t seed,
                     ops::Precision precision = ops::Precision::fp32) {
  std::mt19937 rng(seed);
  const bool half = precision != ops::Precision::fp32;
  const ops::DType dtype = half ? ops::DType::f16 : ops::DType::f32;
  auto x = random_values(rng, ops::numel(c.input));
  // fp16 runs copy fp16 values: the oracle gets the same rounded values the kernel reads.
  if (half) {
    for (float& v : x) v = ops::half_to_float(ops::float_to_half(v));
  }
  const ops::TransposeParams p{c.perm};
  const ops::Shape out_shape = ops::transpose_output_shape(p, c.input);
  auto tx = upload(c.input, x, "x", dtype);
  auto ty = output_tensor(out_shape, "y", dtype);
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_transpose({device(), rec, precision}, p, tx, ty, c.name);
  });
  auto expected = reference::transpose(p, to_host(c.input, x));
  REQUIRE(expected.shape == out_shape);
  require_close(fmt::format("transpose {}", ops::to_string(precision)),
                fmt::format("{}: {} perm {} -> {}", c.name, ops::to_string(c.input), perm_string(c.perm),
                            ops::to_string(out_shape)),
                got, expected, kCopyExact, kCopyExact);
}

std::vector<TransposeCase> table() {
  return {
      {"NHWC image to NCHW (TensorFlow export's first node)", {1, 9, 11, 3}, {0, 3, 1, 2}},
      {"NCHW map to NHWC (detection heads)", {2, 6, 5, 7}, {0, 2, 3, 1}},
      {"default perm reverses rank 3", {4, 5, 6}, {}},
      {"default perm reverses rank 4", {2, 3, 4, 5}, {}},
      {"rank 1", {37}, {0}},
      {"rank 2 matrix transpose, odd sizes", {13, 17}, {1, 0}},
      {"rank 3 swap of the last two", {3, 7, 5}, {0, 2, 1}},
      {"rank 5", {2, 3, 4, 5, 3}, {4, 2, 0, 3, 1}},
      {"rank 6 space-to-depth shuffle", {1, 2, 3, 2, 3, 4}, {0, 1, 3, 5, 2, 4}},
      {"rank 6 reversed", {2, 3, 2, 3, 2, 3}, {5, 4, 3, 2, 1, 0}},
      {"size-1 dims moved around", {1, 6, 1, 5}, {3, 1, 0, 2}},
      {"only size-1 dims move (keeps element order)", {1, 4, 1, 6}, {2, 0, 1, 3}},
      {"identity perm", {2, 3, 4, 5}, {0, 1, 2, 3}},
      {"all dims 1", {1, 1, 1}, {2, 0, 1}},
      // 2 * 1200 * 1900 = 4.56M outputs = 71250 workgroups of 64: past one grid row (65535), so
      // the y fold of the flat index is exercised.
      {"more workgroups than one grid row", {2, 1200, 1900}, {2, 0, 1}},
  };
}

}  // namespace

TEST_CASE("transpose matches oracle: layout shuffles, ranks 1-6, default perm, size-1 dims", "[kernel][transpose]") {
  std::uint32_t seed = 9100;
  for (const TransposeCase& c : table()) {
    DYNAMIC_SECTION(c.name) { check_transpose(c, seed); }
    ++seed;
  }
}

TEST_CASE("transpose matches oracle: seeded random ranks, shapes and perms", "[kernel][transpose]") {
  std::mt19937 rng(20261125);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 24; ++i) {
    TransposeCase c;
    const int rank = pick(1, 6);
    for (int d = 0; d < rank; ++d) c.input.push_back(pick(1, rank <= 3 ? 17 : 6));
    c.perm.resize(static_cast<std::size_t>(rank));
    std::iota(c.perm.begin(), c.perm.end(), 0);
    std::shuffle(c.perm.begin(), c.perm.end(), rng);
    c.name = fmt::format("random #{}", i);
    DYNAMIC_SECTION(c.name << " " << ops::to_string(c.input) << " perm " << perm_string(c.perm)) {
      check_transpose(c, 9200 + static_cast<std::uint32_t>(i));
    }
  }
}

TEST_CASE("transpose fp16 storage variants copy 16-bit elements exactly", "[kernel][transpose][fp16]") {
  const gpu::DeviceInfo& info = device().info();
  std::uint32_t seed = 9300;
  for (ops::Precision prec : {ops::Precision::fp16s, ops::Precision::fp16}) {
    if (!info.storage_16bit || (prec == ops::Precision::fp16 && !info.fp16_arithmetic)) {
      WARN("device " << info.name << " lacks the features for " << ops::to_string(prec) << ": not tested");
      continue;
    }
    // Odd element counts and odd strides: 16-bit elements at odd positions inside 32-bit words.
    const std::vector<TransposeCase> cases{
        {"NHWC to NCHW, odd sizes", {1, 7, 9, 3}, {0, 3, 1, 2}},
        {"NCHW to NHWC, batch 2", {2, 5, 3, 7}, {0, 2, 3, 1}},
        {"rank 6", {1, 2, 3, 2, 3, 3}, {0, 1, 3, 5, 2, 4}},
        {"rank 1", {11}, {}},
    };
    for (const TransposeCase& c : cases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) { check_transpose(c, seed, prec); }
      ++seed;
    }
  }
}

TEST_CASE("transpose helpers: collapsed dims and order-keeping perms", "[kernel][transpose]") {
  // Expected values worked out by hand from the definitions.
  SECTION("NCHW -> NHWC collapses H and W into one dim") {
    const ops::CollapsedTranspose c = ops::collapse_transpose({2, 3, 4, 5}, {0, 2, 3, 1});
    CHECK(c.input == ops::Shape{2, 3, 20});
    CHECK(c.perm == std::vector<std::int64_t>{0, 2, 1});
  }
  SECTION("size-1 dims vanish; an order-keeping perm collapses to one dim") {
    const ops::CollapsedTranspose c = ops::collapse_transpose({1, 4, 1, 6}, {2, 0, 1, 3});
    CHECK(c.input == ops::Shape{24});
    CHECK(c.perm == std::vector<std::int64_t>{0});
  }
  SECTION("reversal of rank 3 stays rank 3") {
    const ops::CollapsedTranspose c = ops::collapse_transpose({2, 3, 4}, {2, 1, 0});
    CHECK(c.input == ops::Shape{2, 3, 4});
    CHECK(c.perm == std::vector<std::int64_t>{2, 1, 0});
  }
  CHECK(ops::transpose_keeps_element_order({1, 4, 1, 6}, {2, 0, 1, 3}));
  CHECK(ops::transpose_keeps_element_order({1, 128, 128, 3}, {0, 1, 2, 3}));
  CHECK_FALSE(ops::transpose_keeps_element_order({1, 128, 128, 3}, {0, 3, 1, 2}));
  CHECK_FALSE(ops::transpose_keeps_element_order({2, 1, 3}, {2, 1, 0}));
}

TEST_CASE("transpose rejects bad perms and ranks, naming the node", "[kernel][transpose][bad_input]") {
  using Catch::Matchers::Contains;
  const ops::Shape s{2, 3, 4};
  REQUIRE_THROWS_WITH(ops::transpose_output_shape({{0, 1}}, s, "t1"), Contains("t1") && Contains("2 entries"));
  REQUIRE_THROWS_WITH(ops::transpose_output_shape({{0, 1, 1}}, s, "t2"), Contains("t2") && Contains("not a permutation"));
  REQUIRE_THROWS_WITH(ops::transpose_output_shape({{0, 1, 3}}, s, "t3"), Contains("not a permutation"));
  REQUIRE_THROWS_WITH(ops::transpose_output_shape({{0, -1, 2}}, s, "t4"), Contains("not a permutation"));
  REQUIRE_THROWS_WITH(ops::transpose_output_shape({}, ops::Shape{1, 1, 1, 1, 1, 1, 2}, "t5"),
                      Contains("t5") && Contains("rank 7"));
  // The encoder checks the output shape before recording anything.
  gpu::Recorder rec(device(), "bad");
  ops::Tensor x = output_tensor({2, 3}, "x");
  ops::Tensor y = output_tensor({2, 3}, "y");
  REQUIRE_THROWS_WITH(ops::encode_transpose({device(), rec}, {{1, 0}}, x, y, "t6"),
                      Contains("t6") && Contains("output"));
  require_no_validation_messages();
}
