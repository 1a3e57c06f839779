// --layout nhwc: the layout-aware kernels (conv2d with its epilogue, pool2d, global average
// pool) read and write NHWC memory under logical NCHW shapes, checked against the float64 oracle
// on the NCHW data (the test transposes on the host); and the executor stores every 4-D
// activation as NHWC yet agrees with an NCHW executor on every value of whole networks.
//
// Both layouts sum the same products in the same order (the shaders keep the NCHW loop order on
// purpose), so the two runs differ only where the shader compiler contracts a multiply-add into
// an FMA differently for the two specializations: a rounding of ~2^-24 relative per affected
// operation. The graph tolerances below are set from that and from the measured differences.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "graph/executor.hpp"
#include "models/zoo.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/winograd.hpp"
#include "ops/pool2d_gpu.hpp"
#include "reference/conv2d.hpp"
#include "reference/pool2d.hpp"
#include "ops/layout_transpose.hpp"
#include "test_support.hpp"
#include "workbench/kernel_cases.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

ops::Encoder encoder(gpu::Recorder& rec, ops::Layout layout,
                     ops::Precision precision = ops::Precision::fp32) {
  return ops::Encoder{device(), rec, precision, layout};
}



struct ConvCase {
  const char* name;
  ops::Shape input;
  ops::Conv2dParams p;
  bool batchnorm = false;
  bool residual = false;
  ops::Activation activation{};
};

// Each algorithm's fp32 bounds, as tests/test_conv2d.cpp holds it to (workbench/kernel_cases.hpp,
// where they are argued): five orders and more below a wrong NHWC index (O(0.1..1)).

// Both algorithms: direct and the implicit GEMM (its own tolerance argument in test_conv2d.cpp:
// the same bound).
void check_conv_nhwc(const ConvCase& c, std::uint32_t seed, ops::ConvAlgorithm algorithm) {
  std::mt19937 rng(seed);
  const ops::Conv2dParams& p = c.p;
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(w_shape[1] * w_shape[2] * w_shape[3]));
  const ops::Shape out_shape = ops::conv2d_output_shape(p, c.input);
  auto x = random_values(rng, ops::numel(c.input));
  auto w = random_values(rng, ops::numel(w_shape), -w_scale, w_scale);
  auto b = random_values(rng, p.out_channels);
  auto r = random_values(rng, ops::numel(out_shape));
  std::vector<float> stats;  // gamma, beta, mean, var rows
  for (float v : random_values(rng, p.out_channels, 0.5f, 1.5f)) stats.push_back(v);
  for (float v : random_values(rng, p.out_channels, -0.5f, 0.5f)) stats.push_back(v);
  for (float v : random_values(rng, p.out_channels, -0.5f, 0.5f)) stats.push_back(v);
  for (float v : random_values(rng, p.out_channels, 0.5f, 2.0f)) stats.push_back(v);

  ops::ConvEpilogue epi;
  epi.batchnorm = c.batchnorm;
  epi.bn.channels = p.out_channels;
  epi.residual = c.residual;
  epi.activation = c.activation;

  // Device tensors carry the logical shape; the bytes of x, residual and y are NHWC.
  ops::Tensor tx = upload(c.input, ops::nchw_to_nhwc(x, c.input), "x");
  ops::Tensor tw = upload(w_shape, w, "w");
  ops::Tensor tb = upload({p.out_channels}, b, "b");
  ops::Tensor ts = upload({4, p.out_channels}, stats, "bn");
  ops::Tensor tr = upload(out_shape, ops::nchw_to_nhwc(r, out_shape), "residual");
  ops::Tensor ty = output_tensor(out_shape, "y");
  const ops::Tensor tu = winograd_weights_for(algorithm, p, w);
  auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
    ops::Conv2dOperands o{&tx, &tw, p.has_bias ? &tb : nullptr, c.batchnorm ? &ts : nullptr,
                          c.residual ? &tr : nullptr, &ty, winograd_operand(tu)};
    ops::encode_conv2d(encoder(rec, ops::Layout::nhwc), p, epi, o, c.name, 0, algorithm);
  });
  auto hx = to_host(c.input, x), hw = to_host(w_shape, w), hb = to_host({p.out_channels}, b);
  auto hs = to_host({4, p.out_channels}, stats), hr = to_host(out_shape, r);
  auto expected = reference::conv2d_with_epilogue(p, epi, hx, hw, p.has_bias ? &hb : nullptr,
                                                  c.batchnorm ? &hs : nullptr,
                                                  c.residual ? &hr : nullptr);
  require_close(std::string(conv_kernel_name(algorithm)) + " nhwc",
                fmt::format("{} in {}", c.name, ops::to_string(c.input)),
                ops::nhwc_to_nchw(got, out_shape), expected, workbench::conv2d_tolerance(algorithm).rel_l2,
                workbench::conv2d_tolerance(algorithm).max_abs);
  require_no_validation_messages();
}


