#include "graph/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "ops/batchnorm.hpp"

namespace fusescope::graph {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string near_names(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 6; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 6) s += fmt::format(", … ({} in all)", names.size());
  return s;
}

}  // namespace

ops::Shape reshape_output_shape(const ops::Shape& target, const ops::Shape& input, const std::string& name) {
  ops::Shape out = target;
  std::int64_t known = 1;
  int inferred = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0) {
      if (i >= input.size()) {
        throw ops::InvalidArgument(fmt::format("{}: reshape to {}: a 0 at index {} copies no dim of the input {}",
                                               name, ops::to_string(target), i, ops::to_string(input)));
      }
      out[i] = input[i];
    }
    if (out[i] == -1) {
      if (inferred >= 0)
        throw ops::InvalidArgument(fmt::format("{}: reshape to {} has more than one -1", name, ops::to_string(target)));
      inferred = static_cast<int>(i);
      continue;
    }
    if (out[i] < 0)
      throw ops::InvalidArgument(fmt::format("{}: reshape to {} has a negative dim", name, ops::to_string(target)));
    known *= out[i];
  }
  const std::int64_t n = ops::numel(input);
  if (inferred >= 0) {
    if (known == 0 || n % known != 0) {
      throw ops::InvalidArgument(fmt::format("{}: cannot reshape {} ({} elements) to {}", name, ops::to_string(input),
                                             n, ops::to_string(target)));
    }
    out[static_cast<std::size_t>(inferred)] = n / known;
  } else if (known != n) {
    throw ops::InvalidArgument(fmt::format("{}: cannot reshape {} ({} elements) to {} ({} elements)", name,
                                           ops::to_string(input), n, ops::to_string(out), known));
  }
  return out;
}

const char* op_name(const Attributes& attrs) {
  return std::visit(Overloaded{
                        [](const ConvAttrs&) { return "conv2d"; },
                        [](const BatchNormAttrs&) { return "batchnorm"; },
                        [](const ActivationAttrs&) { return "activation"; },
                        [](const BinaryAttrs& b) { return ops::to_string(b.op); },
                        [](const PoolAttrs& p) {
                          return p.params.kind == ops::PoolKind::max ? "max_pool" : "avg_pool";
                        },
                        [](const GlobalAveragePoolAttrs&) { return "global_avg_pool"; },
                        [](const ConcatAttrs&) { return "concat"; },
                        [](const SliceAttrs&) { return "slice"; },
                        [](const GemmAttrs&) { return "gemm"; },
                        [](const SoftmaxAttrs&) { return "softmax"; },
                        [](const FlattenAttrs&) { return "flatten"; },
                        [](const ReshapeAttrs&) { return "reshape"; },
                        [](const TransposeAttrs&) { return "transpose"; },
                        [](const PadAttrs&) { return "pad"; },
                        [](const ConvTransposeAttrs&) { return "conv_transpose2d"; },
                        [](const ResizeAttrs& r) {
                          return r.params.mode == ops::ResizeMode::nearest ? "resize_nearest" : "resize_linear";
                        },
                        [](const ReduceMeanAttrs&) { return "reduce_mean"; },
                        [](const LayerNormAttrs&) { return "layer_norm"; },
                    },
                    attrs);
}

ValueId Graph::add_value(Value v) {
  if (find_value(v.name) != kNoValue) {
    throw ops::InvalidArgument(fmt::format("graph '{}': a value named '{}' already exists", name_, v.name));
  }
  values_.push_back(std::move(v));
  return static_cast<ValueId>(values_.size() - 1);
}

ValueId Graph::add_input(const std::string& name, const ops::Shape& shape) {
  ops::checked_numel(shape, name);
  Value v;
  v.name = name;
  v.shape = shape;
  ValueId id = add_value(std::move(v));
  inputs_.push_back(id);
  return id;
}

ValueId Graph::add_constant(const std::string& name, const ops::Shape& shape, std::vector<float> data) {
  const std::int64_t n = ops::checked_numel(shape, name);
  if (static_cast<std::int64_t>(data.size()) != n) {
    throw ops::InvalidArgument(fmt::format("{}: {} values for shape {} ({} elements)", name,
                                           data.size(), ops::to_string(shape), n));
  }
  Value v;
  v.name = name;
  v.shape = shape;
  v.constant = true;
  v.data = std::move(data);
  return add_value(std::move(v));
}

