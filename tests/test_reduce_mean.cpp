// ReduceMean against the float64 oracle: one table of shapes and axis subsets (spatial like a
// global pool, the channel axis, the last axis like a layer norm, non-adjacent axes, all axes,
// an axis of size 1, rank 1 and rank 6, more reduced elements than the workgroup has lanes,
// more outputs than one dispatch row holds), keepdims on and off, in fp32, fp16s and fp16; the
// same through the graph executor in both layouts; and bad axes rejected by name.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graph/executor.hpp"
#include "graph/oracle_runner.hpp"
#include "ops/half.hpp"
#include "ops/reduce_mean_gpu.hpp"
#include "reference/reduce_mean.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

using ops::Precision;

struct ReduceCase {
  const char* name;
  ops::Shape input;
  std::vector<std::int64_t> axes;
  bool keepdims;
};

const std::vector<ReduceCase> kCases{
    {"spatial {2,3} (global pool): 2x16x7x7", {2, 16, 7, 7}, {2, 3}, true},
    {"spatial {-2,-1}, no keepdims: 2x5x13x9", {2, 5, 13, 9}, {-2, -1}, false},
    {"channel {1}: 2x24x5x6", {2, 24, 5, 6}, {1}, true},
    {"last axis {-1} (layer norm): 3x49x96", {3, 49, 96}, {-1}, true},
    {"non-adjacent {0,2}, no keepdims: 3x4x5x6", {3, 4, 5, 6}, {0, 2}, false},
    {"non-adjacent {1,3}: 2x3x4x5", {2, 3, 4, 5}, {1, 3}, true},
    {"all axes (default), keepdims: 2x3x4x5", {2, 3, 4, 5}, {}, true},
    {"all axes (default), no keepdims -> [1]: 2x3x4x5", {2, 3, 4, 5}, {}, false},
    {"axis of size 1 {1}: 3x1x7", {3, 1, 7}, {1}, true},
    {"rank 1, 1000 elements", {1000}, {0}, false},
    {"rank 6 {0,3,5}: 2x1x3x2x5x3", {2, 1, 3, 2, 5, 3}, {0, 3, 5}, true},
    {"R 5000 > 128 lanes, odd rows: 3x5000 {1}", {3, 5000}, {1}, false},
    {"R 257: 4x257 {-1}", {4, 257}, {-1}, true},
    {"70000 outputs (dispatch folded into y): 70000x3 {1}", {70000, 3}, {1}, false},
};

// Inputs in [-0.25, 1], as the global pool's test: mostly positive, so each mean sits away from
// zero, with negatives so a sign bug shows. The kernel sums ceil(R / 128) strided terms per
// lane, then 7 tree levels and one divide: <= 40 + 7 + 1 = 48 roundings at R = 5000, each
// <= 2^-24 of a partial sum bounded by sum|x| ~ 1.13 |sum x|: <= 48 * 2^-24 * 1.13 = 3.2e-6
// relative. 5e-6 covers it; summing an element twice or dividing by the wrong count errs by
// >= 1/R relative (2e-4 at R = 5000), a wrong stride by O(1).
constexpr double kFp32 = 5e-6;
// fp16s and fp16 both sum and divide in fp32 (reduce_mean.comp) and round once to fp16:
// within u = 2^-11 of the fp32 result.
constexpr double kHalf = 1.0 / 2048.0 + kFp32;

std::vector<float> round_to_half(std::vector<float> v) {
  for (float& x : v) x = ops::half_to_float(ops::float_to_half(x));
  return v;
}

std::string describe(const ReduceCase& c) {
  return fmt::format("{} axes [{}] keepdims {}", ops::to_string(c.input), fmt::join(c.axes, ","), c.keepdims);
}

}  // namespace

TEST_CASE("reduce_mean matches oracle: axis subsets, keepdims, every precision", "[kernel][reduce_mean]") {
  std::uint32_t seed = 23000;
  for (Precision prec : {Precision::fp32, Precision::fp16s, Precision::fp16}) {
    for (const ReduceCase& c : kCases) {
      DYNAMIC_SECTION(ops::to_string(prec) << ": " << c.name) {
        std::mt19937 rng(seed);
        const ops::ReduceMeanParams p{c.axes, c.keepdims};
        const ops::DType dtype = prec == Precision::fp32 ? ops::DType::f32 : ops::DType::f16;
        auto x = random_values(rng, ops::numel(c.input), -0.25f, 1.0f);
        if (prec != Precision::fp32) x = round_to_half(x);
        const ops::Shape out = ops::reduce_mean_output_shape(p, c.input);
        auto tx = upload(c.input, x, "x", dtype);
        auto ty = output_tensor(out, "y", dtype);
        auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
          ops::encode_reduce_mean({device(), rec, prec}, p, tx, ty, c.name);
        });
        auto expected = reference::reduce_mean(p, to_host(c.input, x));
        REQUIRE(expected.shape == out);
        const double tol = prec == Precision::fp32 ? kFp32 : kHalf;
        require_close(fmt::format("reduce_mean {}", ops::to_string(prec)), describe(c), got, expected, tol, tol);
      }
      ++seed;
    }
  }
}

