// BatchNorm (inference form) and every activation against the float64 oracle.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "reference/activation.hpp"
#include "reference/batchnorm.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

// BN statistics: gamma in [0.5, 1.5], beta in [-0.5, 0.5], mean in [-0.5, 0.5], var in
// [0.1, 2] except channel 0, which gets a tiny variance (1e-6) as dead channels do.
std::vector<float> bn_stats(std::mt19937& rng, std::int64_t c) {
  auto gamma = random_values(rng, c, 0.5f, 1.5f);
  auto beta = random_values(rng, c, -0.5f, 0.5f);
  auto mean = random_values(rng, c, -0.5f, 0.5f);
  auto var = random_values(rng, c, 0.1f, 2.0f);
  var[0] = 1e-6f;
  std::vector<float> s;
  for (auto* row : {&gamma, &beta, &mean, &var}) s.insert(s.end(), row->begin(), row->end());
  return s;
}

}  // namespace

TEST_CASE("batchnorm matches oracle over shapes and ranks", "[kernel][batchnorm]") {
  struct Case {
    const char* name;
    ops::Shape shape;
    float eps;
    ops::Activation act;
  };
  const std::vector<Case> cases{
      {"NCHW 1x3x5x7", {1, 3, 5, 7}, 1e-5f, {}},
      {"NCHW batch 2, 17 channels, Keras eps", {2, 17, 4, 3}, 1.001e-5f, {}},
      {"1x1 spatial", {1, 33, 1, 1}, 1e-3f, {}},
      {"rank 2 (BatchNorm1d)", {5, 9}, 1e-5f, {}},
      {"with relu", {1, 6, 8, 8}, 1e-5f, ops::Activation::relu()},
      {"with hard_swish", {1, 6, 8, 8}, 1e-5f, ops::Activation::hard_swish()},
  };
  std::uint32_t seed = 100;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::mt19937 rng(seed++);
      const std::int64_t ch = c.shape[1];
      auto x = random_values(rng, ops::numel(c.shape), -2.0f, 2.0f);
      auto s = bn_stats(rng, ch);
      ops::BatchNormParams p{ch, c.eps};
      auto tx = upload(c.shape, x, "x");
      auto ts = upload({4, ch}, s, "stats");
      auto ty = output_tensor(c.shape, "y");
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_batchnorm({device(), rec}, p, c.act, tx, ts, ty, c.name);
      });
      auto expected = reference::batchnorm(p, to_host(c.shape, x), to_host({4, ch}, s), c.act);
      // A handful of fp32 operations per element (sub, sqrt, div, mul, add): a few ulp, i.e.
      // ~1e-7 relative. Channel 0's scale of ~1000 amplifies the rounding of (x - mean) by
      // that factor in absolute terms only, so the relative bound holds; 1e-6 leaves margin.
      require_close("batchnorm", c.name, got, expected, 1e-6, 1e-6);
    }
  }
}

TEST_CASE("activations match oracle, including saturating ranges", "[kernel][activation]") {
  struct Case {
    ops::Activation act;
    double rel_l2;  // the stated tolerance and why
    const char* why;
  };
  const std::vector<Case> cases{
      {ops::Activation::relu(), 0.0, "exact: max(x, 0) rounds nothing"},
      {ops::Activation::relu6(), 0.0, "exact: min/max round nothing"},
      {ops::Activation::clip(-0.5f, 0.75f), 0.0, "exact"},
      {ops::Activation::leaky_relu(0.1f), 1e-7, "one fp32 multiply: half an ulp"},
      {ops::Activation::sigmoid(), 1e-6, "exp + add + divide in fp32: a few ulp"},
      {ops::Activation::hard_sigmoid(0.2f, 0.5f), 1e-6, "fma-or-not of alpha*x+beta: a few ulp"},
      {ops::Activation::hard_swish(), 1e-6, "divide, add, clamp, multiply: a few ulp"},
      {ops::Activation::silu(), 1e-6, "sigmoid's error plus one multiply"},
      {ops::Activation::tanh(), 1e-6, "driver tanh is a few ulp on [-10, 10]"},
      {ops::Activation::gelu(), 2e-6,
       "erf by Abramowitz-Stegun 7.1.26 has |error| <= 1.5e-7, scaled by x/2"},
      {ops::Activation::gelu_tanh(), 1e-6, "polynomial + tanh in fp32: a few ulp"},
      {ops::Activation::hard_swish_affine(1.75f, -0.25f), 1e-6,
       "hard_swish's few ulp, then the scale's product and the shift's sum, each rounded once"},
  };
  std::mt19937 rng(7);
  // Values across [-20, 20] hit the saturating tails of sigmoid/tanh/gelu; the exact zero
  // and the clip bounds sit in the data on purpose.
  auto x = random_values(rng, 4093, -20.0f, 20.0f);
  auto near = random_values(rng, 2048, -3.0f, 3.0f);
  x.insert(x.end(), near.begin(), near.end());
  x.insert(x.end(), {0.0f, -0.0f, 6.0f, -0.5f, 0.75f, 3.0f, -3.0f, 1e-30f, -88.0f, 88.0f});
  const ops::Shape shape{static_cast<std::int64_t>(x.size())};
  auto tx = upload(shape, x, "x");
  for (const Case& c : cases) {
    const std::string name = ops::to_string(c.act);
    DYNAMIC_SECTION(name) {
      auto ty = output_tensor(shape, "y");
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_activation({device(), rec}, c.act, tx, ty, name);
      });
      auto expected = reference::activation(to_host(shape, x), c.act);
      INFO("tolerance reason: " << c.why);
      require_close("activation", name, got, expected, c.rel_l2, std::max(c.rel_l2, 1e-6) * 4);
    }
  }
}
