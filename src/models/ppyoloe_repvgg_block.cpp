// PP-YOLOE's RepVggBlock (PaddleDetection ppdet/modeling/backbones/cspresnet.py), one block:
//   ConvBNLayer(ch_in, ch_out, filter_size, stride=1, padding, act=None):
//     conv = Conv2D(..., bias_attr=False); bn = BatchNorm2D(ch_out); act (None: identity)
//   RepVggBlock(ch_in, ch_out, act='relu', alpha=False):
//     conv1 = ConvBNLayer(ch_in, ch_out, 3, stride=1, padding=1, act=None)
//     conv2 = ConvBNLayer(ch_in, ch_out, 1, stride=1, padding=0, act=None)
//     alpha = create_parameter(shape=[1])   (only when alpha=True)
//     forward: y = conv1(x) + alpha * conv2(x)  (or conv1(x) + conv2(x)); y = act(y)
// PP-YOLOE(+)'s CSPResNet builds it with act=swish (= silu) and use_alpha=True. Paddle's
// BatchNorm2D epsilon is 1e-5. Unlike RepVGG there is no identity branch.
// alpha is initialised to 1 in Paddle, but a trained alpha is not 1, and at exactly 1 a
// re-parameterisation that forgot to scale the 1x1 branch would still look right; so it gets
// a seeded value in [0.5, 1.5], kept clear of 1.
#include <cmath>

#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

namespace {

constexpr float kPaddleEpsilon = 1e-5f;

ValueId conv_bn_layer(NetworkBuilder& b, ValueId x, std::int64_t ch_out, std::int64_t filter_size,
                      std::int64_t padding, const std::string& name) {
  ScopeGuard scope(b, name);
  x = b.conv(x, name + ".conv", {.filters = ch_out, .kernel = filter_size, .stride = 1, .padding = padding});
  return b.batchnorm(x, name + ".bn", kPaddleEpsilon);  // act=None: no activation
}

}  // namespace

graph::Graph build_ppyoloe_repvgg_block(const ops::Shape& input, std::uint32_t seed, ModelArgs& args) {
  const std::int64_t ch_in = args.integer("ch_in", 64);
  const std::int64_t ch_out = args.integer("ch_out", 64);
  const bool use_alpha = args.flag("alpha", true);
  const ops::Activation act = ops::parse_activation(args.text("act", "relu"));
  ops::Shape shape = input;
  shape[1] = ch_in;

  NetworkBuilder b("ppyoloe-repvgg-block", seed);
  ValueId x = b.input("x", shape);
  ValueId y1 = conv_bn_layer(b, x, ch_out, 3, 1, "conv1");
  ValueId y2 = conv_bn_layer(b, x, ch_out, 1, 0, "conv2");
  if (use_alpha) {
    float alpha = b.uniform("alpha", 1, 0.5f, 1.5f)[0];
    if (std::abs(alpha - 1.0f) < 0.05f) alpha = alpha < 1.0f ? 0.9f : 1.1f;
    graph::Graph& g = b.graph();
    ValueId alpha_value = g.add_constant("alpha", {1}, {alpha});
    // `self.alpha * self.conv2(x)`: the scalar parameter is the left operand, broadcast.
    y2 = g.add_node("alpha_mul", "", graph::BinaryAttrs{ops::BinaryOp::mul}, {alpha_value, y2});
  }
  ValueId y = b.add(y1, y2, "add");
  y = b.activation(y, "act", act);
  return b.finish({y});
}

}  // namespace fusescope::models
