// NetworkBuilder: writes a Graph the way the frameworks' model code reads — conv, batchnorm,
// activation, add, pool, concat — with scopes pushed and popped around stages and blocks, and
// deterministic weights. Every weight tensor is initialised from (model seed, its own name), so
// a network's weights do not depend on the order it was built in, and a graph built at another
// input size gets exactly the same weights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace fusescope::models {

using graph::ValueId;

struct ConvSpec {
  std::int64_t filters = 0;
  std::int64_t kernel = 1;                    // square kernel
  std::int64_t stride = 1;
  std::int64_t padding = -1;                  // symmetric; -1: "same" for stride 1, (k-1)/2
  std::int64_t groups = 1;
  std::int64_t dilation = 1;
  bool bias = false;
};

class NetworkBuilder {
 public:
  NetworkBuilder(std::string model_name, std::uint32_t seed);

  ValueId input(const std::string& name, const ops::Shape& shape);

  ValueId conv(ValueId x, const std::string& name, const ConvSpec& spec);
  // Inference BatchNorm with neutral statistics (gamma 1, beta 0, mean 0, var 1): calibration
  // (models/calibrate.hpp) replaces them with statistics observed on real activations.
  ValueId batchnorm(ValueId x, const std::string& name, float epsilon = 1e-5f);
  ValueId activation(ValueId x, const std::string& name, const ops::Activation& act);
  ValueId add(ValueId a, ValueId b, const std::string& name);
  ValueId max_pool(ValueId x, const std::string& name, std::int64_t kernel, std::int64_t stride,
                   std::int64_t padding = 0, bool ceil_mode = false);
  ValueId avg_pool(ValueId x, const std::string& name, std::int64_t kernel, std::int64_t stride,
                   std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);
  ValueId global_average_pool(ValueId x, const std::string& name);
  ValueId concat(const std::vector<ValueId>& xs, const std::string& name, std::int64_t axis = 1);
  ValueId slice(ValueId x, const std::string& name, std::int64_t axis, std::int64_t start, std::int64_t length);
  ValueId flatten(ValueId x, const std::string& name);
  ValueId linear(ValueId x, const std::string& name, std::int64_t out_features, bool bias = true);
  ValueId softmax(ValueId x, const std::string& name, std::int64_t axis = -1);

  // Scopes nest: push("conv2"), push("block1") gives "conv2/block1" to the nodes added next.
  void push_scope(const std::string& scope);
  void pop_scope();

  const ops::Shape& shape(ValueId v) const { return graph_.value(v).shape; }
  std::int64_t channels(ValueId v) const { return shape(v).at(1); }
  graph::Graph& graph() { return graph_; }

  // Marks the outputs and hands the graph over (validated).
  graph::Graph finish(const std::vector<ValueId>& outputs);

  // Deterministic uniform values for a named tensor.
  std::vector<float> uniform(const std::string& tensor_name, std::int64_t count, float lo, float hi) const;

 private:
  std::string scope() const;

  graph::Graph graph_;
  std::uint32_t seed_;
  std::vector<std::string> scopes_;
};

// RAII scope: `ScopeGuard s(builder, "conv2");`
class ScopeGuard {
 public:
  ScopeGuard(NetworkBuilder& b, const std::string& scope) : b_(b) { b_.push_scope(scope); }
  ~ScopeGuard() { b_.pop_scope(); }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

 private:
  NetworkBuilder& b_;
};

}  // namespace fusescope::models
