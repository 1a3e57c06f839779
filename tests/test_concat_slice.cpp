// Concat and slice against the float64 oracle: 2..4 inputs along the channel axis (DPN's dual
// path joins 64 residual + 16 + 16 dense channels and splits them again), along axes 0, 2, 3 and
// a negative axis, odd sizes; slices at the start, middle and tail of an axis; and a concat then
// slice round trip that must give back every input bit for bit.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstring>

#include "ops/concat_gpu.hpp"
#include "reference/concat.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// Concat and slice copy 32-bit words (copy_axis.comp moves uints): no arithmetic, so every output
// element must equal its source exactly. Any nonzero error is a wrong index, and an element the
// kernel never wrote stays the NaN poison and counts as non-finite.
constexpr double kCopyExact = 0.0;

struct ConcatCase {
  const char* name;
  std::vector<ops::Shape> inputs;
  std::int64_t axis;
};

void check_concat(const ConcatCase& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<float>> values;
  std::vector<ops::Tensor> tensors;
  std::vector<reference::HostTensor> hosts;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    values.push_back(random_values(rng, ops::numel(c.inputs[i])));
    tensors.push_back(upload(c.inputs[i], values.back(), fmt::format("x{}", i)));
    hosts.push_back(to_host(c.inputs[i], values.back()));
  }
  std::vector<const ops::Tensor*> tensor_ptrs;
  std::vector<const reference::HostTensor*> host_ptrs;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    tensor_ptrs.push_back(&tensors[i]);
    host_ptrs.push_back(&hosts[i]);
  }
  const ops::Shape out_shape = ops::concat_output_shape(c.inputs, c.axis);
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::encode_concat({device(), rec}, tensor_ptrs, c.axis, ty, c.name);
  });
  auto expected = reference::concat(host_ptrs, c.axis);
  REQUIRE(expected.shape == out_shape);
  require_close("concat", fmt::format("{} axis {} -> {}", c.name, c.axis, ops::to_string(out_shape)),
                got, expected, kCopyExact, kCopyExact);
}

struct SliceCase {
  const char* name;
  ops::Shape input;
  ops::SliceParams p;
};

void check_slice(const SliceCase& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto x = random_values(rng, ops::numel(c.input));
  const ops::Shape out_shape = ops::slice_output_shape(c.p, c.input);
  auto tx = upload(c.input, x, "x");
  auto ty = output_tensor(out_shape, "y");
  auto got = run_kernel(
      ty, [&](gpu::Recorder& rec) { ops::encode_slice({device(), rec}, c.p, tx, ty, c.name); });
  auto expected = reference::slice(c.p, to_host(c.input, x));
  REQUIRE(expected.shape == out_shape);
  require_close("slice",
                fmt::format("{}: {} axis {} [{}, {}) -> {}", c.name, ops::to_string(c.input), c.p.axis,
                            c.p.start, c.p.start + c.p.length, ops::to_string(out_shape)),
                got, expected, kCopyExact, kCopyExact);
}

}  // namespace

TEST_CASE("concat matches oracle: channel axis, DPN dual path", "[kernel][concat]") {
  const std::vector<ConcatCase> cases{
      {"2 inputs 1x3x4x5 + 1x5x4x5", {{1, 3, 4, 5}, {1, 5, 4, 5}}, 1},
      {"DPN 3 inputs 64 + 16 + 16 channels, 2x..x7x7", {{2, 64, 7, 7}, {2, 16, 7, 7}, {2, 16, 7, 7}}, 1},
      {"DPN 4 inputs 64 + 16 + 16 + 16 channels, 1x..x14x14",
       {{1, 64, 14, 14}, {1, 16, 14, 14}, {1, 16, 14, 14}, {1, 16, 14, 14}}, 1},
      {"odd 4 inputs 1 + 7 + 3 + 13 channels on 3x..x5x3",
       {{3, 1, 5, 3}, {3, 7, 5, 3}, {3, 3, 5, 3}, {3, 13, 5, 3}}, 1},
      {"1x1 spatial 2 inputs 2x5x1x1 + 2x9x1x1", {{2, 5, 1, 1}, {2, 9, 1, 1}}, 1},
      {"single input 1x6x3x3 (a copy)", {{1, 6, 3, 3}}, 1},
  };
  std::uint32_t seed = 100;
  for (const ConcatCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_concat(c, seed++); }
  }
}

TEST_CASE("concat matches oracle: axes 0, 2, 3 and negative", "[kernel][concat]") {
  const std::vector<ConcatCase> cases{
      {"axis 0: batches 1 + 3 + 2 of 5x4x3", {{1, 5, 4, 3}, {3, 5, 4, 3}, {2, 5, 4, 3}}, 0},
      {"axis 2: heights 7 + 2 of 2x3x..x5", {{2, 3, 7, 5}, {2, 3, 2, 5}}, 2},
      {"axis 3 (innermost): widths 5 + 1 + 11 of 2x3x4x..", {{2, 3, 4, 5}, {2, 3, 4, 1}, {2, 3, 4, 11}}, 3},
      {"axis -1 on rank 2: 4x3 + 4x17", {{4, 3}, {4, 17}}, -1},
      {"axis -3 (channels of NCHW): 1x2x3x3 + 1x5x3x3", {{1, 2, 3, 3}, {1, 5, 3, 3}}, -3},
      {"axis -2 on rank 3: 3x1x7 + 3x4x7", {{3, 1, 7}, {3, 4, 7}}, -2},
  };
  std::uint32_t seed = 200;
  for (const ConcatCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_concat(c, seed++); }
  }
}

