// Dual Path Networks for CIFAR-10 (kuangliu/pytorch-cifar, models/dpn.py), built literally:
//   Bottleneck(last_planes, in_planes, out_planes, dense_depth, stride, first_layer):
//     out = relu(bn1(conv1(x)))      conv1 = Conv2d(last_planes, in_planes, 1, bias=False)
//     out = relu(bn2(conv2(out)))    conv2 = Conv2d(in_planes, in_planes, 3, stride, padding=1,
//                                                   groups=32, bias=False)
//     out = bn3(conv3(out))          conv3 = Conv2d(in_planes, out_planes + dense_depth, 1)
//     x = shortcut(x)                first_layer: Sequential(Conv2d(last_planes,
//                                      out_planes + dense_depth, 1, stride, bias=False), BN)
//     d = out_planes
//     out = relu(cat([x[:, :d] + out[:, :d], x[:, d:], out[:, d:]], 1))
//   The residual path keeps d channels; the dense path grows by dense_depth per block, so a
//   stage's i-th block leaves out_planes + (i + 2) * dense_depth channels.
//   DPN: conv1 3x3 3->64 (padding 1, bias=False), bn1, relu; layer1..4 (strides 1, 2, 2, 2);
//   avg_pool2d(out, 4); view; linear(out_planes[3] + (num_blocks[3] + 1) * dense_depth[3], 10)
// BatchNorm2d epsilon 1e-5. Names are PyTorch's module paths; the functional ops (F.relu,
// slicing, +, cat) get names for what they compute.
#include <fmt/format.h>

#include <array>

#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

namespace {

constexpr float kTorchEpsilon = 1e-5f;

struct DpnConfig {
  std::array<std::int64_t, 4> in_planes{96, 192, 384, 768};
  std::array<std::int64_t, 4> out_planes{256, 512, 1024, 2048};
  std::array<int, 4> num_blocks{};
  std::array<std::int64_t, 4> dense_depth{16, 32, 24, 128};
};

ValueId bottleneck(NetworkBuilder& b, ValueId x, std::int64_t in_planes, std::int64_t out_planes,
                   std::int64_t dense_depth, std::int64_t stride, bool first_layer,
                   const std::string& name) {
  const auto relu = ops::Activation::relu();
  ValueId out = b.conv(x, name + ".conv1", {.filters = in_planes, .kernel = 1, .padding = 0});
  out = b.batchnorm(out, name + ".bn1", kTorchEpsilon);
  out = b.activation(out, name + ".relu1", relu);
  out = b.conv(out, name + ".conv2",
               {.filters = in_planes, .kernel = 3, .stride = stride, .padding = 1, .groups = 32});
  out = b.batchnorm(out, name + ".bn2", kTorchEpsilon);
  out = b.activation(out, name + ".relu2", relu);
  out = b.conv(out, name + ".conv3", {.filters = out_planes + dense_depth, .kernel = 1, .padding = 0});
  out = b.batchnorm(out, name + ".bn3", kTorchEpsilon);
  if (first_layer) {
    x = b.conv(x, name + ".shortcut.0",
               {.filters = out_planes + dense_depth, .kernel = 1, .stride = stride, .padding = 0});
    x = b.batchnorm(x, name + ".shortcut.1", kTorchEpsilon);
  }
  const std::int64_t d = out_planes;
  ValueId x_res = b.slice(x, name + ".split_x_res", 1, 0, d);
  ValueId x_dense = b.slice(x, name + ".split_x_dense", 1, d, b.channels(x) - d);
  ValueId out_res = b.slice(out, name + ".split_out_res", 1, 0, d);
  ValueId out_dense = b.slice(out, name + ".split_out_dense", 1, d, b.channels(out) - d);
  ValueId res = b.add(x_res, out_res, name + ".add");
  out = b.concat({res, x_dense, out_dense}, name + ".cat", 1);
  return b.activation(out, name + ".relu", relu);
}

graph::Graph build_dpn(const std::string& model, const ops::Shape& input, std::uint32_t seed,
                       const DpnConfig& cfg) {
  NetworkBuilder b(model, seed);
  ValueId x = b.input("x", input);
  x = b.conv(x, "conv1", {.filters = 64, .kernel = 3, .stride = 1, .padding = 1});
  x = b.batchnorm(x, "bn1", kTorchEpsilon);
  x = b.activation(x, "relu", ops::Activation::relu());
  const std::int64_t stage_stride[] = {1, 2, 2, 2};
  for (std::size_t s = 0; s < 4; ++s) {
    const std::string layer = "layer" + std::to_string(s + 1);
    ScopeGuard layer_scope(b, layer);
    for (int i = 0; i < cfg.num_blocks[s]; ++i) {
      ScopeGuard block_scope(b, std::to_string(i));
      x = bottleneck(b, x, cfg.in_planes[s], cfg.out_planes[s], cfg.dense_depth[s],
                     i == 0 ? stage_stride[s] : 1, i == 0, layer + "." + std::to_string(i));
    }
  }
  x = b.avg_pool(x, "avg_pool2d", 4, 4);
  x = b.flatten(x, "view");
  // PyTorch fixes in_features to out_planes[3] + (num_blocks[3] + 1) * dense_depth[3], i.e. a
  // 1x1 map after the pool: 32x32 CIFAR inputs. Say so rather than build a different network.
  const std::int64_t in_features = cfg.out_planes[3] + (cfg.num_blocks[3] + 1) * cfg.dense_depth[3];
  if (b.shape(x)[1] != in_features) {
    throw ops::InvalidArgument(fmt::format(
        "{}: input {}x{} leaves {} features after avg_pool2d(4), the linear layer takes {} "
        "(DPN for CIFAR needs 32x32 inputs)",
        model, input.at(2), input.at(3), b.shape(x)[1], in_features));
  }
  x = b.linear(x, "linear", 10);
  return b.finish({x});
}

}  // namespace

graph::Graph build_dpn92(const ops::Shape& input, std::uint32_t seed, ModelArgs& /*args*/) {
  DpnConfig cfg;
  cfg.num_blocks = {3, 4, 20, 3};
  return build_dpn("dpn92", input, seed, cfg);
}

graph::Graph build_dpn26(const ops::Shape& input, std::uint32_t seed, ModelArgs& /*args*/) {
  DpnConfig cfg;
  cfg.num_blocks = {2, 2, 2, 2};
  return build_dpn("dpn26", input, seed, cfg);
}

}  // namespace fusescope::models
