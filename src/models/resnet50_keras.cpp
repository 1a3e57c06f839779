// Keras' ResNet50 (keras/applications/resnet.py) built literally from block1 and stack1, with
// Keras' layer names. Keras convs carry a bias (use_bias=True), BatchNorm epsilon is 1.001e-5.
// ZeroPadding2D + 'valid' conv/pool are expressed as padded conv/pool (identical results; for
// the max pool because it follows a ReLU, so zero padding never wins over real values).
#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

namespace {

constexpr float kKerasEpsilon = 1.001e-5f;

// block1: a bottleneck; conv_shortcut adds the 1x1 projection `_0_conv` with 4*filters.
ValueId block1(NetworkBuilder& b, ValueId x, std::int64_t filters, std::int64_t stride,
               bool conv_shortcut, const std::string& name) {
  ScopeGuard scope(b, name.substr(name.find('_') + 1));  // "conv2_block1" -> scope "block1"
  ValueId shortcut = x;
  if (conv_shortcut) {
    shortcut = b.conv(x, name + "_0_conv", {.filters = 4 * filters, .kernel = 1, .stride = stride, .padding = 0, .bias = true});
    shortcut = b.batchnorm(shortcut, name + "_0_bn", kKerasEpsilon);
  }
  x = b.conv(x, name + "_1_conv", {.filters = filters, .kernel = 1, .stride = stride, .padding = 0, .bias = true});
  x = b.batchnorm(x, name + "_1_bn", kKerasEpsilon);
  x = b.activation(x, name + "_1_relu", ops::Activation::relu());
  x = b.conv(x, name + "_2_conv", {.filters = filters, .kernel = 3, .padding = 1, .bias = true});
  x = b.batchnorm(x, name + "_2_bn", kKerasEpsilon);
  x = b.activation(x, name + "_2_relu", ops::Activation::relu());
  x = b.conv(x, name + "_3_conv", {.filters = 4 * filters, .kernel = 1, .padding = 0, .bias = true});
  x = b.batchnorm(x, name + "_3_bn", kKerasEpsilon);
  x = b.add(shortcut, x, name + "_add");
  return b.activation(x, name + "_out", ops::Activation::relu());
}

ValueId stack1(NetworkBuilder& b, ValueId x, std::int64_t filters, int blocks, std::int64_t stride1,
               const std::string& name) {
  ScopeGuard scope(b, name);
  x = block1(b, x, filters, stride1, true, name + "_block1");
  for (int i = 2; i <= blocks; ++i) x = block1(b, x, filters, 1, false, name + "_block" + std::to_string(i));
  return x;
}

}  // namespace

graph::Graph build_resnet50_keras(const ops::Shape& input, std::uint32_t seed, ModelArgs& args) {
  const std::int64_t classes = args.integer("classes", 1000);
  NetworkBuilder b("resnet50-keras", seed);
  ValueId x = b.input("input_1", input);
  {
    ScopeGuard scope(b, "conv1");
    x = b.conv(x, "conv1_conv", {.filters = 64, .kernel = 7, .stride = 2, .padding = 3, .bias = true});
    x = b.batchnorm(x, "conv1_bn", kKerasEpsilon);
    x = b.activation(x, "conv1_relu", ops::Activation::relu());
    x = b.max_pool(x, "pool1_pool", 3, 2, 1);
  }
  x = stack1(b, x, 64, 3, 1, "conv2");
  x = stack1(b, x, 128, 4, 2, "conv3");
  x = stack1(b, x, 256, 6, 2, "conv4");
  x = stack1(b, x, 512, 3, 2, "conv5");
  {
    ScopeGuard scope(b, "top");
    x = b.global_average_pool(x, "avg_pool");
    x = b.linear(x, "predictions_dense", classes);
    x = b.softmax(x, "predictions");
  }
  return b.finish({x});
}

}  // namespace fusescope::models
