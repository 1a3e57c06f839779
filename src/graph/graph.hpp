// Graph: named values and the nodes that compute them, grouped in hierarchical scopes
// ("conv2/block1"), with shapes inferred as nodes are added. Every node has exactly one output
// value, named after what it computes; a fused node remembers which nodes of the original graph
// it replaced (provenance) and its output keeps the name of the original value it stands for,
// so comparing a fused graph with the original is a join on value names.
//
// Shapes are logical NCHW whatever layout the executor runs in.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "ops/activation.hpp"
#include "ops/concat.hpp"
#include "ops/conv2d.hpp"
#include "ops/conv_transpose.hpp"
#include "ops/elementwise.hpp"
#include "ops/gemm.hpp"
#include "ops/layer_norm.hpp"
#include "ops/pad.hpp"
#include "ops/pool2d.hpp"
#include "ops/resize.hpp"
#include "ops/reduce_mean.hpp"
#include "ops/shape.hpp"
#include "ops/softmax.hpp"
#include "ops/transpose.hpp"

namespace fusescope::graph {

using ValueId = std::int32_t;
using NodeId = std::int32_t;
constexpr ValueId kNoValue = -1;

// How a conv node is computed (ops::ConvAlgorithm: direct, gemm); the encoder resolves
// `automatic` per shape, and users may pin one (like Paddle's use_cudnn) to compare candidates.
using ConvAlgorithm = ops::ConvAlgorithm;

// Input slots: {x, weight, bias | kNoValue, bn_stats [4,C] | kNoValue, residual | kNoValue}.
struct ConvAttrs {
  ops::Conv2dParams params;
  ops::ConvEpilogue epilogue;
  ConvAlgorithm algorithm = ConvAlgorithm::automatic;
};
// Inputs {x, stats [4,C]}: rows gamma, beta, running mean, running var.
struct BatchNormAttrs {
  ops::BatchNormParams params;
  ops::Activation activation;
};
struct ActivationAttrs {
  ops::Activation activation;
};
struct BinaryAttrs {  // inputs {a, b}, NumPy broadcasting
  ops::BinaryOp op = ops::BinaryOp::add;
};
struct PoolAttrs {
  ops::Pool2dParams params;
};
struct GlobalAveragePoolAttrs {};
struct ConcatAttrs {  // inputs {x0, x1, ...}
  std::int64_t axis = 1;
};
struct SliceAttrs {
  ops::SliceParams params;
};
struct GemmAttrs {  // inputs {x, weight, bias | kNoValue}
  ops::GemmParams params;
};
struct SoftmaxAttrs {
  ops::SoftmaxParams params;
};
struct FlattenAttrs {  // [N, C, H, W] -> [N, C*H*W]; no dispatch, the output aliases the input
};
// A view under a new shape (ONNX Reshape, and Squeeze/Unsqueeze/Flatten on activations): no
// dispatch, the output aliases the input. Per ONNX Reshape, a 0 copies the input's dim at that
// index and one -1 takes whatever the other dims leave; the element count must match.
struct ReshapeAttrs {
  ops::Shape shape;
};
// A general axis permutation (ONNX Transpose). One copy dispatch, or none where the executor
// finds the permutation keeps every element where it was in memory (it then runs it as a view).
struct TransposeAttrs {
  ops::TransposeParams params;
};
struct PadAttrs {  // ONNX Pad: constant, reflect or edge
  ops::PadParams params;
};
// Inputs {x, weight [C, OC/groups, KH, KW], bias [OC] | kNoValue}.
struct ConvTransposeAttrs {
  ops::ConvTranspose2dParams params;
};
struct ResizeAttrs {  // inputs {x}
  ops::ResizeParams params;
};
struct ReduceMeanAttrs {  // mean over params.axes (all when empty), keepdims or not
  ops::ReduceMeanParams params;
};
// Inputs {x, affine [2, L]}: rows gamma, beta (fp32, like BN statistics), L = x's size along the axis.
struct LayerNormAttrs {
  ops::LayerNormParams params;
};

using Attributes = std::variant<ConvAttrs, BatchNormAttrs, ActivationAttrs, BinaryAttrs, PoolAttrs,
                                GlobalAveragePoolAttrs, ConcatAttrs, SliceAttrs, GemmAttrs,
                                SoftmaxAttrs, FlattenAttrs, ReshapeAttrs, TransposeAttrs, PadAttrs,
                                ConvTransposeAttrs, ResizeAttrs, ReduceMeanAttrs, LayerNormAttrs>;

// The shape a ReshapeAttrs node gives `input`: 0 and -1 resolved per ONNX Reshape (allowzero 0);
// throws ops::InvalidArgument naming `name` when the element counts cannot match.
ops::Shape reshape_output_shape(const ops::Shape& target, const ops::Shape& input, const std::string& name);

// "conv2d", "batchnorm", ... for tables and error messages.
const char* op_name(const Attributes& attrs);

struct Value {
  std::string name;
  ops::Shape shape;
  NodeId producer = -1;     // -1: a graph input or a constant
  bool constant = false;
  std::vector<float> data;  // constants only (weights, biases, BN statistics)
};

struct Node {
  std::string name;   // unique in the graph
  std::string scope;  // '/'-separated, outermost first; "" at top level
  Attributes attrs;
  std::vector<ValueId> inputs;
  ValueId output = kNoValue;
  // Names of the original graph's nodes this node computes, in their order. A node that was
  // not fused lists only itself.
  std::vector<std::string> provenance;

  template <class T>
  const T* as() const { return std::get_if<T>(&attrs); }
  template <class T>
  T* as() { return std::get_if<T>(&attrs); }
};

class Graph {
 public:
  explicit Graph(std::string name = "graph") : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  ValueId add_input(const std::string& name, const ops::Shape& shape);
  ValueId add_constant(const std::string& name, const ops::Shape& shape, std::vector<float> data);
  // Infers the output shape (throwing ops::InvalidArgument that names the node on bad shapes)
  // and returns the output value, named `output_name` (default: the node's name).
  ValueId add_node(const std::string& name, const std::string& scope, Attributes attrs,
                   std::vector<ValueId> inputs, const std::string& output_name = "");
  void mark_output(ValueId value);

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<Value>& values() const { return values_; }
  std::vector<Value>& values() { return values_; }
  const Value& value(ValueId id) const { return values_.at(static_cast<std::size_t>(id)); }
  Value& value(ValueId id) { return values_.at(static_cast<std::size_t>(id)); }
  const Node& node(NodeId id) const { return nodes_.at(static_cast<std::size_t>(id)); }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }

  NodeId find_node(const std::string& name) const;    // -1 when absent
  ValueId find_value(const std::string& name) const;  // kNoValue when absent
  // Like find_*, but throws ops::InvalidArgument listing a few names that do exist.
  NodeId require_node(const std::string& name) const;
  ValueId require_value(const std::string& name) const;

  // Recomputes every node's output shape in order (after a pass rewrote attributes).
  void infer_shapes();
  // Checks names are unique, inputs precede their users, slots match attributes.
  void validate() const;
  // Drops nodes whose outputs nobody reads (and constants nobody uses); keeps order.
  void remove_dead_nodes();

  std::int64_t flops(const Node& node) const;  // multiply-adds count as 2
  std::int64_t total_flops() const;
  std::int64_t parameter_count() const;        // elements of all constants

  // Nodes that read `value`.
  std::vector<NodeId> consumers(ValueId value) const;

 private:
  ops::Shape infer_shape(const Node& node) const;
  ValueId add_value(Value v);

  std::string name_;
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
};

}  // namespace fusescope::graph