// A graph run in both layouts on the same input: every value the NCHW executor computes must be
// matched by the NHWC one (tap_all keeps them all readable).
struct LayoutDiff {
  double worst_rel_l2 = 0, worst_max_abs = 0;
  std::string worst_value;
  std::size_t values = 0;
};

LayoutDiff compare_layouts(const graph::Graph& g, ops::Precision precision, double rel_l2_max,
                           double max_abs_max, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const ops::Shape& in_shape = g.value(g.inputs()[0]).shape;
  const auto x = random_values(rng, ops::numel(in_shape));
  graph::ExecutorOptions nchw_opts;
  nchw_opts.precision = precision;
  nchw_opts.tap_all = true;
  graph::ExecutorOptions nhwc_opts = nchw_opts;
  nhwc_opts.layout = graph::Layout::nhwc;
  graph::Executor nchw(device(), g, nchw_opts);
  graph::Executor nhwc(device(), g, nhwc_opts);
  nchw.set_input(x);
  nhwc.set_input(x);
  nchw.run();
  nhwc.run();
  require_no_validation_messages();

  LayoutDiff d;
  for (const graph::Value& v : g.values()) {
    if (v.constant) continue;
    const std::vector<float> want = nchw.read(v.name);
    const std::vector<float> got = nhwc.read(v.name);
    const numerics::ErrorStats e = numerics::measure_error(got, want);
    ++d.values;
    if (e.rel_l2 >= d.worst_rel_l2) {
      d.worst_rel_l2 = e.rel_l2;
      d.worst_value = v.name;
    }
    d.worst_max_abs = std::max(d.worst_max_abs, e.max_abs / std::max(1.0, e.max_abs_expected));
    INFO(g.name() << " value " << v.name << " " << ops::to_string(v.shape));
    require_close(fmt::format("nhwc vs nchw {}", to_string(precision)), g.name() + " " + v.name, got,
                  to_host(v.shape, want), rel_l2_max, max_abs_max);
  }
  // Outputs again by name, so a graph whose outputs were skipped above would still fail.
  for (graph::ValueId out : g.outputs()) REQUIRE(nhwc.can_read(g.value(out).name));
  // And the NHWC run really stored its maps NHWC (else the comparison above proves nothing).
  for (const graph::Value& v : g.values()) {
    if (v.constant) continue;
    INFO(v.name << " " << ops::to_string(v.shape));
    CHECK(nhwc.stored_layout(v.name) == (v.shape.size() == 4 ? graph::Layout::nhwc : graph::Layout::nchw));
    CHECK(nchw.stored_layout(v.name) == graph::Layout::nchw);
  }
  WARN(fmt::format("{} {}: {} values, worst NHWC-vs-NCHW rel-L2 {:.3g} ({}), worst max-abs/scale {:.3g}",
                   g.name(), to_string(precision), d.values, d.worst_rel_l2, d.worst_value,
                   d.worst_max_abs));
  return d;
}

// NHWC against NCHW on whole networks, fp32. The kernels of both layouts evaluate identical
// expressions in identical order, so the only source of difference is FMA contraction chosen
// per specialization by the driver's compiler: ~1 ulp (6e-8) at an operation, propagated and
// possibly amplified by BN scales through ~50 layers. 1e-5 rel-L2 (and max-abs against the
// tensor's scale) allows that with a wide margin, yet is four orders below any layout mistake
// (a wrong axis, a transposed operand), which makes a value differ at O(1).
constexpr double kGraphRelL2 = 1e-5;
constexpr double kGraphMaxAbs = 1e-5;

bool has_fp16_storage() { return device().info().storage_16bit; }

}  // namespace

