// torch.onnx.export writes nn.LayerNorm below opset 17 (which has LayerNormalization) as nine
// nodes over the last axis,
//   m = ReduceMean(x);  d = x - m;  v = ReduceMean(d ^ 2);  n = d / Sqrt(v + eps);
//   y = n * gamma + beta          (gamma and beta absent when elementwise_affine=False),
// nine dispatches and eight intermediate tensors for one normalisation (ConvNeXt has 23 of them).
// This pass recognises the chain and makes it one layer_norm node, one dispatch, computing the
// same two-pass mean and variance in fp32 in its own order: the fused value drifts by a few fp32
// ulps from the chain's, and compare shows it like every other fusion's drift.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// The one axis a ReduceMean with keepdims averages over, normalised; -1 when it is not such a node.
std::int64_t single_kept_axis(const graph::Graph& g, const graph::Node& n) {
  const auto* r = n.as<graph::ReduceMeanAttrs>();
  if (r == nullptr || !r->params.keepdims || r->params.axes.size() != 1) return -1;
  const std::size_t rank = g.value(n.inputs[0]).shape.size();
  const std::int64_t a = r->params.axes[0] < 0 ? r->params.axes[0] + static_cast<std::int64_t>(rank) : r->params.axes[0];
  return a >= 0 && a < static_cast<std::int64_t>(rank) ? a : -1;
}

// A constant holding one value per position along `axis` of a rank-`rank` tensor of length
// `len` there (broadcast over every other dim), or a single value: its `len` values, else empty.
std::vector<float> per_axis_values(const graph::Graph& g, graph::ValueId v, std::size_t rank, std::int64_t axis,
                                   std::int64_t len) {
  const graph::Value& c = g.value(v);
  if (!c.constant || c.shape.size() > rank) return {};
  if (c.data.size() == 1) return std::vector<float>(static_cast<std::size_t>(len), c.data[0]);
  // Right-align the constant's shape against the tensor's: only the axis may exceed 1.
  const std::size_t offset = rank - c.shape.size();
  for (std::size_t d = 0; d < c.shape.size(); ++d) {
    const bool at_axis = static_cast<std::int64_t>(d + offset) == axis;
    if (c.shape[d] != (at_axis ? len : 1)) return {};
  }
  return static_cast<std::int64_t>(c.data.size()) == len ? c.data : std::vector<float>{};
}

}  // namespace

