// PaddleOCR's ResNet45 text-recognition backbone (ppocr/modeling/backbones/rec_resnet_45.py,
// after ABINet's modules/resnet.py), built literally:
//   conv1 = Conv2D(in, 32, 3, stride=1, padding=1, bias_attr=False); bn1; relu
//   BasicBlock(inplanes, planes, stride, downsample):
//     conv1 = conv1x1(inplanes, planes)          # stride argument not passed: always 1
//     bn1, relu, conv2 = conv3x3(planes, planes, stride) (padding 1), bn2
//     out += downsample(x) or x; relu(out)
//   _make_layer: downsample = Sequential(Conv2D(inplanes, planes, 1, stride, bias_attr=False),
//                BatchNorm2D(planes)) when stride != 1 or inplanes != planes
//   layers [3, 4, 6, 6, 3], strides [2, 1, 2, 1, 1], planes 32, 64, 128, 256, 512
// Paddle's BatchNorm2D epsilon is 1e-5. Only the first conv3x3 of layer1 and layer3 stride, so
// the output is [N, 512, H/4, W/4] (a 32x128 crop gives 8x32). Names are Paddle's sublayer paths.
#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

namespace {

constexpr float kPaddleEpsilon = 1e-5f;

ValueId basic_block(NetworkBuilder& b, ValueId x, std::int64_t planes, std::int64_t stride,
                    bool downsample, const std::string& name) {
  ValueId residual = x;
  ValueId out = b.conv(x, name + ".conv1", {.filters = planes, .kernel = 1, .padding = 0});
  out = b.batchnorm(out, name + ".bn1", kPaddleEpsilon);
  // The block calls its one `relu` sublayer twice; graph names are unique, so the first call
  // is "relu1" and the block's output keeps the sublayer's own name.
  out = b.activation(out, name + ".relu1", ops::Activation::relu());
  out = b.conv(out, name + ".conv2", {.filters = planes, .kernel = 3, .stride = stride, .padding = 1});
  out = b.batchnorm(out, name + ".bn2", kPaddleEpsilon);
  if (downsample) {
    residual = b.conv(x, name + ".downsample.0",
                      {.filters = planes, .kernel = 1, .stride = stride, .padding = 0});
    residual = b.batchnorm(residual, name + ".downsample.1", kPaddleEpsilon);
  }
  out = b.add(out, residual, name + ".add");
  return b.activation(out, name + ".relu", ops::Activation::relu());
}

ValueId make_layer(NetworkBuilder& b, ValueId x, std::int64_t planes, int blocks, std::int64_t stride,
                   const std::string& name) {
  ScopeGuard layer_scope(b, name);
  for (int i = 0; i < blocks; ++i) {
    ScopeGuard block_scope(b, std::to_string(i));
    const bool downsample = i == 0 && (stride != 1 || b.channels(x) != planes);
    x = basic_block(b, x, planes, i == 0 ? stride : 1, downsample, name + "." + std::to_string(i));
  }
  return x;
}

}  // namespace

graph::Graph build_resnet45(const ops::Shape& input, std::uint32_t seed, ModelArgs& /*args*/) {
  NetworkBuilder b("resnet45", seed);
  ValueId x = b.input("x", input);
  x = b.conv(x, "conv1", {.filters = 32, .kernel = 3, .stride = 1, .padding = 1});
  x = b.batchnorm(x, "bn1", kPaddleEpsilon);
  x = b.activation(x, "relu", ops::Activation::relu());
  const int layers[] = {3, 4, 6, 6, 3};
  const std::int64_t strides[] = {2, 1, 2, 1, 1};
  const std::int64_t planes[] = {32, 64, 128, 256, 512};
  for (int i = 0; i < 5; ++i) {
    x = make_layer(b, x, planes[i], layers[i], strides[i], "layer" + std::to_string(i + 1));
  }
  return b.finish({x});
}

}  // namespace fusescope::models
