// torch.onnx.export writes nn.Linear on an N-D activation (ConvNeXt's channels-last MLP, any
// transformer) as MatMul by the weight, then Add of the bias: fusescope imports the MatMul as a
// gemm between two reshapes (N-D -> 2-D -> N-D), so the bias costs a dispatch of its own over
// the whole output. This pass gives the bias to the gemm (its epilogue adds it, in fp32, exactly
// as the Add did: one rounding of the same sum), and the Add disappears into the reshape after
// the gemm, which now produces the Add's value under its name. Bit for bit the unfused result.
#include <fmt/format.h>

#include "fusion/passes.hpp"
#include "fusion/rewrite.hpp"

namespace fusescope::fusion {

namespace {

// The bias values when `v` is a constant of `n` values laid along the last axis ([n], [1, n],
// [1, 1, n] ...), else empty.
std::vector<float> bias_values(const graph::Graph& g, graph::ValueId v, std::int64_t n) {
  const graph::Value& c = g.value(v);
  if (!c.constant || c.shape.empty() || c.shape.back() != n || ops::numel(c.shape) != n) return {};
  return c.data;
}

}  // namespace

FusionReport fold_bias_into_gemm(graph::Graph& g) {
  FusionReport report;
  report.nodes_before = g.nodes().size();
  std::vector<bool> dead(g.nodes().size(), false);
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    const auto* gemm = g.nodes()[i].as<graph::GemmAttrs>();
    if (gemm == nullptr || gemm->params.has_bias || gemm->params.activation.kind != ops::ActivationKind::none)
      continue;
    const std::int64_t n = gemm->params.out_features;
    // gemm -> [reshape ->] add(bias)
    graph::NodeId via = -1;
    graph::ValueId y = g.nodes()[i].output;
    graph::NodeId next = sole_consumer(g, y);
    if (next >= 0 && g.node(next).as<graph::ReshapeAttrs>() != nullptr) {
      const ops::Shape& s = g.value(g.node(next).output).shape;
      if (s.empty() || s.back() != n) continue;  // the features must stay the last axis
      via = next;
      y = g.node(next).output;
      next = sole_consumer(g, y);
    }
    if (next < 0 || !is_binary(g.node(next), ops::BinaryOp::add)) continue;
    const graph::ValueId other = other_input(g.node(next), y);
    std::vector<float> b = other == graph::kNoValue ? std::vector<float>{} : bias_values(g, other, n);
    if (b.empty() || g.value(g.node(next).output).shape != g.value(y).shape) continue;

    const std::string bias_name = g.value(other).name;
    const graph::ValueId bias = add_unique_constant(g, g.nodes()[i].name + ".bias", {n}, std::move(b));
    graph::Node& keep_gemm = g.nodes()[i];
    auto* attrs = keep_gemm.as<graph::GemmAttrs>();
    attrs->params.has_bias = true;
    keep_gemm.inputs[2] = bias;
    const graph::NodeId holder = via >= 0 ? via : static_cast<graph::NodeId>(i);
    const std::string add_name = g.node(next).name;
    absorb(g, holder, next, dead);
    report.changes.push_back({"fold_bias_into_gemm", g.node(holder).name, {add_name},
                              fmt::format("Add of '{}' as the bias of gemm '{}'", bias_name, keep_gemm.name)});
  }
  erase_dead_nodes(g, dead);
  report.nodes_after = g.nodes().size();
  return report;
}

}  // namespace fusescope::fusion
