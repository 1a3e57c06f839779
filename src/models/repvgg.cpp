// RepVGG (DingXiaoH/RepVGG, repvgg.py) in its training-time form, the one convert_to_deploy
// folds: each RepVGGBlock sums three branches and then applies its nonlinearity,
//   rbr_dense    = conv_bn(in, out, 3, stride, padding=1)   Conv2d(bias=False) + BatchNorm2d
//   rbr_1x1      = conv_bn(in, out, 1, stride, padding=0)   (padding_11 = padding - 3 // 2)
//   rbr_identity = BatchNorm2d(in) if out == in and stride == 1 else None
//   forward: nonlinearity(se(rbr_dense(x) + rbr_1x1(x) + id_out)), se = Identity, ReLU
// RepVGG: stage0 = block(3, min(64, int(64*a)), stride 2); stages 1..4 of num_blocks blocks,
// widths int(64*a), int(128*a), int(256*a), int(512*b), the first block of each stage with
// stride 2; then gap (AdaptiveAvgPool2d(1)), view, linear(int(512*b), num_classes). groups 1
// (no override_groups_map: the A0/B0 variants). PyTorch's BatchNorm2d epsilon is 1e-5.
// Python's left-to-right `a + b + c` is two binary adds: dense + 1x1, then + identity.
#include <algorithm>
#include <array>

#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

namespace {

constexpr float kTorchEpsilon = 1e-5f;

ValueId conv_bn(NetworkBuilder& b, ValueId x, std::int64_t out_channels, std::int64_t kernel,
                std::int64_t stride, std::int64_t padding, const std::string& name) {
  x = b.conv(x, name + ".conv",
             {.filters = out_channels, .kernel = kernel, .stride = stride, .padding = padding});
  return b.batchnorm(x, name + ".bn", kTorchEpsilon);
}

ValueId repvgg_block(NetworkBuilder& b, ValueId x, std::int64_t out_channels, std::int64_t stride,
                     const std::string& name) {
  const bool identity = b.channels(x) == out_channels && stride == 1;
  ValueId dense = conv_bn(b, x, out_channels, 3, stride, 1, name + ".rbr_dense");
  ValueId one_by_one = conv_bn(b, x, out_channels, 1, stride, 0, name + ".rbr_1x1");
  ValueId sum = b.add(dense, one_by_one, name + ".add_1x1");
  if (identity) {
    ValueId id_out = b.batchnorm(x, name + ".rbr_identity", kTorchEpsilon);
    sum = b.add(sum, id_out, name + ".add_identity");
  }
  return b.activation(sum, name + ".nonlinearity", ops::Activation::relu());
}

graph::Graph build_repvgg(const std::string& model, const ops::Shape& input, std::uint32_t seed,
                          ModelArgs& args, const std::array<int, 4>& num_blocks,
                          const std::array<double, 4>& width_multiplier) {
  const std::int64_t num_classes = args.integer("num_classes", 1000);
  NetworkBuilder b(model, seed);
  ValueId x = b.input("x", input);
  const auto width = [&](int base, int stage) {
    return static_cast<std::int64_t>(base * width_multiplier[static_cast<std::size_t>(stage)]);
  };
  {
    ScopeGuard scope(b, "stage0");
    x = repvgg_block(b, x, std::min<std::int64_t>(64, width(64, 0)), 2, "stage0");
  }
  const int base[] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s) {
    const std::string stage = "stage" + std::to_string(s + 1);
    ScopeGuard stage_scope(b, stage);
    for (int i = 0; i < num_blocks[static_cast<std::size_t>(s)]; ++i) {
      ScopeGuard block_scope(b, std::to_string(i));
      x = repvgg_block(b, x, width(base[s], s), i == 0 ? 2 : 1, stage + "." + std::to_string(i));
    }
  }
  x = b.global_average_pool(x, "gap");
  x = b.flatten(x, "view");
  x = b.linear(x, "linear", num_classes);
  return b.finish({x});
}

}  // namespace

graph::Graph build_repvgg_a0(const ops::Shape& input, std::uint32_t seed, ModelArgs& args) {
  return build_repvgg("repvgg-a0", input, seed, args, {2, 4, 14, 1}, {0.75, 0.75, 0.75, 2.5});
}

graph::Graph build_repvgg_b0(const ops::Shape& input, std::uint32_t seed, ModelArgs& args) {
  return build_repvgg("repvgg-b0", input, seed, args, {4, 6, 16, 1}, {1.0, 1.0, 1.0, 2.5});
}

}  // namespace fusescope::models
