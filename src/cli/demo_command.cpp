// `fusescope demo`: one conv+BN+ReLU block (PaddlePaddle's conv_bn_layer: conv without bias,
// BatchNorm, ReLU) run four ways on the chosen device and judged against the float64 oracle:
//   unfused          conv -> BN -> ReLU, three dispatches
//   run-time fused   one dispatch, BN applied in the conv's epilogue from the raw statistics
//   folded float64   BN folded into W', b' in double, rounded once; conv + bias + ReLU
//   folded float32   the same in PyTorch's float32 order (fuse_conv_bn_weights)
// The BatchNorm has one channel with a tiny running variance, as trained networks often do
// (dead or near-constant channels); its scale gamma/sqrt(var+eps) is large, which is where the
// two folding orders part ways.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "cli/commands.hpp"
#include "fusion/fold_batchnorm.hpp"
#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "numerics/error_metrics.hpp"
#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "ops/conv2d_gpu.hpp"
#include "reference/activation.hpp"
#include "reference/batchnorm.hpp"
#include "reference/conv2d.hpp"
#include "workbench/model_source.hpp"

namespace fusescope::cli {

namespace {

struct DemoOptions {
  int channels = 32;
  int filters = 64;
  std::string size = "56x56";  // HxW, or one number for a square, like every model command
  int kernel = 3;
  std::uint32_t seed = 7;
};

struct VariantResult {
  std::string name;
  std::size_t dispatches = 0;
  double gpu_ms = 0;
  numerics::ErrorStats vs_oracle;
  numerics::ErrorStats vs_unfused;
};

std::vector<float> uniform(std::mt19937& rng, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

int run_demo(const GlobalOptions& global, const DemoOptions& opt) {
  std::int64_t height = 0, width = 0;
  workbench::parse_size(opt.size, height, width);
  if (height > 1024 || width > 1024) {
    throw ops::InvalidArgument(fmt::format("--size {}: the demo's block takes at most 1024x1024", opt.size));
  }
  gpu::DeviceOptions dopt;
  if (global.device) dopt.index = static_cast<std::uint32_t>(*global.device);
  dopt.validation = global.validation;
  gpu::Device device(dopt);

  ops::Conv2dParams conv;
  conv.in_channels = opt.channels;
  conv.out_channels = opt.filters;
  conv.kernel_h = conv.kernel_w = opt.kernel;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = (opt.kernel - 1) / 2;
  conv.has_bias = false;  // conv_bn_layer: bias_attr=False, the BN carries the shift
  const ops::Shape in_shape{1, opt.channels, height, width};
  const ops::Shape w_shape = ops::conv2d_weight_shape(conv);
  const ops::Shape out_shape = ops::conv2d_output_shape(conv, in_shape, "demo conv");
  const std::int64_t oc = conv.out_channels;

  std::mt19937 rng(opt.seed);
  const float fan_in = static_cast<float>(w_shape[1] * w_shape[2] * w_shape[3]);
  auto x = uniform(rng, ops::numel(in_shape), -1.0f, 1.0f);
  auto w = uniform(rng, ops::numel(w_shape), -std::sqrt(3.0f / fan_in), std::sqrt(3.0f / fan_in));
  fusion::BatchNormStatistics bn;
  bn.epsilon = 1e-5f;
  bn.gamma = uniform(rng, oc, 0.5f, 1.5f);
  bn.beta = uniform(rng, oc, -0.5f, 0.5f);
  bn.mean = uniform(rng, oc, -0.2f, 0.2f);
  bn.var = uniform(rng, oc, 0.5f, 2.0f);
  bn.var[3 % oc] = 1e-7f;  // a near-dead channel: scale ~ 1/sqrt(1e-5) ~ 316
  std::vector<float> stats;
  for (const auto* row : {&bn.gamma, &bn.beta, &bn.mean, &bn.var})
    stats.insert(stats.end(), row->begin(), row->end());

  // The judge: float64 oracle of the unfused chain.
  reference::HostTensor hx(in_shape, {x.begin(), x.end()});
  reference::HostTensor hw(w_shape, {w.begin(), w.end()});
  reference::HostTensor hstats({4, oc}, {stats.begin(), stats.end()});
  ops::BatchNormParams bnp{oc, bn.epsilon};
  const reference::HostTensor oracle = reference::activation(
      reference::batchnorm(bnp, reference::conv2d(conv, hx, hw, nullptr), hstats),
      ops::Activation::relu());

  auto tx = ops::upload_tensor(device, in_shape, x, "input");
  auto tw = ops::upload_tensor(device, w_shape, w, "weight");
  auto tstats = ops::upload_tensor(device, {4, oc}, stats, "bn-statistics");
  auto tmp1 = ops::make_tensor(device, out_shape, "conv-out");
  auto tmp2 = ops::make_tensor(device, out_shape, "bn-out");
  auto ty = ops::make_tensor(device, out_shape, "output");

  auto run = [&](const std::string& name, auto&& encode) {
    gpu::Recorder rec(device, name);
    encode(rec);
    rec.submit_and_wait();  // first run compiles nothing new (kernels built while encoding)
    rec.submit_and_wait();  // second run: the timing we report
    VariantResult r;
    r.name = name;
    r.dispatches = rec.dispatch_count();
    for (const auto& t : rec.timings()) r.gpu_ms += t.gpu_ms;
    auto y = ops::download_tensor(device, ty);
    r.vs_oracle = numerics::measure_error(y, oracle.data);
    return std::make_pair(r, y);
  };

  auto [unfused, y_unfused] = run("unfused conv -> BN -> ReLU", [&](gpu::Recorder& rec) {
    ops::Conv2dOperands o{&tx, &tw, nullptr, nullptr, nullptr, &tmp1};
    ops::encode_conv2d({device, rec}, conv, {}, o, "conv");
    ops::encode_batchnorm({device, rec}, bnp, {}, tmp1, tstats, tmp2, "bn");
    ops::encode_activation({device, rec}, ops::Activation::relu(), tmp2, ty, "relu");
  });
  std::vector<VariantResult> results{unfused};
  results[0].vs_unfused = numerics::measure_error(y_unfused, y_unfused);

  ops::ConvEpilogue runtime_fused;
  runtime_fused.batchnorm = true;
  runtime_fused.bn = bnp;
  runtime_fused.activation = ops::Activation::relu();
  auto [fused, y_fused] = run("run-time fused conv+BN+ReLU", [&](gpu::Recorder& rec) {
    ops::Conv2dOperands o{&tx, &tw, nullptr, &tstats, nullptr, &ty};
    ops::encode_conv2d({device, rec}, conv, runtime_fused, o, "conv_bn_relu");
  });
  fused.vs_unfused = numerics::measure_error(y_fused, y_unfused);
  results.push_back(fused);

  for (auto precision : {fusion::FoldPrecision::float64, fusion::FoldPrecision::float32_pytorch}) {
    auto folded = fusion::fold_batchnorm_into_conv(conv, w, {}, bn, precision);
    ops::Conv2dParams conv_b = conv;
    conv_b.has_bias = true;
    auto tfw = ops::upload_tensor(device, w_shape, folded.weight, "folded-weight");
    auto tfb = ops::upload_tensor(device, {oc}, folded.bias, "folded-bias");
    ops::ConvEpilogue relu_only;
    relu_only.activation = ops::Activation::relu();
    auto [r, y] = run(fmt::format("BN folded into weights, {}", fusion::to_string(precision)),
                      [&](gpu::Recorder& rec) {
                        ops::Conv2dOperands o{&tx, &tfw, &tfb, nullptr, nullptr, &ty};
                        ops::encode_conv2d({device, rec}, conv_b, relu_only, o, "conv_folded_relu");
                      });
    r.vs_unfused = numerics::measure_error(y, y_unfused);
    results.push_back(r);
  }

  const gpu::DeviceInfo& info = device.info();
  fmt::print("device [{}] {} ({}, {})\n", info.index, info.name, gpu::device_type_name(info.type),
             info.driver_name);
  fmt::print("block: conv {}x{} {}->{} (no bias) + BatchNorm(eps {:g}) + ReLU on {}, seed {}\n",
             opt.kernel, opt.kernel, opt.channels, opt.filters, bn.epsilon,
             ops::to_string(in_shape), opt.seed);
  fmt::print("oracle: the unfused chain in float64 on the CPU\n\n");
  fmt::print("{:<48} {:>10} {:>9} {:>13} {:>13} {:>13}\n", "variant", "dispatches", "GPU ms",
             "rel-L2 oracle", "max-abs orac.", "rel-L2 unfus.");
  for (const auto& r : results) {
    fmt::print("{:<48} {:>10} {:>9} {:>13.3e} {:>13.3e} {:>13.3e}\n", r.name, r.dispatches,
               info.timestamps ? fmt::format("{:.3f}", r.gpu_ms) : std::string("n/a"),
               r.vs_oracle.rel_l2, r.vs_oracle.max_abs, r.vs_unfused.rel_l2);
  }
  fmt::print("\nchannel 3 has running var 1e-7: its BN scale is {:.1f}, so folding multiplies its\n"
             "weights by that much; compare the two folding orders' max-abs error above.\n",
             bn.gamma[3 % oc] / std::sqrt(bn.var[3 % oc] + bn.epsilon));

  int status = 0;
  for (const auto& r : results) {
    // Every variant is the same function in fp32: anything past 1e-4 rel-L2 is a bug, not
    // rounding (measured values are ~1e-7).
    if (!(r.vs_oracle.rel_l2 <= 1e-4)) {
      fmt::print(stderr, "fusescope demo: '{}' is off the oracle by rel-L2 {:.3e}\n", r.name,
                 r.vs_oracle.rel_l2);
      status = 1;
    }
  }
  if (global.validation) {
    auto messages = device.validation_messages();
    for (const auto& m : messages) fmt::print(stderr, "{}\n", m);
    if (!messages.empty()) status = 1;
    fmt::print("validation layer: {} message(s)\n", messages.size());
  }
  return status;
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto opt = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run a conv+BN+ReLU block unfused, fused at run time and folded (float64 and "
              "PyTorch-order float32), and compare each with the float64 oracle");
  cmd->add_option("--channels", opt->channels, "Input channels")->check(CLI::Range(1, 4096));
  cmd->add_option("--filters", opt->filters, "Output channels")->check(CLI::Range(4, 4096));
  cmd->add_option("--size", opt->size, "Input height x width, e.g. 56x56 or 56 (at most 1024x1024)")->capture_default_str();
  cmd->add_option("--kernel", opt->kernel, "Kernel size (odd)")->check(CLI::Range(1, 11));
  cmd->add_option("--seed", opt->seed, "Random seed for input, weights and statistics");
  cmd->callback([&global, &exit_code, opt] { exit_code = run_demo(global, *opt); });
}

}  // namespace fusescope::cli