TEST_CASE("slice matches oracle: start, middle, tail, axes 1, 3 and negative", "[kernel][concat]") {
  const std::vector<SliceCase> cases{
      {"axis 1 start: first 64 of 96 channels (DPN residual part)", {2, 96, 5, 5}, {1, 0, 64}},
      {"axis 1 middle: channels [5, 12) of 17", {1, 17, 9, 11}, {1, 5, 7}},
      {"axis 1 tail: last 16 of 96 channels", {2, 96, 5, 5}, {1, 80, 16}},
      {"axis 1 single channel", {3, 7, 4, 4}, {1, 3, 1}},
      {"axis 1 whole axis", {1, 6, 3, 5}, {1, 0, 6}},
      {"axis 3 middle: columns [2, 9) of 13", {2, 3, 5, 13}, {3, 2, 7}},
      {"axis 3 tail: last column", {2, 3, 5, 13}, {3, 12, 1}},
      {"axis 0 middle: batch [1, 3) of 4", {4, 3, 2, 5}, {0, 1, 2}},
      {"axis -1 on rank 2: columns [10, 25) of 40", {6, 40}, {-1, 10, 15}},
      {"axis -3 (channels of NCHW): [2, 5) of 9", {2, 9, 4, 3}, {-3, 2, 3}},
  };
  std::uint32_t seed = 300;
  for (const SliceCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_slice(c, seed++); }
  }
}

TEST_CASE("concat then slice gives every input back bit for bit", "[kernel][concat]") {
  // Compares raw bits, not values: -0.0, a denormal and a NaN payload are planted in the inputs,
  // so a copy that went through float arithmetic (flushing denormals, canonicalizing NaN or
  // dropping the sign of zero) fails here even though the value metric would call it equal.
  struct Case {
    const char* name;
    std::vector<ops::Shape> inputs;
    std::int64_t axis;
  };
  const std::vector<Case> cases{
      {"DPN 64 + 16 + 16 channels along axis 1, 2x..x7x7", {{2, 64, 7, 7}, {2, 16, 7, 7}, {2, 16, 7, 7}}, 1},
      {"odd 3 + 1 + 5 along axis -1 of 2x3x5x..", {{2, 3, 5, 3}, {2, 3, 5, 1}, {2, 3, 5, 5}}, -1},
      {"axis 0: 1 + 2 of ..x4x3x3", {{1, 4, 3, 3}, {2, 4, 3, 3}}, 0},
  };
  const std::uint32_t planted[] = {0x80000000u /* -0.0 */, 0x00000001u /* smallest denormal */,
                                   0x7FC01234u /* quiet NaN with a payload */, 0xFF800000u /* -inf */};
  std::uint32_t seed = 400;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::mt19937 rng(seed);
      std::vector<std::vector<float>> values;
      std::vector<ops::Tensor> tensors;
      std::vector<const ops::Tensor*> ptrs;
      for (std::size_t i = 0; i < c.inputs.size(); ++i) {
        values.push_back(random_values(rng, ops::numel(c.inputs[i])));
        for (std::size_t j = 0; j < std::size(planted); ++j) {
          const std::size_t at = (j * 7 + i) % values.back().size();
          std::memcpy(&values.back()[at], &planted[j], sizeof(float));
        }
        tensors.push_back(upload(c.inputs[i], values.back(), fmt::format("x{}", i)));
      }
      for (const auto& t : tensors) ptrs.push_back(&t);
      const ops::Shape joined_shape = ops::concat_output_shape(c.inputs, c.axis);
      auto joined = output_tensor(joined_shape, "joined");
      run_kernel(joined, [&](gpu::Recorder& rec) {
        ops::encode_concat({device(), rec}, ptrs, c.axis, joined, "concat");
      });
      const std::int64_t axis = ops::normalize_axis(c.axis, joined_shape.size(), "test");
      std::int64_t start = 0;
      for (std::size_t i = 0; i < c.inputs.size(); ++i) {
        const ops::SliceParams p{c.axis, start, c.inputs[i][static_cast<std::size_t>(axis)]};
        start += p.length;
        auto part = output_tensor(c.inputs[i], "part");
        auto got = run_kernel(
            part, [&](gpu::Recorder& rec) { ops::encode_slice({device(), rec}, p, joined, part, "slice"); });
        INFO("input " << i << " of " << c.name << ": slice [" << p.start << ", " << p.start + p.length
                      << ") along axis " << c.axis);
        REQUIRE(got.size() == values[i].size());
        std::int64_t differing = 0;
        for (std::size_t e = 0; e < got.size(); ++e)
          if (std::memcmp(&got[e], &values[i][e], sizeof(float)) != 0) ++differing;
        CHECK(differing == 0);
        require_no_validation_messages();
      }
    }
    ++seed;
  }
}
