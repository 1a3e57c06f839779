#include "workbench/kernel_cases.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <tuple>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/recorder.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/winograd.hpp"
#include "ops/shape.hpp"
#include "ops/tensor.hpp"
#include "reference/conv2d.hpp"

namespace fusescope::workbench {

namespace {

std::vector<float> random_values(std::mt19937& rng, std::int64_t count, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

reference::HostTensor to_host(const ops::Shape& shape, const std::vector<float>& values) {
  return reference::HostTensor(shape, std::vector<double>(values.begin(), values.end()));
}

// square_conv_params under a short name, for the tables.
ops::Conv2dParams conv(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride = 1, std::int64_t pad = 0,
                       std::int64_t dilation = 1, std::int64_t groups = 1, bool bias = true) {
  return square_conv_params(c, oc, k, stride, pad, dilation, groups, bias);
}

// Seeds as the suite numbered them: each table from its base, one more per case.
std::vector<Conv2dCase> numbered(const std::string& group, std::uint32_t seed,
                                 std::vector<std::tuple<std::string, ops::Shape, ops::Conv2dParams>> cases) {
  std::vector<Conv2dCase> out;
  for (auto& [name, input, params] : cases) out.push_back({group, name, input, params, seed++});
  return out;
}

std::vector<Conv2dCase> shapes_table() {
  auto k1x5 = conv(3, 4, 1);
  k1x5.kernel_w = 5;
  k1x5.pad_left = k1x5.pad_right = 2;
  auto k5x1 = conv(3, 4, 1);
  k5x1.kernel_h = 5;
  k5x1.pad_top = k5x1.pad_bottom = 2;
  return numbered("shapes", 1000,
                  {{"1x1 spatial input, 1x1 kernel", {1, 3, 1, 1}, conv(3, 5, 1)},
                   {"1x1 spatial, 3x3 kernel pad 1", {1, 4, 1, 1}, conv(4, 6, 3, 1, 1)},
                   {"odd 7x5 image, 5->7 channels", {1, 5, 7, 5}, conv(5, 7, 3, 1, 1)},
                   {"17->33 channels 3x3", {1, 17, 9, 11}, conv(17, 33, 3, 1, 1)},
                   {"no bias", {1, 6, 8, 8}, conv(6, 10, 3, 1, 1, 1, 1, false)},
                   {"non-square 1x5 kernel", {1, 3, 6, 13}, k1x5},
                   {"non-square 5x1 kernel", {1, 3, 13, 6}, k5x1},
                   {"7x7 stride 2 stem on 23x23", {1, 3, 23, 23}, conv(3, 8, 7, 2, 3)},
                   {"large K: 128 channels 3x3", {1, 128, 6, 6}, conv(128, 9, 3, 1, 1)},
                   {"large K: 1x1 over 1152 channels", {1, 1152, 3, 3}, conv(1152, 5, 1)}});
}

std::vector<Conv2dCase> groups_table() {
  return numbered("groups", 2000,
                  {{"groups 2", {1, 6, 7, 7}, conv(6, 4, 3, 1, 1, 1, 2)},
                   {"groups 3 odd channels", {1, 9, 5, 6}, conv(9, 15, 3, 2, 1, 1, 3)},
                   {"depthwise 13 channels stride 2", {1, 13, 9, 9}, conv(13, 13, 3, 2, 1, 1, 13)},
                   {"depthwise multiplier 2", {1, 4, 8, 8}, conv(4, 8, 3, 1, 1, 1, 4)},
                   {"depthwise 5x5 dilation 2", {2, 7, 12, 12}, conv(7, 7, 5, 1, 4, 2, 7)},
                   {"32 groups like DPN", {1, 64, 6, 6}, conv(64, 64, 3, 1, 1, 1, 32)}});
}

std::vector<Conv2dCase> padding_table() {
  ops::Conv2dParams asym = conv(3, 5, 3, 2);
  asym.pad_top = 0;
  asym.pad_left = 1;
  asym.pad_bottom = 1;
  asym.pad_right = 0;
  ops::Conv2dParams mixed = conv(4, 6, 3, 1, 0, 1);
  mixed.stride_h = 1;
  mixed.stride_w = 3;
  mixed.dilation_h = 3;
  mixed.dilation_w = 1;
  mixed.pad_top = 2;
  return numbered("padding", 3000,
                  {{"dilation 2", {1, 3, 10, 10}, conv(3, 4, 3, 1, 2, 2)},
                   {"dilation 3 no padding", {1, 2, 11, 9}, conv(2, 3, 3, 1, 0, 3)},
                   {"stride 3 > kernel 1", {1, 5, 10, 10}, conv(5, 4, 1, 3)},
                   {"stride 3 > kernel 2", {1, 3, 11, 11}, conv(3, 4, 2, 3)},
                   {"padding 2 > kernel 1", {1, 3, 4, 5}, conv(3, 2, 1, 1, 2)},
                   {"padding 4 > kernel 3", {1, 2, 3, 3}, conv(2, 3, 3, 1, 4)},
                   {"asymmetric padding (TF SAME, stride 2)", {1, 3, 8, 8}, asym},
                   {"mixed stride/dilation per axis", {1, 4, 12, 10}, mixed}});
}

std::vector<Conv2dCase> batch_table() {
  return numbered("batch", 4000,
                  {{"batch 3", {3, 5, 6, 7}, conv(5, 6, 3, 1, 1)},
                   {"batch 4 strided 1x1 (downsample shortcut)", {4, 8, 8, 8}, conv(8, 16, 1, 2)},
                   {"batch 2 grouped", {2, 8, 5, 5}, conv(8, 8, 3, 1, 1, 1, 4)}});
}

std::vector<Conv2dCase> random_table() {
  std::mt19937 rng(20261125);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<std::tuple<std::string, ops::Shape, ops::Conv2dParams>> cases;
  while (cases.size() < 24) {
    ops::Conv2dParams p;
    p.groups = pick(0, 3) == 0 ? pick(1, 4) : 1;
    p.in_channels = p.groups * pick(1, 9);
    p.out_channels = p.groups * pick(1, 9);
    p.kernel_h = pick(1, 5);
    p.kernel_w = pick(1, 5);
    p.stride_h = pick(1, 3);
    p.stride_w = pick(1, 3);
    p.dilation_h = pick(1, 3);
    p.dilation_w = pick(1, 3);
    p.pad_top = pick(0, 3);
    p.pad_left = pick(0, 3);
    p.pad_bottom = pick(0, 3);
    p.pad_right = pick(0, 3);
    p.has_bias = pick(0, 1) == 1;
    ops::Shape in{pick(1, 3), p.in_channels, pick(1, 14), pick(1, 14)};
    try {
      ops::conv2d_output_shape(p, in);
    } catch (const ops::InvalidArgument&) {
      continue;  // the kernel does not fit the input: the bad-input tests cover that
    }
    cases.emplace_back(fmt::format("random #{}: k{}x{} s{}x{} d{}x{} p{},{},{},{} g{}", cases.size(), p.kernel_h,
                                   p.kernel_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.pad_top,
                                   p.pad_left, p.pad_bottom, p.pad_right, p.groups),
                       in, p);
  }
  return numbered("random", 5000, std::move(cases));
}

// 3x3 convs of stride 1, the ones Winograd F(2x2,3x3) and F(4x4,3x3) compute, where their tilings
// can go wrong: maps smaller than a tile or not a multiple of 2 or 4 (tiles past the edge: the
// maps' sizes cover every remainder mod 4), a 1x1 map (a 6x6 patch around one pixel), padding 0, 2 and
// asymmetric, groups (DPN's 32 of 4 channels) and depthwise, output channels that do not fill a
// block of 16, a deep reduction, batch > 1. Every algorithm runs them.
std::vector<Conv2dCase> winograd_table() {
  auto asymmetric = conv(5, 20, 3);
  asymmetric.pad_top = 0;
  asymmetric.pad_left = 1;
  asymmetric.pad_bottom = 2;
  asymmetric.pad_right = 0;
  return numbered("winograd", 6000,
                  {{"2x3 map, smaller than a tile", {1, 8, 2, 3}, conv(8, 16, 3, 1, 1)},
                   {"5x7 map, no padding", {1, 6, 5, 7}, conv(6, 12, 3, 1, 0)},
                   {"padding 2", {1, 4, 6, 6}, conv(4, 8, 3, 1, 2)},
                   {"asymmetric padding 0,1,2,0", {1, 5, 7, 9}, asymmetric},
                   {"32 groups of 4 channels", {1, 128, 7, 7}, conv(128, 128, 3, 1, 1, 1, 32)},
                   {"2 groups of 3 channels", {1, 6, 5, 5}, conv(6, 6, 3, 1, 1, 1, 2)},
                   {"depthwise 3x3", {1, 24, 9, 9}, conv(24, 24, 3, 1, 1, 1, 24)},
                   {"256 -> 40 channels on 14x14", {1, 256, 14, 14}, conv(256, 40, 3, 1, 1)},
                   {"batch 2, 9 -> 33 channels on 11x13", {2, 9, 11, 13}, conv(9, 33, 3, 1, 1)},
                   {"deep: 512 -> 24 channels on 4x4", {1, 512, 4, 4}, conv(512, 24, 3, 1, 1, 1, 1, false)},
                   {"1x1 map", {1, 8, 1, 1}, conv(8, 16, 3, 1, 1)}});
}

}  // namespace

ops::Conv2dParams square_conv_params(std::int64_t c, std::int64_t oc, std::int64_t k, std::int64_t stride,
                                     std::int64_t pad, std::int64_t dilation, std::int64_t groups, bool bias) {
  ops::Conv2dParams p;
  p.in_channels = c;
  p.out_channels = oc;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.dilation_h = p.dilation_w = dilation;
  p.groups = groups;
  p.has_bias = bias;
  return p;
}

Conv2dTolerance conv2d_tolerance(ops::ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ops::ConvAlgorithm::winograd: return {kConv2dWinogradRelL2, kConv2dWinogradMaxAbs};
    case ops::ConvAlgorithm::winograd4: return {kConv2dWinograd4RelL2, kConv2dWinograd4MaxAbs};
    default: return {kConv2dRelL2, kConv2dMaxAbs};
  }
}

std::vector<std::string> conv2d_case_groups() {
  return {"shapes", "groups", "padding", "batch", "random", "winograd"};
}

std::vector<Conv2dCase> conv2d_cases(const std::string& group) {
  std::vector<Conv2dCase> out;
  auto add = [&](std::vector<Conv2dCase> cases) { out.insert(out.end(), cases.begin(), cases.end()); };
  if (group == "all" || group == "shapes") add(shapes_table());
  if (group == "all" || group == "groups") add(groups_table());
  if (group == "all" || group == "padding") add(padding_table());
  if (group == "all" || group == "batch") add(batch_table());
  if (group == "all" || group == "random") add(random_table());
  if (group == "all" || group == "winograd") add(winograd_table());
  return out;
}

KernelCaseResult run_conv2d_case(gpu::Device& device, const Conv2dCase& c, ops::ConvAlgorithm algorithm,
                                 std::shared_ptr<const gpu::ShaderOverride> kernel_override) {
  std::mt19937 rng(c.seed);
  const ops::Conv2dParams& p = c.params;
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  const float w_scale = 1.0f / std::sqrt(static_cast<float>(w_shape[1] * w_shape[2] * w_shape[3]));
  const std::vector<float> x = random_values(rng, ops::numel(c.input));
  const std::vector<float> w = random_values(rng, ops::numel(w_shape), -w_scale, w_scale);
  const std::vector<float> b = random_values(rng, p.out_channels);
  const ops::Shape out_shape = ops::conv2d_output_shape(p, c.input, c.name);

  KernelCaseResult r;
  r.name = c.name;
  r.shape = fmt::format("in {} out {}", ops::to_string(c.input), ops::to_string(out_shape));
  const Conv2dTolerance tol = conv2d_tolerance(algorithm);
  r.rel_l2_limit = tol.rel_l2;

  const reference::HostTensor hb = to_host({p.out_channels}, b);
  const reference::HostTensor expected =
      reference::conv2d(p, to_host(c.input, x), to_host(w_shape, w), p.has_bias ? &hb : nullptr);
  std::vector<float> got;
  try {
    ops::Tensor tx = ops::upload_tensor(device, c.input, x, "x");
    ops::Tensor tw = ops::upload_tensor(device, w_shape, w, "w");
    ops::Tensor tb = ops::upload_tensor(device, {p.out_channels}, b, "b");
    ops::Tensor ty = ops::make_tensor(device, out_shape, "y");
    ops::Tensor tu;  // winograd's weights, transformed as the executor does at load
    if (const int tile = ops::winograd_tile(algorithm); tile != 0 && ops::winograd_applies(p))
      tu = ops::upload_tensor(device, ops::winograd_weight_shape(p, tile), ops::winograd_weights(p, w, tile, c.name),
                              "w:winograd");
    gpu::Recorder recorder(device, "kernel-check");
    recorder.fill(ty.buffer, ops::kPoisonWord);  // an element the kernel never writes stays NaN
    ops::Encoder enc{device, recorder};
    enc.kernel_override = std::move(kernel_override);
    ops::Conv2dOperands o;
    o.input = &tx;
    o.weight = &tw;
    o.bias = p.has_bias ? &tb : nullptr;
    o.output = &ty;
    if (tu.numel() > 0) o.winograd_weight = &tu;
    ops::encode_conv2d(enc, p, {}, o, c.name, 0, algorithm);
    recorder.submit_and_wait();
    for (const gpu::DispatchTiming& t : recorder.timings()) r.gpu_ms += t.gpu_ms;
    got = ops::download_tensor(device, ty);
  } catch (const gpu::DeviceLimit& e) {
    r.failure = e.what();
    return r;
  }
  r.error = numerics::measure_error(got, expected.data);
  r.max_abs_limit = tol.max_abs * std::max(1.0, r.error.max_abs_expected);
  r.pass = r.error.non_finite == 0 && r.error.rel_l2 <= r.rel_l2_limit && r.error.max_abs <= r.max_abs_limit;
  r.output = std::move(got);
  return r;
}

}  // namespace fusescope::workbench