TEST_CASE("reduce_mean output shapes follow ONNX", "[kernel][reduce_mean]") {
  // Written out by hand from the ONNX ReduceMean definition.
  CHECK(ops::reduce_mean_output_shape({{2, 3}, true}, {2, 3, 4, 5}) == ops::Shape{2, 3, 1, 1});
  CHECK(ops::reduce_mean_output_shape({{-1}, false}, {2, 3, 4, 5}) == ops::Shape{2, 3, 4});
  CHECK(ops::reduce_mean_output_shape({{0, 2}, false}, {2, 3, 4, 5}) == ops::Shape{3, 5});
  CHECK(ops::reduce_mean_output_shape({{}, true}, {2, 3, 4}) == ops::Shape{1, 1, 1});
  CHECK(ops::reduce_mean_output_shape({{}, false}, {2, 3, 4}) == ops::Shape{1});
}

TEST_CASE("reduce_mean rejects bad axes by name", "[kernel][reduce_mean][bad-input]") {
  auto tx = upload({2, 3, 4}, std::vector<float>(24, 1.0f), "x");
  auto ty = output_tensor({2, 3, 1}, "y");
  auto encode = [&](std::vector<std::int64_t> axes) {
    gpu::Recorder rec(device(), "test");
    ops::encode_reduce_mean({device(), rec}, {std::move(axes), true}, tx, ty, "my_mean");
  };
  CHECK_THROWS_WITH(encode({3}), Catch::Contains("my_mean") && Catch::Contains("axis 3 is out of range"));
  CHECK_THROWS_WITH(encode({-4}), Catch::Contains("my_mean") && Catch::Contains("axis -4"));
  CHECK_THROWS_WITH(encode({2, -1}), Catch::Contains("my_mean") && Catch::Contains("listed twice"));
  // A wrong output shape is named too.
  CHECK_THROWS_WITH(encode({1}), Catch::Contains("my_mean") && Catch::Contains("output"));
  CHECK(reference::reduce_mean({{2}, true}, to_host({2, 3, 4}, std::vector<float>(24, 1.0f))).shape ==
        ops::Shape{2, 3, 1});
}

TEST_CASE("reduce_mean in a graph: NCHW and NHWC executors match the oracle", "[graph][layout][reduce_mean]") {
  // Under --layout nhwc the 4-D input lies as NHWC: the executor maps the axes; keepdims
  // outputs are NHWC too, the others row-major in their logical order.
  struct Case {
    const char* name;
    std::vector<std::int64_t> axes;
    bool keepdims;
  };
  const std::vector<Case> cases{
      {"spatial keepdims", {2, 3}, true},
      {"spatial dropped -> [N,C]", {2, 3}, false},
      {"channel keepdims -> [N,1,H,W]", {1}, true},
      {"channel dropped -> [N,H,W]", {1}, false},
      {"width keepdims", {-1}, true},
      {"all dropped -> [1]", {}, false},
  };
  const ops::Shape shape{2, 6, 5, 7};
  std::mt19937 rng(24000);
  const std::vector<float> x = random_values(rng, ops::numel(shape), -0.25f, 1.0f);
  for (const Case& c : cases) {
    for (graph::Layout layout : {graph::Layout::nchw, graph::Layout::nhwc}) {
      DYNAMIC_SECTION(c.name << " " << ops::to_string(layout)) {
        graph::Graph g("reduce");
        const graph::ValueId in = g.add_input("x", shape);
        const graph::ValueId r = g.add_node("relu", "", graph::ActivationAttrs{ops::Activation::relu()}, {in});
        const graph::ValueId m = g.add_node("mean", "", graph::ReduceMeanAttrs{{c.axes, c.keepdims}}, {r});
        g.mark_output(m);
        graph::Graph gc = g;
        const auto oracle = graph::run_oracle(gc, {{"x", x}});
        graph::ExecutorOptions eo;
        eo.layout = layout;
        graph::Executor exec(device(), g, eo);
        exec.set_input(x);
        exec.run();
        require_close("reduce_mean graph", fmt::format("{} {}", c.name, ops::to_string(layout)), exec.read("mean"),
                      oracle.at("mean"), kFp32, kFp32);
      }
    }
  }
}

TEST_CASE("reduce_mean under NHWC that would reorder the kept dims is a clear error", "[graph][layout][reduce_mean][bad-input]") {
  // Reducing the batch axis without keepdims keeps C, H, W: NHWC gives them as H, W, C.
  graph::Graph g("reduce");
  const graph::ValueId in = g.add_input("x", {2, 3, 4, 5});
  const graph::ValueId r = g.add_node("relu", "", graph::ActivationAttrs{ops::Activation::relu()}, {in});
  g.mark_output(g.add_node("batch_mean", "", graph::ReduceMeanAttrs{{{0}, false}}, {r}));
  graph::ExecutorOptions eo;
  eo.layout = graph::Layout::nhwc;
  CHECK_THROWS_WITH(graph::Executor(device(), g, eo),
                    Catch::Contains("batch_mean") && Catch::Contains("--layout nchw"));
  // The same graph runs under NCHW.
  CHECK_NOTHROW(graph::Executor(device(), g));
}
