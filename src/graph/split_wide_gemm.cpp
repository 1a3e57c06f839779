#include "graph/split_wide_gemm.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fusescope::graph {

namespace {

std::string unique_value_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 2; g.find_value(name) != kNoValue; ++i) name = fmt::format("{}.{}", base, i);
  return name;
}

std::string unique_node_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 2; g.find_node(name) != -1; ++i) name = fmt::format("{}.{}", base, i);
  return name;
}

}  // namespace

int split_wide_gemms(Graph& g, std::uint64_t max_weight_bytes) {
  int split = 0;
  for (std::size_t i = 0; i < g.nodes().size(); ++i) {
    const auto* gemm = g.nodes()[i].as<GemmAttrs>();
    if (gemm == nullptr) continue;
    const ValueId w_id = g.nodes()[i].inputs[1];
    const std::uint64_t bytes = static_cast<std::uint64_t>(g.value(w_id).data.size()) * 4;
    if (!g.value(w_id).constant || bytes <= max_weight_bytes) continue;
    // Copies: adding values and nodes below moves the vectors these would point into.
    const ops::GemmParams p = gemm->params;
    const std::string name = g.nodes()[i].name, scope = g.nodes()[i].scope;
    const ValueId x = g.nodes()[i].inputs[0], b_id = g.nodes()[i].inputs[2];
    const std::vector<float> w = g.value(w_id).data;
    const std::vector<float> b = b_id == kNoValue ? std::vector<float>{} : g.value(b_id).data;
    const std::int64_t n = p.out_features, k = p.in_features;
    const std::int64_t per_part = std::max<std::int64_t>(1, static_cast<std::int64_t>(max_weight_bytes / (4 * k)));
    std::vector<ValueId> parts;
    for (std::int64_t n0 = 0; n0 < n; n0 += per_part) {
      const std::int64_t n1 = std::min(n, n0 + per_part), cols = n1 - n0;
      // transpose_weight: [N, K], a part is a block of rows; else [K, N], a block of columns.
      std::vector<float> wp;
      wp.reserve(static_cast<std::size_t>(cols * k));
      if (p.transpose_weight) {
        wp.assign(w.begin() + n0 * k, w.begin() + n1 * k);
      } else {
        for (std::int64_t r = 0; r < k; ++r) wp.insert(wp.end(), w.begin() + r * n + n0, w.begin() + r * n + n1);
      }
      ops::GemmParams pp = p;
      pp.out_features = cols;
      const std::string part = fmt::format("{}/part{}", name, parts.size());
      const ValueId wv = g.add_constant(unique_value_name(g, part + ".weight"),
                                        p.transpose_weight ? ops::Shape{cols, k} : ops::Shape{k, cols}, std::move(wp));
      ValueId bv = kNoValue;
      if (b_id != kNoValue)
        bv = g.add_constant(unique_value_name(g, part + ".bias"), {cols}, {b.begin() + n0, b.begin() + n1});
      const std::string node_name = unique_node_name(g, part);
      parts.push_back(g.add_node(node_name, scope, GemmAttrs{pp}, {x, wv, bv}, unique_value_name(g, node_name)));
    }
    // The parts were appended; move them in front of the gemm, which becomes their concat.
    auto& nodes = g.nodes();
    const std::size_t count = parts.size();
    std::rotate(nodes.begin() + static_cast<std::ptrdiff_t>(i), nodes.end() - static_cast<std::ptrdiff_t>(count),
                nodes.end());
    Node& join = nodes[i + count];
    join.attrs = ConcatAttrs{1};
    join.inputs = parts;
    for (std::size_t j = 0; j < nodes.size(); ++j) g.value(nodes[j].output).producer = static_cast<NodeId>(j);
    i += count;
    ++split;
  }
  if (split > 0) g.remove_dead_nodes();  // the whole weights nobody reads any more
  return split;
}

}  // namespace fusescope::graph