TEST_CASE("nhwc conv2d matches oracle: odd sizes, groups, stride, padding, dilation, epilogue",
          "[graph][layout][kernel][conv2d]") {
  ops::Conv2dParams asym = conv_params(3, 5, 3, 2);
  asym.pad_top = 0;
  asym.pad_left = 1;
  asym.pad_bottom = 1;
  asym.pad_right = 0;
  const std::vector<ConvCase> cases{
      {"1x1 spatial, 3x3 kernel pad 1", {1, 4, 1, 1}, conv_params(4, 6, 3, 1, 1)},
      {"odd 7x5 image, 5->7 channels", {1, 5, 7, 5}, conv_params(5, 7, 3, 1, 1)},
      {"17->33 channels 3x3 batch 2", {2, 17, 9, 11}, conv_params(17, 33, 3, 1, 1)},
      {"1x1 over 130 channels, no bias", {1, 130, 3, 5}, conv_params(130, 9, 1, 1, 0, 1, 1, false)},
      {"7x7 stride 2 stem on 23x23", {1, 3, 23, 23}, conv_params(3, 8, 7, 2, 3)},
      {"groups 3 odd channels stride 2", {1, 9, 5, 6}, conv_params(9, 15, 3, 2, 1, 1, 3)},
      {"depthwise 13 channels stride 2", {1, 13, 9, 9}, conv_params(13, 13, 3, 2, 1, 1, 13)},
      {"depthwise 5x5 dilation 2 batch 2", {2, 7, 12, 12}, conv_params(7, 7, 5, 1, 4, 2, 7)},
      {"32 groups like DPN", {1, 64, 6, 6}, conv_params(64, 64, 3, 1, 1, 1, 32)},
      {"dilation 3 no padding", {1, 2, 11, 9}, conv_params(2, 3, 3, 1, 0, 3)},
      {"padding 4 > kernel 3", {1, 2, 3, 3}, conv_params(2, 3, 3, 1, 4)},
      {"asymmetric padding (TF SAME, stride 2)", {1, 3, 8, 8}, asym},
      {"BN + relu epilogue", {1, 6, 7, 9}, conv_params(6, 10, 3, 1, 1, 1, 1, false), true, false,
       ops::Activation::relu()},
      {"bias + residual + relu (ResNet tail), batch 2", {2, 16, 7, 7}, conv_params(16, 32, 1), false, true,
       ops::Activation::relu()},
      {"BN + residual + hard_swish, grouped stride 2", {1, 8, 9, 7}, conv_params(8, 12, 3, 2, 1, 1, 4, false),
       true, true, ops::Activation::hard_swish()},
  };
  std::uint32_t seed = 8000;
  for (const ConvCase& c : cases) {
    for (ops::ConvAlgorithm a : ops::kConvAlgorithms) {
      if (ops::is_winograd(a) && !ops::winograd_applies(c.p)) continue;
      DYNAMIC_SECTION(c.name << " [" << ops::to_string(a) << "]") { check_conv_nhwc(c, seed, a); }
    }
    ++seed;
  }
}

