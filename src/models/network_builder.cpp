#include "models/network_builder.hpp"

#include "models/stable_hash.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>

namespace fusescope::models {


NetworkBuilder::NetworkBuilder(std::string model_name, std::uint32_t seed)
    : graph_(std::move(model_name)), seed_(seed) {}

std::vector<float> NetworkBuilder::uniform(const std::string& tensor_name, std::int64_t count, float lo,
                                           float hi) const {
  std::seed_seq seq{seed_, static_cast<std::uint32_t>(stable_hash(tensor_name)),
                    static_cast<std::uint32_t>(stable_hash(tensor_name) >> 32)};
  std::mt19937 rng(seq);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

std::string NetworkBuilder::scope() const {
  std::string s;
  for (const auto& part : scopes_) s += (s.empty() ? "" : "/") + part;
  return s;
}

void NetworkBuilder::push_scope(const std::string& scope) { scopes_.push_back(scope); }
void NetworkBuilder::pop_scope() { scopes_.pop_back(); }

ValueId NetworkBuilder::input(const std::string& name, const ops::Shape& shape) {
  return graph_.add_input(name, shape);
}

ValueId NetworkBuilder::conv(ValueId x, const std::string& name, const ConvSpec& s) {
  ops::Conv2dParams p;
  p.in_channels = channels(x);
  p.out_channels = s.filters;
  p.kernel_h = p.kernel_w = s.kernel;
  p.stride_h = p.stride_w = s.stride;
  const std::int64_t pad = s.padding >= 0 ? s.padding : s.dilation * (s.kernel - 1) / 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.dilation_h = p.dilation_w = s.dilation;
  p.groups = s.groups;
  p.has_bias = s.bias;
  const ops::Shape w_shape = ops::conv2d_weight_shape(p);
  // He-uniform (fan_in): keeps activations O(1) through ReLU networks before calibration.
  const float fan_in = static_cast<float>(w_shape[1] * w_shape[2] * w_shape[3]);
  const float limit = std::sqrt(6.0f / fan_in);
  ValueId w = graph_.add_constant(name + ".weight", w_shape,
                                  uniform(name + ".weight", ops::numel(w_shape), -limit, limit));
  ValueId b = graph::kNoValue;
  if (s.bias) b = graph_.add_constant(name + ".bias", {s.filters}, uniform(name + ".bias", s.filters, -0.1f, 0.1f));
  return graph_.add_node(name, scope(), graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic},
                         {x, w, b, graph::kNoValue, graph::kNoValue});
}

ValueId NetworkBuilder::batchnorm(ValueId x, const std::string& name, float epsilon) {
  const std::int64_t c = channels(x);
  std::vector<float> stats(static_cast<std::size_t>(4 * c), 0.0f);
  for (std::int64_t i = 0; i < c; ++i) {
    stats[static_cast<std::size_t>(i)] = 1.0f;          // gamma
    stats[static_cast<std::size_t>(3 * c + i)] = 1.0f;  // running var
  }
  ValueId st = graph_.add_constant(name + ".stats", {4, c}, std::move(stats));
  return graph_.add_node(name, scope(), graph::BatchNormAttrs{{c, epsilon}, {}}, {x, st});
}

ValueId NetworkBuilder::activation(ValueId x, const std::string& name, const ops::Activation& act) {
  return graph_.add_node(name, scope(), graph::ActivationAttrs{act}, {x});
}

ValueId NetworkBuilder::add(ValueId a, ValueId b, const std::string& name) {
  return graph_.add_node(name, scope(), graph::BinaryAttrs{ops::BinaryOp::add}, {a, b});
}


ValueId NetworkBuilder::max_pool(ValueId x, const std::string& name, std::int64_t k, std::int64_t s,
                                 std::int64_t pad, bool ceil_mode) {
  return graph_.add_node(name, scope(),
                         graph::PoolAttrs{ops::square_pool(ops::PoolKind::max, k, s, pad, ceil_mode, false)}, {x});
}

ValueId NetworkBuilder::avg_pool(ValueId x, const std::string& name, std::int64_t k, std::int64_t s,
                                 std::int64_t pad, bool ceil_mode, bool count_include_pad) {
  return graph_.add_node(
      name, scope(),
      graph::PoolAttrs{ops::square_pool(ops::PoolKind::average, k, s, pad, ceil_mode, count_include_pad)}, {x});
}

ValueId NetworkBuilder::global_average_pool(ValueId x, const std::string& name) {
  return graph_.add_node(name, scope(), graph::GlobalAveragePoolAttrs{}, {x});
}

ValueId NetworkBuilder::concat(const std::vector<ValueId>& xs, const std::string& name, std::int64_t axis) {
  return graph_.add_node(name, scope(), graph::ConcatAttrs{axis}, xs);
}

ValueId NetworkBuilder::slice(ValueId x, const std::string& name, std::int64_t axis, std::int64_t start,
                              std::int64_t length) {
  return graph_.add_node(name, scope(), graph::SliceAttrs{{axis, start, length}}, {x});
}

ValueId NetworkBuilder::flatten(ValueId x, const std::string& name) {
  return graph_.add_node(name, scope(), graph::FlattenAttrs{}, {x});
}

ValueId NetworkBuilder::linear(ValueId x, const std::string& name, std::int64_t out_features, bool bias) {
  ops::GemmParams p;
  p.in_features = ops::numel(shape(x)) / shape(x)[0];
  p.out_features = out_features;
  p.transpose_weight = true;
  p.has_bias = bias;
  const float limit = 1.0f / std::sqrt(static_cast<float>(p.in_features));
  ValueId w = graph_.add_constant(name + ".weight", {out_features, p.in_features},
                                  uniform(name + ".weight", out_features * p.in_features, -limit, limit));
  ValueId b = graph::kNoValue;
  if (bias) b = graph_.add_constant(name + ".bias", {out_features}, uniform(name + ".bias", out_features, -limit, limit));
  return graph_.add_node(name, scope(), graph::GemmAttrs{p}, {x, w, b});
}

ValueId NetworkBuilder::softmax(ValueId x, const std::string& name, std::int64_t axis) {
  return graph_.add_node(name, scope(), graph::SoftmaxAttrs{{axis}}, {x});
}

graph::Graph NetworkBuilder::finish(const std::vector<ValueId>& outputs) {
  for (ValueId v : outputs) graph_.mark_output(v);
  graph_.validate();
  return std::move(graph_);
}

}  // namespace fusescope::models