ValueId Graph::add_node(const std::string& name, const std::string& scope, Attributes attrs,
                        std::vector<ValueId> inputs, const std::string& output_name) {
  if (find_node(name) != -1) {
    throw ops::InvalidArgument(fmt::format("graph '{}': a node named '{}' already exists", name_, name));
  }
  for (ValueId in : inputs) {
    if (in != kNoValue && (in < 0 || in >= static_cast<ValueId>(values_.size()))) {
      throw ops::InvalidArgument(fmt::format("{}: input value id {} does not exist", name, in));
    }
  }
  Node node;
  node.name = name;
  node.scope = scope;
  node.attrs = std::move(attrs);
  node.inputs = std::move(inputs);
  node.provenance = {name};
  const ops::Shape shape = infer_shape(node);
  Value out;
  out.name = output_name.empty() ? name : output_name;
  out.shape = shape;
  out.producer = static_cast<NodeId>(nodes_.size());
  node.output = add_value(std::move(out));
  nodes_.push_back(std::move(node));
  return nodes_.back().output;
}

void Graph::mark_output(ValueId value) {
  if (std::find(outputs_.begin(), outputs_.end(), value) == outputs_.end()) outputs_.push_back(value);
}

NodeId Graph::find_node(const std::string& name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<NodeId>(i);
  return -1;
}

ValueId Graph::find_value(const std::string& name) const {
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == name) return static_cast<ValueId>(i);
  return kNoValue;
}

NodeId Graph::require_node(const std::string& name) const {
  NodeId id = find_node(name);
  if (id >= 0) return id;
  std::vector<std::string> names;
  for (const Node& n : nodes_) names.push_back(n.name);
  throw ops::InvalidArgument(fmt::format("{}: no node named '{}'; nodes are: {}", name_, name,
                                         near_names(names)));
}

ValueId Graph::require_value(const std::string& name) const {
  ValueId id = find_value(name);
  if (id != kNoValue) return id;
  std::vector<std::string> names;
  for (const Value& v : values_)
    if (!v.constant) names.push_back(v.name);
  throw ops::InvalidArgument(fmt::format("{}: no tensor named '{}'; tensors are: {}", name_, name,
                                         near_names(names)));
}