TEST_CASE("nhwc pool2d and global average pool match oracle", "[graph][layout][kernel][pool]") {
  struct PoolCase {
    const char* name;
    ops::Shape input;
    ops::Pool2dParams p;
  };
  using ops::PoolKind;
  const std::vector<PoolCase> cases{
      {"max 3x3 stride 2 pad 1 (ResNet stem)", {2, 5, 11, 9}, ops::square_pool(ops::PoolKind::max, 3, 2, 1)},
      {"max 2x2 ceil mode odd", {1, 7, 7, 5}, ops::square_pool(ops::PoolKind::max, 2, 2, 0, true)},
      {"average 3x3 stride 1 pad 1 exclude pad", {1, 6, 5, 7}, ops::square_pool(ops::PoolKind::average, 3, 1, 1)},
      {"average 3x3 stride 2 pad 1 include pad", {2, 3, 9, 9}, ops::square_pool(ops::PoolKind::average, 3, 2, 1, false, true)},
      {"average 4x4 stride 4 (DPN head)", {1, 11, 8, 8}, ops::square_pool(ops::PoolKind::average, 4, 4)},
  };
  // Max picks a stored element: exact. Average sums <= 9 terms in fp32 and divides once:
  // 2e-6 as tests/test_pool.cpp.
  std::uint32_t seed = 8100;
  for (const PoolCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::mt19937 rng(seed);
      const ops::Shape out_shape = ops::pool2d_output_shape(c.p, c.input);
      auto x = random_values(rng, ops::numel(c.input));
      ops::Tensor tx = upload(c.input, ops::nchw_to_nhwc(x, c.input), "x");
      ops::Tensor ty = output_tensor(out_shape, "y");
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_pool2d(encoder(rec, ops::Layout::nhwc), c.p, tx, ty, c.name);
      });
      const double tol = c.p.kind == PoolKind::max ? 0.0 : 2e-6;
      require_close("pool2d nhwc", c.name, ops::nhwc_to_nchw(got, out_shape),
                    reference::pool2d(c.p, to_host(c.input, x)), tol, tol);
      require_no_validation_messages();
    }
    ++seed;
  }

  const std::vector<std::pair<const char*, ops::Shape>> gap_cases{
      {"1x1 plane", {1, 5, 1, 1}},
      {"odd 7x9, 13 channels, batch 2", {2, 13, 7, 9}},
      {"56x56 plane, 3 channels (more than one load per lane)", {1, 3, 56, 56}},
      {"2x2 plane, 300 channels", {1, 300, 2, 2}},
  };
  // fp32 tree sum of up to 3136 terms: 5e-6 as tests/test_pool.cpp.
  // Not a structured binding: the lambda below captures `name`, which clang-14 (the fuzz and
  // sanitizer builds' compiler) does not allow for a binding (C++20, implemented in clang 16).
  for (const auto& gap_case : gap_cases) {
    const auto& name = gap_case.first;
    const auto& shape = gap_case.second;
    DYNAMIC_SECTION("global average pool " << name) {
      std::mt19937 rng(seed);
      const ops::Shape out_shape = ops::global_average_pool_output_shape(shape);
      auto x = random_values(rng, ops::numel(shape));
      ops::Tensor tx = upload(shape, ops::nchw_to_nhwc(x, shape), "x");
      ops::Tensor ty = output_tensor(out_shape, "y");
      auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
        ops::encode_global_average_pool(encoder(rec, ops::Layout::nhwc), tx, ty, name);
      });
      // [N,C,1,1] and [N,1,1,C] are the same bytes: no transpose back.
      require_close("global_average_pool nhwc", name, got,
                    reference::global_average_pool(to_host(shape, x)), 5e-6, 5e-6);
      require_no_validation_messages();
    }
    ++seed;
  }
}

TEST_CASE("nhwc fp16s conv2d with BN epilogue equals the nchw fp16s kernel", "[graph][layout][kernel][fp16]") {
  if (!has_fp16_storage()) {
    WARN("device " << device().info().name << " has no storageBuffer16BitAccess: fp16s not tested");
    return;
  }
  using ops::Precision;
  std::mt19937 rng(8200);
  const ops::Conv2dParams p = conv_params(12, 20, 3, 2, 1, 1, 2, false);
  const ops::Shape in{2, 12, 9, 11};
  const ops::Shape out = ops::conv2d_output_shape(p, in);
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  auto x = random_values(rng, ops::numel(in));
  auto w = random_values(rng, ops::numel(w_shape), -0.2f, 0.2f);
  auto r = random_values(rng, ops::numel(out));
  std::vector<float> stats = random_values(rng, 20, 0.5f, 1.5f);
  for (float lo : {-0.5f, -0.5f, 0.5f}) {
    auto row = random_values(rng, 20, lo, lo + 1.0f);
    stats.insert(stats.end(), row.begin(), row.end());
  }
  ops::ConvEpilogue epi;
  epi.batchnorm = true;
  epi.bn.channels = 20;
  epi.residual = true;
  epi.activation = ops::Activation::relu();
  const auto f16 = ops::DType::f16;
  ops::Tensor tw = upload(w_shape, w, "w", f16), ts = upload({4, 20}, stats, "bn");
  auto run = [&](ops::Layout layout) {
    const bool nhwc = layout == ops::Layout::nhwc;
    ops::Tensor tx = upload(in, nhwc ? ops::nchw_to_nhwc(x, in) : x, "x", f16);
    ops::Tensor tr = upload(out, nhwc ? ops::nchw_to_nhwc(r, out) : r, "residual", f16);
    ops::Tensor ty = output_tensor(out, "y", f16);
    auto got = run_kernel(ty, [&](gpu::Recorder& rec) {
      ops::encode_conv2d(encoder(rec, layout, Precision::fp16s), p, epi, {&tx, &tw, nullptr, &ts, &tr, &ty},
                         "conv_bn_add_relu");
    });
    return nhwc ? ops::nhwc_to_nchw(got, out) : got;
  };
  const auto a = run(ops::Layout::nchw);
  const auto b = run(ops::Layout::nhwc);
  // Same fp32 accumulation in the same order, rounded to fp16 once: equal, or one fp16 rounding
  // apart (2^-11 relative) where FMA contraction nudged an fp32 sum across a rounding boundary.
  require_close("conv2d fp16s nhwc vs nchw", "conv_bn_add_relu", b, to_host(out, a), 5e-4, 1e-3);
  require_no_validation_messages();
}

