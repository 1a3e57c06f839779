// Runs a whole Graph on the float64 oracle (src/reference): the judge that `compare` holds
// every GPU run against, and the engine BatchNorm calibration walks the network with.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "reference/host_tensor.hpp"

namespace fusescope::graph {

struct OracleOptions {
  bool keep_all = false;           // keep every value (else outputs and `keep` only)
  std::vector<std::string> keep;   // value names to keep
  // Called before each node runs, with its activation inputs; may change the graph's
  // constants that node reads (calibration sets BN statistics here).
  std::function<void(Graph&, const Node&, const std::vector<const reference::HostTensor*>&)> before_node;
};

// inputs: graph input name -> NCHW values. Returns the kept values by name.
std::map<std::string, reference::HostTensor> run_oracle(Graph& graph,
                                                        const std::map<std::string, std::vector<float>>& inputs,
                                                        const OracleOptions& options = {});

}  // namespace fusescope::graph
