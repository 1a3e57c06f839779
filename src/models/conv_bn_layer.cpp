// PaddlePaddle's conv_bn_layer helper (PaddleClas / PaddleOCR):
//   conv = conv2d(input, num_filters, filter_size, stride, padding, groups, act=None,
//                 bias_attr=False, param_attr=name + "_weights")
//   return batch_norm(conv, act=act, epsilon=1e-5, name=name + "_bn")
// The activation is batch_norm's own `act` (a BN attribute here too), and the BN carries the
// shift, which is why the conv has no bias. `bias=true` builds the variant with a conv bias.
#include "models/network_builder.hpp"
#include "models/zoo.hpp"

namespace fusescope::models {

graph::Graph build_conv_bn_layer(const ops::Shape& input, std::uint32_t seed, ModelArgs& args) {
  const std::int64_t filter_size = args.integer("filter_size", 3);
  const std::int64_t num_filters = args.integer("num_filters", 32);
  const std::int64_t stride = args.integer("stride", 1);
  const std::int64_t padding = args.integer("padding", (filter_size - 1) / 2);
  const std::int64_t groups = args.integer("groups", 1);
  const ops::Activation act = ops::parse_activation(args.text("act", "relu"));
  const bool bias = args.flag("bias", false);
  const std::string name = args.text("name", "conv1");
  ops::Shape shape = input;
  shape[1] = args.integer("channels", input[1]);

  NetworkBuilder b("conv_bn_layer", seed);
  ValueId x = b.input("image", shape);
  ScopeGuard scope(b, name);
  x = b.conv(x, name, {.filters = num_filters, .kernel = filter_size, .stride = stride,
                       .padding = padding, .groups = groups, .bias = bias});
  x = b.batchnorm(x, name + "_bn", 1e-5f);
  auto& bn = *b.graph().nodes().back().as<graph::BatchNormAttrs>();
  bn.activation = act;  // batch_norm(act=...): the activation is part of the BN op
  return b.finish({x});
}

}  // namespace fusescope::models