TEST_CASE("nhwc executor agrees with nchw on conv_bn_layer, DPN-26 and Keras ResNet50", "[graph][layout]") {
  SECTION("conv_bn_layer grouped stride 2 relu6") {
    graph::Graph g = models::build_model("conv_bn_layer:filter_size=3,num_filters=24,stride=2,groups=4,act=relu6",
                                         {.batch = 2, .height = 17, .width = 13});
    compare_layouts(g, ops::Precision::fp32, kGraphRelL2, kGraphMaxAbs, 8300);
  }
  SECTION("dpn26 (concat and slice along channels, avg-pool + flatten head)") {
    graph::Graph g = models::build_model("dpn26", {.batch = 1, .height = 32, .width = 32});
    compare_layouts(g, ops::Precision::fp32, kGraphRelL2, kGraphMaxAbs, 8301);
  }
  SECTION("resnet50-keras at 64x64 (global pool + dense + softmax head)") {
    graph::Graph g = models::build_model("resnet50-keras", {.batch = 1, .height = 64, .width = 64});
    compare_layouts(g, ops::Precision::fp32, kGraphRelL2, kGraphMaxAbs, 8302);
  }
}

TEST_CASE("nhwc executor agrees with nchw in fp16s", "[graph][layout][fp16]") {
  if (!has_fp16_storage()) {
    WARN("device " << device().info().name << " has no storageBuffer16BitAccess: fp16s not tested");
    return;
  }
  // Every value is stored in fp16 in both runs; where FMA contraction makes an fp32 sum differ
  // by an ulp it can round to a neighbouring fp16 (2^-11 = 4.9e-4 relative) and that difference
  // propagates. A handful of such elements per tensor keeps rel-L2 far below 1e-3; a layout
  // mistake gives O(1).
  graph::Graph g = models::build_model("dpn26", {.batch = 1, .height = 32, .width = 32});
  compare_layouts(g, ops::Precision::fp16s, 1e-3, 2e-2, 8400);
}

