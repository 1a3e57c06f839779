// The op variants ONNX's backend node tests (libonnx-testdata, run by the onnx_conformance CTest
// tests) found missing, which real exports use too (issue 13): Gemm with alpha, beta, transA and
// a [M, N] or [M, 1] bias; MatMul of an N-D activation by a constant; 1-D Conv, ConvTranspose
// and pools (run as N x C x 1 x W); models at opsets 7 and 8 where the op did not change. Each
// small model is checked two ways: every node on the device against the float64 oracle running
// the same imported graph, and the output against the ONNX formula computed here in float64
// (the oracle alone would agree with a wrong conversion).
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "graph/executor.hpp"
#include "io/onnx_import.hpp"
#include "onnx_test_model.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;
using namespace fusescope::testing::onnx_model;

namespace {

// fp32 kernels against float64 formulas over at most a few dozen products of values in [-1, 1]:
// a few ulps of the sums, far under 1e-5; a wrong alpha, a missing bias row or a shifted window
// errs by >= 0.01.
constexpr double kTolerance = 1e-5;

std::vector<float> run_device(const graph::Graph& g, const std::vector<float>& x) {
  graph::Executor exec(device(), g);
  exec.set_input(x);
  exec.run();
  return exec.read(g.value(g.outputs()[0]).name);
}

// Imports `m`, checks the output shape, every node against the oracle, and the output against
// `expected` (the formula in float64).
void require_model_computes(OnnxModel& m, const std::string& what, const ops::Shape& in_shape,
                            const ops::Shape& out_shape, const std::vector<float>& x,
                            const std::vector<double>& expected) {
  TempDir dir;
  const graph::Graph g = io::import_onnx(m.write(dir));
  REQUIRE(g.value(g.outputs()[0]).shape == out_shape);
  REQUIRE(g.value(g.inputs()[0]).shape == in_shape);
  require_every_node_matches_oracle(g, "onnx import", what, kTolerance, {.seed = 71});
  require_close("onnx import", what + " vs formula", run_device(g, x),
                reference::HostTensor(out_shape, expected), kTolerance, kTolerance);
}

std::vector<float> seeded(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  return random_values(rng, n, -1.0f, 1.0f);
}

}  // namespace

TEST_CASE("ONNX Gemm: alpha, beta, transA and a bias that is not per output", "[onnx][gemm]") {
  const std::int64_t M = 3, K = 5, N = 4;
  const std::vector<float> b = seeded(K * N, 1);
  struct Case {
    const char* name;
    bool trans_a;
    float alpha, beta;
    ops::Shape c_shape;  // empty: no C
  };
  const std::vector<Case> cases{
      {"alpha 0.5 (conformance gemm_alpha)", false, 0.5f, 1.0f, {N}},
      {"beta 0.25 with a per-output bias", false, 1.0f, 0.25f, {1, N}},
      {"transA (conformance gemm_transposeA)", true, 1.0f, 1.0f, {N}},
      {"[M, N] bias (conformance gemm_default_matrix_bias)", false, 1.0f, 1.0f, {M, N}},
      {"[M, 1] bias, alpha 0.25, beta 0.35, transA (gemm_all_attributes' kind)", true, 0.25f, 0.35f, {M, 1}},
      {"scalar bias, beta 2", false, 1.0f, 2.0f, {}},
      {"no bias, alpha -1.5", false, -1.5f, 1.0f, {0}},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      OnnxModel m(13);
      const ops::Shape a_shape = c.trans_a ? ops::Shape{K, M} : ops::Shape{M, K};
      m.input("A", a_shape);
      m.initializer("B", {K, N}, b);
      const bool has_c = !(c.c_shape.size() == 1 && c.c_shape[0] == 0);
      std::vector<float> cv;
      if (has_c) {
        cv = seeded(c.c_shape.empty() ? 1 : ops::numel(c.c_shape), 2);
        m.initializer("C", c.c_shape, cv);
      }
      auto& n = m.node("Gemm", "gemm", has_c ? std::vector<std::string>{"A", "B", "C"} : std::vector<std::string>{"A", "B"},
                       {"Y"});
      set_attr(n, "alpha", c.alpha);
      set_attr(n, "beta", c.beta);
      if (c.trans_a) set_attr(n, "transA", std::int64_t{1});
      m.output("Y");
      const std::vector<float> a = seeded(M * K, 3);
      std::vector<double> expected(static_cast<std::size_t>(M * N));
      for (std::int64_t i = 0; i < M; ++i) {
        for (std::int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (std::int64_t k = 0; k < K; ++k) {
            const double av = c.trans_a ? a[static_cast<std::size_t>(k * M + i)] : a[static_cast<std::size_t>(i * K + k)];
            s += av * b[static_cast<std::size_t>(k * N + j)];
          }
          double bias = 0;
          if (has_c) {
            const std::int64_t rows = c.c_shape.size() == 2 ? c.c_shape[0] : 1;
            const std::int64_t cols = c.c_shape.empty() ? 1 : c.c_shape.back();
            bias = cv[static_cast<std::size_t>((rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j))];
          }
          expected[static_cast<std::size_t>(i * N + j)] = c.alpha * s + c.beta * bias;
        }
      }
      require_model_computes(m, fmt::format("gemm {}", c.name), a_shape, {M, N}, a, expected);
    }
  }
  SECTION("a bias C that does not broadcast to [M, N] is refused naming its shape") {
    OnnxModel m(13);
    m.input("A", {M, K});
    m.initializer("B", {K, N}, b);
    m.initializer("C", {2, N}, seeded(2 * N, 4));
    m.node("Gemm", "gemm", {"A", "B", "C"}, {"Y"});
    m.output("Y");
    TempDir dir;
    const std::string msg = message_of([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("gemm") && Catch::Contains("2x4"));
  }
}