FusionReport fuse_layer_norm_pattern(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    if (dead[i]) continue;
    const graph::Node& mean = g.nodes()[i];
    const std::int64_t axis = single_kept_axis(g, mean);
    if (axis < 0) continue;
    const graph::ValueId x = mean.inputs[0];
    const ops::Shape xs = g.value(x).shape;
    const std::size_t rank = xs.size();
    const std::int64_t len = xs[static_cast<std::size_t>(axis)];
    // d = x - mean
    const graph::NodeId sub_id = sole_consumer(g, mean.output);
    if (sub_id < 0) continue;
    const graph::Node& sub = g.node(sub_id);
    if (!is_binary(sub, ops::BinaryOp::sub) || sub.inputs[0] != x || sub.inputs[1] != mean.output) continue;
    const graph::ValueId d = sub.output;
    // d feeds exactly the square and the division.
    const auto& outs = g.outputs();
    if (std::find(outs.begin(), outs.end(), d) != outs.end()) continue;
    const std::vector<graph::NodeId> users = g.consumers(d);
    if (users.size() != 2) continue;
    graph::NodeId pow_id = -1, div_id = -1;
    for (graph::NodeId u : users) {
      const graph::Node& n = g.node(u);
      if (is_binary(n, ops::BinaryOp::pow) && n.inputs[0] == d && scalar_constant(g, n.inputs[1]) == 2.0f) pow_id = u;
      if (is_binary(n, ops::BinaryOp::div) && n.inputs[0] == d && n.inputs[1] != d) div_id = u;
    }
    if (pow_id < 0 || div_id < 0) continue;
    // v = mean(d^2) over the same axis, then + eps, sqrt, and the division's divisor.
    const graph::NodeId var_id = sole_consumer(g, g.node(pow_id).output);
    if (var_id < 0 || single_kept_axis(g, g.node(var_id)) != axis) continue;
    const graph::NodeId eps_id = sole_consumer(g, g.node(var_id).output);
    if (eps_id < 0 || !is_binary(g.node(eps_id), ops::BinaryOp::add)) continue;
    const float epsilon = scalar_constant(g, other_input(g.node(eps_id), g.node(var_id).output));
    if (!(epsilon >= 0.0f) || !std::isfinite(epsilon)) continue;
    const graph::NodeId sqrt_id = sole_consumer(g, g.node(eps_id).output);
    if (sqrt_id < 0) continue;
    const auto* sqrt = g.node(sqrt_id).as<graph::ActivationAttrs>();
    if (sqrt == nullptr || sqrt->activation.kind != ops::ActivationKind::sqrt) continue;
    if (sole_consumer(g, g.node(sqrt_id).output) != div_id || g.node(div_id).inputs[1] != g.node(sqrt_id).output) continue;
    if (g.value(g.node(div_id).output).shape != xs) continue;
    // Optional affine: * gamma, then + beta, each per position along the axis (or one value).
    graph::NodeId last = div_id;
    std::vector<float> gamma(static_cast<std::size_t>(len), 1.0f), beta(static_cast<std::size_t>(len), 0.0f);
    graph::NodeId mul_id = sole_consumer(g, g.node(last).output);
    if (mul_id >= 0 && is_binary(g.node(mul_id), ops::BinaryOp::mul)) {
      std::vector<float> v = per_axis_values(g, other_input(g.node(mul_id), g.node(last).output), rank, axis, len);
      if (!v.empty() && g.value(g.node(mul_id).output).shape == xs) {
        gamma = std::move(v);
        last = mul_id;
      } else {
        mul_id = -1;
      }
    } else {
      mul_id = -1;
    }
    graph::NodeId add_id = sole_consumer(g, g.node(last).output);
    if (add_id >= 0 && is_binary(g.node(add_id), ops::BinaryOp::add)) {
      std::vector<float> v = per_axis_values(g, other_input(g.node(add_id), g.node(last).output), rank, axis, len);
      if (!v.empty() && g.value(g.node(add_id).output).shape == xs) {
        beta = std::move(v);
        last = add_id;
      } else {
        add_id = -1;
      }
    } else {
      add_id = -1;
    }

    std::vector<float> affine = std::move(gamma);
    affine.insert(affine.end(), beta.begin(), beta.end());
    graph::Node& keep = g.nodes()[i];
    const graph::ValueId params = add_unique_constant(g, keep.name + ".affine", {2, len}, std::move(affine));
    keep.attrs = graph::LayerNormAttrs{{axis - static_cast<std::int64_t>(rank), epsilon}};
    keep.inputs = {x, params};
    const std::size_t before = keep.provenance.size();
    for (graph::NodeId absorbed : {sub_id, pow_id, var_id, eps_id, sqrt_id, div_id, mul_id, add_id})
      if (absorbed >= 0) absorb(g, static_cast<graph::NodeId>(i), absorbed, dead);
    const graph::Node& fused = g.nodes()[i];
    std::vector<std::string> replaced(fused.provenance.begin() + static_cast<std::ptrdiff_t>(before), fused.provenance.end());
    report.changes.push_back({"fuse_layer_norm_pattern", fused.name, replaced,
                              fmt::format("(x - mean) / sqrt(var + {}) over axis {}{} as one layer_norm of '{}'", epsilon,
                                          axis, mul_id >= 0 || add_id >= 0 ? ", * gamma + beta," : "",
                                          g.value(x).name)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