TEST_CASE("nhwc executor maps axes, broadcasts and constants through the permutation", "[graph][layout]") {
  // Hand-built: a [C,1,1] per-channel scale, a [1,1,H,W] per-pixel map and a 4-D constant as
  // binary operands; slice and concat along H (logical axis 2, physical axis 1) and along C;
  // softmax over the channel axis; a tapped intermediate.
  graph::Graph g("layout-ops");
  const std::int64_t C = 5, H = 6, W = 7;
  std::mt19937 rng(8500);
  const graph::ValueId x = g.add_input("x", {2, C, H, W});
  const graph::ValueId scale = g.add_constant("scale", {C, 1, 1}, random_values(rng, C, 0.5f, 2.0f));
  const graph::ValueId pixel = g.add_constant("pixel", {1, 1, H, W}, random_values(rng, H * W));
  const graph::ValueId bias4 = g.add_constant("bias4", {1, C, H, W}, random_values(rng, C * H * W));
  graph::ValueId y = g.add_node("scaled", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {x, scale});
  y = g.add_node("shifted", "", graph::BinaryAttrs{ops::BinaryOp::add}, {y, pixel});
  y = g.add_node("biased", "", graph::BinaryAttrs{ops::BinaryOp::sub}, {bias4, y});
  const graph::ValueId top = g.add_node("top", "", graph::SliceAttrs{{2, 0, 2}}, {y});
  const graph::ValueId rest = g.add_node("rest", "", graph::SliceAttrs{{2, 2, H - 2}}, {y});
  const graph::ValueId swapped = g.add_node("swapped", "", graph::ConcatAttrs{2}, {rest, top});
  const graph::ValueId chans = g.add_node("chans", "", graph::SliceAttrs{{1, 1, 3}}, {swapped});
  const graph::ValueId joined = g.add_node("joined", "", graph::ConcatAttrs{-3}, {chans, y});
  const graph::ValueId probs = g.add_node("probs", "", graph::SoftmaxAttrs{{1}}, {joined});
  const graph::ValueId width_probs = g.add_node("width_probs", "", graph::SoftmaxAttrs{{-1}}, {joined});
  g.mark_output(probs);
  g.mark_output(width_probs);
  // Copies, a softmax over <= 8 terms and one multiply-add per element: both layouts compute the
  // same fp32 expressions, so 1e-6 (a few ulps of exp and division).
  const LayoutDiff d = compare_layouts(g, ops::Precision::fp32, 1e-6, 1e-6, 8501);
  CHECK(d.values == 11);  // x and the ten computed values
  graph::ExecutorOptions nhwc;
  nhwc.layout = graph::Layout::nhwc;
  graph::Executor e(device(), g, nhwc);
  CHECK(e.stored_layout("bias4") == graph::Layout::nhwc);  // a 4-D constant read as an activation
  CHECK(e.stored_layout("scale") == graph::Layout::nchw);  // [C,1,1]: its bytes are NHWC already
  // Constants read back in NCHW like everything else.
  CHECK(e.read("bias4") == g.value(bias4).data);
}

TEST_CASE("nhwc executor refuses to flatten a spatial NHWC map, naming the node", "[graph][layout][bad-input]") {
  graph::Graph g("flatten-2x2");
  const graph::ValueId x = g.add_input("x", {1, 3, 2, 2});
  // A computed map: an input read only by the flatten would keep its plain order (see
  // tests/test_transpose_pad_executor.cpp) and flatten correctly.
  const graph::ValueId r = g.add_node("relu", "head", graph::ActivationAttrs{ops::Activation::relu()}, {x});
  const graph::ValueId f = g.add_node("features", "head", graph::FlattenAttrs{}, {r});
  g.mark_output(f);
  graph::ExecutorOptions nhwc;
  nhwc.layout = graph::Layout::nhwc;
  REQUIRE_THROWS_WITH(graph::Executor(device(), g, nhwc),
                      Catch::Contains("features") && Catch::Contains("2x2 NHWC") &&
                          Catch::Contains("--layout nchw"));
  REQUIRE_NOTHROW(graph::Executor(device(), g, graph::ExecutorOptions{}));
  require_no_validation_messages();
}

TEST_CASE("nhwc executor keeps conv weights OIHW and refuses a constant used both ways", "[graph][layout][bad-input]") {
  graph::Graph g("shared-constant");
  std::mt19937 rng(8600);
  ops::Conv2dParams p = conv_params(2, 2, 1, 1, 0, 1, 1, false);
  const graph::ValueId x = g.add_input("x", {1, 2, 1, 1});
  const graph::ValueId w = g.add_constant("w", {2, 2, 1, 1}, random_values(rng, 4));
  const graph::ValueId y = g.add_node("conv", "", graph::ConvAttrs{p, {}, {}},
                                      {x, w, graph::kNoValue, graph::kNoValue, graph::kNoValue});
  graph::ExecutorOptions nhwc;
  nhwc.layout = graph::Layout::nhwc;
  {
    graph::Graph ok = g;
    ok.mark_output(y);
    graph::Executor e(device(), ok, nhwc);
    CHECK(e.stored_layout("w") == graph::Layout::nchw);
    CHECK(e.stored_layout("conv") == graph::Layout::nhwc);
  }
  const graph::ValueId z = g.add_node("add_weight", "", graph::BinaryAttrs{ops::BinaryOp::add}, {y, w});
  g.mark_output(z);
  REQUIRE_THROWS_WITH(graph::Executor(device(), g, nhwc),
                      Catch::Contains("'w'") && Catch::Contains("conv") && Catch::Contains("add_weight"));
  require_no_validation_messages();
}