TEST_CASE("ONNX MatMul: an N-D activation by a constant [K, N] or [K]", "[onnx][matmul]") {
  const std::int64_t K = 5, N = 3;
  const ops::Shape a_shape{2, 3, 4, K};
  const std::vector<float> a = seeded(ops::numel(a_shape), 5);
  const std::int64_t rows = ops::numel(a_shape) / K;
  for (const bool vector_b : {false, true}) {
    SECTION(vector_b ? "B [K]: the last axis is reduced away" : "B [K, N] (ConvNeXt's channels-last Linear)") {
      OnnxModel m(13);
      m.input("A", a_shape);
      const std::int64_t n = vector_b ? 1 : N;
      const std::vector<float> b = seeded(K * n, 6);
      m.initializer("B", vector_b ? ops::Shape{K} : ops::Shape{K, N}, b);
      m.node("MatMul", "matmul", {"A", "B"}, {"Y"});
      m.output("Y");
      std::vector<double> expected;
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::int64_t k = 0; k < K; ++k)
            s += static_cast<double>(a[static_cast<std::size_t>(r * K + k)]) * b[static_cast<std::size_t>(k * n + j)];
          expected.push_back(s);
        }
      }
      const ops::Shape out = vector_b ? ops::Shape{2, 3, 4} : ops::Shape{2, 3, 4, N};
      require_model_computes(m, vector_b ? "matmul 4-D x [K]" : "matmul 4-D x [K, N]", a_shape, out, a, expected);
    }
  }
  SECTION("a batched B (conformance matmul_3d) is refused naming the batched matmul") {
    OnnxModel m(13);
    m.input("A", {2, 3, K});
    m.initializer("B", {2, K, N}, seeded(2 * K * N, 7));
    m.node("MatMul", "matmul", {"A", "B"}, {"Y"});
    m.output("Y");
    TempDir dir;
    CHECK_THAT(message_of([&] { io::import_onnx(m.write(dir)); }), Catch::Contains("batched matmul"));
  }
}