ops::Shape Graph::infer_shape(const Node& node) const {
  const std::string& nm = node.name;
  auto in = [&](std::size_t i) -> const ops::Shape& {
    if (i >= node.inputs.size() || node.inputs[i] == kNoValue) {
      throw ops::InvalidArgument(fmt::format("{} ({}): input {} is missing", nm, op_name(node.attrs), i));
    }
    return value(node.inputs[i]).shape;
  };
  auto slot = [&](std::size_t i) { return i < node.inputs.size() && node.inputs[i] != kNoValue; };
  auto expect_inputs = [&](std::size_t n) {
    if (node.inputs.size() != n) {
      throw ops::InvalidArgument(fmt::format("{} ({}): {} inputs, expected {}", nm, op_name(node.attrs),
                                             node.inputs.size(), n));
    }
  };
  return std::visit(
      Overloaded{
          [&](const ConvAttrs& a) {
            expect_inputs(5);
            const ops::Shape out = ops::conv2d_output_shape(a.params, in(0), nm);
            ops::expect_shape(nm, "weight", in(1), ops::conv2d_weight_shape(a.params));
            if (a.params.has_bias != slot(2))
              throw ops::InvalidArgument(fmt::format("{}: has_bias is {} but a bias is {}", nm,
                                                     a.params.has_bias, slot(2) ? "given" : "missing"));
            if (slot(2)) ops::expect_shape(nm, "bias", in(2), {a.params.out_channels});
            if (a.epilogue.batchnorm != slot(3))
              throw ops::InvalidArgument(fmt::format("{}: BN epilogue flag and statistics disagree", nm));
            if (slot(3)) ops::expect_shape(nm, "batchnorm statistics", in(3), {4, a.params.out_channels});
            if (a.epilogue.residual != slot(4))
              throw ops::InvalidArgument(fmt::format("{}: residual flag and residual input disagree", nm));
            if (slot(4)) ops::expect_shape(nm, "residual", in(4), out);
            return out;
          },
          [&](const BatchNormAttrs& a) {
            expect_inputs(2);
            ops::expect_shape(nm, "batchnorm statistics", in(1), {4, a.params.channels});
            return ops::batchnorm_output_shape(a.params, in(0), nm);
          },
          [&](const ActivationAttrs&) {
            expect_inputs(1);
            return in(0);
          },
          [&](const BinaryAttrs&) {
            expect_inputs(2);
            return ops::broadcast_shapes(in(0), in(1), nm);
          },
          [&](const PoolAttrs& a) {
            expect_inputs(1);
            return ops::pool2d_output_shape(a.params, in(0), nm);
          },
          [&](const GlobalAveragePoolAttrs&) {
            expect_inputs(1);
            return ops::global_average_pool_output_shape(in(0), nm);
          },
          [&](const ConcatAttrs& a) {
            if (node.inputs.empty()) throw ops::InvalidArgument(nm + ": concat of nothing");
            std::vector<ops::Shape> shapes;
            for (std::size_t i = 0; i < node.inputs.size(); ++i) shapes.push_back(in(i));
            return ops::concat_output_shape(shapes, a.axis, nm);
          },
          [&](const SliceAttrs& a) {
            expect_inputs(1);
            return ops::slice_output_shape(a.params, in(0), nm);
          },
          [&](const GemmAttrs& a) {
            expect_inputs(3);
            const ops::Shape out = ops::gemm_output_shape(a.params, in(0), nm);
            ops::expect_shape(nm, "weight", in(1), ops::gemm_weight_shape(a.params));
            if (a.params.has_bias != slot(2))
              throw ops::InvalidArgument(fmt::format("{}: has_bias and bias input disagree", nm));
            if (slot(2)) ops::expect_shape(nm, "bias", in(2), {a.params.out_features});
            return out;
          },
          [&](const SoftmaxAttrs& a) {
            expect_inputs(1);
            return ops::softmax_output_shape(a.params, in(0), nm);
          },
          [&](const FlattenAttrs&) {
            expect_inputs(1);
            const ops::Shape& s = in(0);
            if (s.size() < 2) throw ops::InvalidArgument(nm + ": flatten needs rank >= 2");
            return ops::Shape{s[0], ops::numel(s) / s[0]};
          },
          [&](const ReshapeAttrs& a) {
            expect_inputs(1);
            return reshape_output_shape(a.shape, in(0), nm);
          },
          [&](const TransposeAttrs& a) {
            expect_inputs(1);
            return ops::transpose_output_shape(a.params, in(0), nm);
          },
          [&](const PadAttrs& a) {
            expect_inputs(1);
            return ops::pad_output_shape(a.params, in(0), nm);
          },
          [&](const ConvTransposeAttrs& a) {
            expect_inputs(3);
            const ops::Shape out = ops::conv_transpose2d_output_shape(a.params, in(0), nm);
            ops::expect_shape(nm, "weight", in(1), ops::conv_transpose2d_weight_shape(a.params));
            if (a.params.has_bias != slot(2))
              throw ops::InvalidArgument(fmt::format("{}: has_bias is {} but a bias is {}", nm,
                                                     a.params.has_bias, slot(2) ? "given" : "missing"));
            if (slot(2)) ops::expect_shape(nm, "bias", in(2), {a.params.out_channels});
            return out;
          },
          [&](const ResizeAttrs& a) {
            expect_inputs(1);
            return ops::resize_output_shape(a.params, in(0), nm);
          },
          [&](const ReduceMeanAttrs& a) {
            expect_inputs(1);
            return ops::reduce_mean_output_shape(a.params, in(0), nm);
          },
          [&](const LayerNormAttrs& a) {
            expect_inputs(2);
            ops::expect_shape(nm, "affine (gamma, beta)", in(1), ops::layer_norm_affine_shape(a.params, in(0), nm));
            return ops::layer_norm_output_shape(a.params, in(0), nm);
          },
      },
      node.attrs);
}

void Graph::infer_shapes() {
  for (Node& n : nodes_) value(n.output).shape = infer_shape(n);
}

void Graph::validate() const {
  std::set<std::string> node_names, value_names;
  for (const Value& v : values_) {
    if (!value_names.insert(v.name).second)
      throw ops::InvalidArgument(fmt::format("{}: duplicate value name '{}'", name_, v.name));
  }
  std::vector<bool> available(values_.size(), false);
  for (ValueId in : inputs_) available[static_cast<std::size_t>(in)] = true;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].constant) available[i] = true;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    if (!node_names.insert(node.name).second)
      throw ops::InvalidArgument(fmt::format("{}: duplicate node name '{}'", name_, node.name));
    for (ValueId in : node.inputs) {
      if (in == kNoValue) continue;
      if (!available[static_cast<std::size_t>(in)]) {
        throw ops::InvalidArgument(fmt::format("{}: node '{}' reads '{}' before it is computed "
                                               "(a cycle or an order error)",
                                               name_, node.name, value(in).name));
      }
    }
    if (value(node.output).producer != static_cast<NodeId>(n))
      throw ops::InvalidArgument(fmt::format("{}: node '{}' output bookkeeping is stale", name_, node.name));
    available[static_cast<std::size_t>(node.output)] = true;
    (void)infer_shape(node);
  }
  for (ValueId out : outputs_) {
    if (!available[static_cast<std::size_t>(out)])
      throw ops::InvalidArgument(fmt::format("{}: output '{}' is never computed", name_, value(out).name));
  }
}

std::vector<NodeId> Graph::consumers(ValueId v) const {
  std::vector<NodeId> users;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const auto& ins = nodes_[n].inputs;
    if (std::find(ins.begin(), ins.end(), v) != ins.end()) users.push_back(static_cast<NodeId>(n));
  }
  return users;
}

