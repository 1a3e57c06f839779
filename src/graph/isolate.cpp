#include "graph/isolate.hpp"

#include <map>

namespace fusescope::graph {

Graph isolate_nodes(const Graph& g) {
  Graph local(g.name() + kLocalSuffix);
  std::map<ValueId, ValueId> mapped;  // g's input/constant values -> local's
  auto map_value = [&](ValueId v) -> ValueId {
    if (v == kNoValue) return kNoValue;
    auto it = mapped.find(v);
    if (it != mapped.end()) return it->second;
    const Value& value = g.value(v);
    const ValueId id = value.constant ? local.add_constant(value.name, value.shape, value.data)
                                      : local.add_input(value.name, value.shape);
    mapped.emplace(v, id);
    return id;
  };
  for (const Node& node : g.nodes()) {
    std::vector<ValueId> inputs;
    for (ValueId in : node.inputs) inputs.push_back(map_value(in));
    const ValueId out = local.add_node(node.name, node.scope, node.attrs, inputs,
                                       g.value(node.output).name + kLocalSuffix);
    local.nodes().back().provenance = node.provenance;
    local.mark_output(out);
  }
  return local;
}

}  // namespace fusescope::graph