TEST_CASE("ONNX 1-D Conv, ConvTranspose, MaxPool and AveragePool run as N x C x 1 x W", "[onnx][conv1d]") {
  const std::int64_t C = 2, W = 9;
  const std::vector<float> x = seeded(C * W, 8);
  auto xat = [&](std::int64_t c, std::int64_t i) { return static_cast<double>(x[static_cast<std::size_t>(c * W + i)]); };
  SECTION("Conv: kernel 3, stride 2, pads 1 and 2, dilation 2, bias") {
    const std::int64_t O = 3, k = 3, s = 2, pb = 1, pe = 2, d = 2;
    const std::vector<float> w = seeded(O * C * k, 9), bias = seeded(O, 10);
    OnnxModel m(13);
    m.input("X", {1, C, W});
    m.initializer("W", {O, C, k}, w);
    m.initializer("B", {O}, bias);
    auto& n = m.node("Conv", "conv", {"X", "W", "B"}, {"Y"});
    set_attr(n, "kernel_shape", std::vector<std::int64_t>{k});
    set_attr(n, "strides", std::vector<std::int64_t>{s});
    set_attr(n, "pads", std::vector<std::int64_t>{pb, pe});
    set_attr(n, "dilations", std::vector<std::int64_t>{d});
    m.output("Y");
    const std::int64_t out = (W + pb + pe - ((k - 1) * d + 1)) / s + 1;
    std::vector<double> expected;
    for (std::int64_t o = 0; o < O; ++o) {
      for (std::int64_t i = 0; i < out; ++i) {
        double acc = bias[static_cast<std::size_t>(o)];
        for (std::int64_t c = 0; c < C; ++c) {
          for (std::int64_t t = 0; t < k; ++t) {
            const std::int64_t p = i * s - pb + t * d;
            if (p >= 0 && p < W) acc += xat(c, p) * w[static_cast<std::size_t>((o * C + c) * k + t)];
          }
        }
        expected.push_back(acc);
      }
    }
    require_model_computes(m, "conv 1-D", {1, C, W}, {1, O, out}, x, expected);
  }
  SECTION("ConvTranspose: kernel 3, stride 2 (conformance convtranspose_1d's kind)") {
    const std::int64_t O = 2, k = 3, s = 2;
    const std::vector<float> w = seeded(C * O * k, 11);
    OnnxModel m(13);
    m.input("X", {1, C, W});
    m.initializer("W", {C, O, k}, w);
    auto& n = m.node("ConvTranspose", "deconv", {"X", "W"}, {"Y"});
    set_attr(n, "strides", std::vector<std::int64_t>{s});
    m.output("Y");
    const std::int64_t out = (W - 1) * s + k;
    std::vector<double> expected(static_cast<std::size_t>(O * out), 0.0);
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < W; ++i)
        for (std::int64_t o = 0; o < O; ++o)
          for (std::int64_t t = 0; t < k; ++t)
            expected[static_cast<std::size_t>(o * out + i * s + t)] += xat(c, i) * w[static_cast<std::size_t>((c * O + o) * k + t)];
    require_model_computes(m, "conv transpose 1-D", {1, C, W}, {1, O, out}, x, expected);
  }
  for (const bool max : {true, false}) {
    SECTION(max ? "MaxPool: kernel 3, stride 2, pads 2 and 1" : "AveragePool: kernel 3, stride 2, pads 2 and 1") {
      const std::int64_t k = 3, s = 2, pb = 2, pe = 1;
      OnnxModel m(13);
      m.input("X", {1, C, W});
      auto& n = m.node(max ? "MaxPool" : "AveragePool", "pool", {"X"}, {"Y"});
      set_attr(n, "kernel_shape", std::vector<std::int64_t>{k});
      set_attr(n, "strides", std::vector<std::int64_t>{s});
      set_attr(n, "pads", std::vector<std::int64_t>{pb, pe});
      m.output("Y");
      const std::int64_t out = (W + pb + pe - k) / s + 1;
      std::vector<double> expected;
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t i = 0; i < out; ++i) {
          double best = -INFINITY, sum = 0;
          int count = 0;
          for (std::int64_t t = 0; t < k; ++t) {
            const std::int64_t p = i * s - pb + t;
            if (p < 0 || p >= W) continue;  // padding: never the max, not counted (count_include_pad 0)
            best = std::max(best, xat(c, p));
            sum += xat(c, p);
            ++count;
          }
          expected.push_back(max ? best : sum / count);
        }
      }
      require_model_computes(m, max ? "max pool 1-D" : "average pool 1-D", {1, C, W}, {1, C, out}, x, expected);
    }
  }
}

TEST_CASE("ONNX opsets 7 and 8 import where the op did not change; older versions are refused by name",
          "[onnx][opset]") {
  const std::vector<float> w = seeded(2 * 2 * 3 * 3, 12), shift = seeded(2, 13);
  auto conv_relu_add = [&](std::int64_t opset) {
    OnnxModel m(opset);
    m.input("X", {1, 2, 5, 5});
    m.initializer("W", {2, 2, 3, 3}, w);
    m.initializer("S", {1, 2, 1, 1}, shift);
    auto& c = m.node("Conv", "conv", {"X", "W"}, {"c"});
    set_attr(c, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    m.node("Relu", "relu", {"c"}, {"r"});
    m.node("Add", "add", {"r", "S"}, {"Y"});
    m.output("Y");
    return m;
  };
  const std::vector<float> x = seeded(2 * 5 * 5, 14);
  std::vector<double> expected;
  for (std::int64_t o = 0; o < 2; ++o) {
    for (std::int64_t i = 0; i < 5; ++i) {
      for (std::int64_t j = 0; j < 5; ++j) {
        double acc = 0;
        for (std::int64_t c = 0; c < 2; ++c)
          for (std::int64_t u = 0; u < 3; ++u)
            for (std::int64_t v = 0; v < 3; ++v) {
              const std::int64_t y = i - 1 + u, z = j - 1 + v;
              if (y >= 0 && y < 5 && z >= 0 && z < 5)
                acc += static_cast<double>(x[static_cast<std::size_t>((c * 5 + y) * 5 + z)]) *
                       w[static_cast<std::size_t>(((o * 2 + c) * 3 + u) * 3 + v)];
            }
        expected.push_back(std::max(acc, 0.0) + shift[static_cast<std::size_t>(o)]);
      }
    }
  }
  for (const std::int64_t opset : {7, 8}) {
    SECTION(fmt::format("opset {}: Conv-1, Relu-6, Add-7", opset)) {
      OnnxModel m = conv_relu_add(opset);
      require_model_computes(m, fmt::format("opset {} conv relu add", opset), {1, 2, 5, 5}, {1, 2, 5, 5}, x, expected);
    }
  }
  SECTION("opset 6: Add-6 (the legacy broadcast attribute) is refused naming Add and the opsets") {
    OnnxModel m = conv_relu_add(6);
    TempDir dir;
    const std::string msg = message_of([&] { io::import_onnx(m.write(dir)); });
    CHECK_THAT(msg, Catch::Contains("(Add)") && Catch::Contains("opset 6") && Catch::Contains("opsets 7 to 17"));
  }
}