void Graph::remove_dead_nodes() {
  std::vector<bool> needed(values_.size(), false);
  for (ValueId out : outputs_) needed[static_cast<std::size_t>(out)] = true;
  std::vector<bool> keep(nodes_.size(), false);
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    if (!needed[static_cast<std::size_t>(nodes_[i].output)]) continue;
    keep[i] = true;
    for (ValueId in : nodes_[i].inputs)
      if (in != kNoValue) needed[static_cast<std::size_t>(in)] = true;
  }
  for (ValueId in : inputs_) needed[static_cast<std::size_t>(in)] = true;
  // Rebuild with compacted ids.
  std::vector<ValueId> remap(values_.size(), kNoValue);
  std::vector<Value> values;
  for (std::size_t i = 0; i < values_.size(); ++i) {
    const bool produced_by_dropped =
        values_[i].producer >= 0 && !keep[static_cast<std::size_t>(values_[i].producer)];
    if (!needed[i] || produced_by_dropped) continue;
    remap[i] = static_cast<ValueId>(values.size());
    values.push_back(std::move(values_[i]));
  }
  std::vector<Node> nodes;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!keep[i]) continue;
    Node n = std::move(nodes_[i]);
    for (ValueId& in : n.inputs)
      if (in != kNoValue) in = remap[static_cast<std::size_t>(in)];
    n.output = remap[static_cast<std::size_t>(n.output)];
    values[static_cast<std::size_t>(n.output)].producer = static_cast<NodeId>(nodes.size());
    nodes.push_back(std::move(n));
  }
  for (ValueId& in : inputs_) in = remap[static_cast<std::size_t>(in)];
  for (ValueId& out : outputs_) out = remap[static_cast<std::size_t>(out)];
  values_ = std::move(values);
  nodes_ = std::move(nodes);
}

std::int64_t Graph::flops(const Node& node) const {
  const ops::Shape& out = value(node.output).shape;
  const std::int64_t n_out = ops::numel(out);
  return std::visit(
      Overloaded{
          [&](const ConvAttrs& a) {
            const auto& p = a.params;
            std::int64_t f = 2 * n_out * (p.in_channels / p.groups) * p.kernel_h * p.kernel_w;
            if (p.has_bias) f += n_out;
            if (a.epilogue.batchnorm) f += 2 * n_out;
            if (a.epilogue.residual) f += n_out;
            return f;
          },
          [&](const BatchNormAttrs&) { return 2 * n_out; },
          [&](const ActivationAttrs&) { return n_out; },
          [&](const BinaryAttrs&) { return n_out; },
          [&](const PoolAttrs& a) { return n_out * a.params.kernel_h * a.params.kernel_w; },
          [&](const GlobalAveragePoolAttrs&) { return ops::numel(value(node.inputs[0]).shape); },
          [&](const ConcatAttrs&) { return std::int64_t{0}; },
          [&](const SliceAttrs&) { return std::int64_t{0}; },
          [&](const GemmAttrs& a) { return 2 * n_out * a.params.in_features; },
          [&](const SoftmaxAttrs&) { return 3 * n_out; },
          [&](const FlattenAttrs&) { return std::int64_t{0}; },
          [&](const ReshapeAttrs&) { return std::int64_t{0}; },
          [&](const TransposeAttrs&) { return std::int64_t{0}; },
          [&](const PadAttrs&) { return std::int64_t{0}; },
          [&](const ConvTransposeAttrs& a) {
            // Every input pixel meets every tap of its group's out channels: the scatter count,
            // including taps the padding later cuts away.
            const auto& p = a.params;
            const std::int64_t n_in = ops::numel(value(node.inputs[0]).shape);
            return 2 * n_in * (p.out_channels / p.groups) * p.kernel_h * p.kernel_w + (p.has_bias ? n_out : 0);
          },
          [&](const ResizeAttrs& a) {
            // A bilinear output reads 4 values with 3 lerps (2 flops each); nearest only copies.
            return a.params.mode == ops::ResizeMode::linear ? 6 * n_out : std::int64_t{0};
          },
          [&](const ReduceMeanAttrs&) { return ops::numel(value(node.inputs[0]).shape); },
          // Two sums, a centred square, then (x - mean) / root * gamma + beta.
          [&](const LayerNormAttrs&) { return 8 * n_out; },
      },
      node.attrs);
}

std::int64_t Graph::total_flops() const {
  std::int64_t total = 0;
  for (const Node& n : nodes_) total += flops(n);
  return total;
}

std::int64_t Graph::parameter_count() const {
  std::int64_t total = 0;
  for (const Value& v : values_)
    if (v.constant) total += ops::numel(v.shape);
  return total;
}

}  // namespace fusescope::graph
