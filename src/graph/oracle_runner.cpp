#include "graph/oracle_runner.hpp"

#include <fmt/format.h>

#include "reference/activation.hpp"
#include "reference/batchnorm.hpp"
#include "reference/concat.hpp"
#include "reference/conv2d.hpp"
#include "reference/conv_transpose.hpp"
#include "reference/elementwise.hpp"
#include "reference/gemm.hpp"
#include "reference/pad.hpp"
#include "reference/pool2d.hpp"
#include "reference/resize.hpp"
#include "reference/layer_norm.hpp"
#include "reference/reduce_mean.hpp"
#include "reference/softmax.hpp"
#include "reference/transpose.hpp"

namespace fusescope::graph {

using reference::HostTensor;

std::map<std::string, HostTensor> run_oracle(Graph& graph,
                                             const std::map<std::string, std::vector<float>>& inputs,
                                             const OracleOptions& options) {
  const std::size_t nv = graph.values().size();
  std::vector<HostTensor> live(nv);
  std::vector<int> last_use(nv, -1);
  std::vector<bool> keep(nv, options.keep_all);
  for (ValueId out : graph.outputs()) keep[static_cast<std::size_t>(out)] = true;
  for (const auto& name : options.keep) keep[static_cast<std::size_t>(graph.require_value(name))] = true;
  for (std::size_t n = 0; n < graph.nodes().size(); ++n)
    for (ValueId in : graph.nodes()[n].inputs)
      if (in != kNoValue) last_use[static_cast<std::size_t>(in)] = static_cast<int>(n);

  for (ValueId id : graph.inputs()) {
    const Value& v = graph.value(id);
    auto it = inputs.find(v.name);
    if (it == inputs.end())
      throw ops::InvalidArgument(fmt::format("{}: no values for input '{}'", graph.name(), v.name));
    if (static_cast<std::int64_t>(it->second.size()) != ops::numel(v.shape))
      throw ops::InvalidArgument(fmt::format("{}: input '{}' has shape {}, got {} values", graph.name(),
                                             v.name, ops::to_string(v.shape), it->second.size()));
    live[static_cast<std::size_t>(id)] = HostTensor(v.shape, {it->second.begin(), it->second.end()});
  }
  auto constant = [&](ValueId id) {
    const Value& v = graph.value(id);
    return HostTensor(v.shape, {v.data.begin(), v.data.end()});
  };

  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    std::vector<const HostTensor*> acts;
    for (ValueId in : node.inputs)
      if (in != kNoValue && !graph.value(in).constant) acts.push_back(&live[static_cast<std::size_t>(in)]);
    if (options.before_node) options.before_node(graph, node, acts);

    // Constants are read after the hook, so calibration's changes take effect.
    std::vector<HostTensor> consts(node.inputs.size());
    auto arg = [&](std::size_t slot) -> const HostTensor* {
      if (slot >= node.inputs.size() || node.inputs[slot] == kNoValue) return nullptr;
      const ValueId id = node.inputs[slot];
      if (!graph.value(id).constant) return &live[static_cast<std::size_t>(id)];
      consts[slot] = constant(id);
      return &consts[slot];
    };
    HostTensor out;
    if (auto* a = node.as<ConvAttrs>()) {
      out = reference::conv2d_with_epilogue(a->params, a->epilogue, *arg(0), *arg(1), arg(2), arg(3), arg(4));
    } else if (auto* a = node.as<BatchNormAttrs>()) {
      out = reference::batchnorm(a->params, *arg(0), *arg(1), a->activation);
    } else if (auto* a = node.as<ActivationAttrs>()) {
      out = reference::activation(*arg(0), a->activation);
    } else if (auto* a = node.as<BinaryAttrs>()) {
      out = reference::binary(a->op, *arg(0), *arg(1));
    } else if (auto* a = node.as<PoolAttrs>()) {
      out = reference::pool2d(a->params, *arg(0));
    } else if (node.as<GlobalAveragePoolAttrs>()) {
      out = reference::global_average_pool(*arg(0));
    } else if (auto* a = node.as<ConvTransposeAttrs>()) {
      out = reference::conv_transpose2d(a->params, *arg(0), *arg(1), arg(2));
    } else if (auto* a = node.as<ResizeAttrs>()) {
      out = reference::resize(a->params, *arg(0));
    } else if (auto* a = node.as<ConcatAttrs>()) {
      std::vector<const HostTensor*> parts;
      for (std::size_t s = 0; s < node.inputs.size(); ++s) parts.push_back(arg(s));
      out = reference::concat(parts, a->axis);
    } else if (auto* a = node.as<SliceAttrs>()) {
      out = reference::slice(a->params, *arg(0));
    } else if (auto* a = node.as<GemmAttrs>()) {
      out = reference::gemm(a->params, *arg(0), *arg(1), arg(2));
    } else if (auto* a = node.as<SoftmaxAttrs>()) {
      out = reference::softmax(a->params, *arg(0));
    } else if (auto* a = node.as<TransposeAttrs>()) {
      out = reference::transpose(a->params, *arg(0));
    } else if (auto* a = node.as<PadAttrs>()) {
      out = reference::pad(a->params, *arg(0));
    } else if (auto* a = node.as<ReduceMeanAttrs>()) {
      out = reference::reduce_mean(a->params, *arg(0));
    } else if (auto* a = node.as<LayerNormAttrs>()) {
      out = reference::layer_norm(a->params, *arg(0), *arg(1));
    } else if (node.as<FlattenAttrs>() || node.as<ReshapeAttrs>()) {
      out = *arg(0);
      out.shape = graph.value(node.output).shape;
    } else {
      throw std::logic_error(fmt::format("{}: no oracle for {}", node.name, op_name(node.attrs)));
    }
    live[static_cast<std::size_t>(node.output)] = std::move(out);
    // Drop what nobody needs any more: a ResNet50 in float64 is large.
    for (ValueId in : node.inputs) {
      if (in == kNoValue) continue;
      const auto i = static_cast<std::size_t>(in);
      if (!keep[i] && last_use[i] == static_cast<int>(n) && !graph.value(in).constant) live[i] = {};
    }
  }
  std::map<std::string, HostTensor> result;
  for (std::size_t v = 0; v < nv; ++v) {
    if (keep[v] && !graph.values()[v].constant) result.emplace(graph.values()[v].name, std::move(live[v]));
  }
  return result;
}

}  // namespace fusescope::graph
