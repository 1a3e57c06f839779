#include "io/onnx_export.hpp"
#include "io/atomic_file.hpp"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_set>

#include "io/safetensors.hpp"  // FormatError

namespace fusescope::io {

namespace {

using graph::kNoValue;
using graph::ValueId;

constexpr std::int64_t kOpset = 13;     // why 13: see onnx_export.hpp
constexpr std::int64_t kIrVersion = 7;  // ONNX 1.8, the first release with opset 13

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

void set_shape(onnx::ValueInfoProto& v, const std::string& name, const ops::Shape& shape) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = tt->mutable_shape();
  for (std::int64_t d : shape) s->add_dim()->set_dim_value(d);
}

void attr(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void attr(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (std::int64_t x : v) a->add_ints(x);
}
void attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// Whether ONNX's rule for a Resize given `scales`, out = floor(in * scale), gives `out` both as
// our importer computes it (double) and as ONNX shape inference and ONNX Runtime do (float).
bool scale_gives_size(std::int64_t in, float scale, std::int64_t out) {
  const auto as_double = static_cast<std::int64_t>(std::floor(static_cast<double>(in) * static_cast<double>(scale)));
  const auto as_float = static_cast<std::int64_t>(std::floor(static_cast<float>(in) * scale));
  return as_double == out && as_float == out;
}

class Exporter {
 public:
  Exporter(const graph::Graph& g, const OnnxExportOptions& options) : g_(g), options_(options) {}

  onnx::ModelProto run() {
    g_.validate();
    model_.set_ir_version(kIrVersion);
    model_.set_producer_name("fusescope");
    model_.set_producer_version(FUSESCOPE_VERSION);
    if (!options_.doc_string.empty()) model_.set_doc_string(options_.doc_string);
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    for (const auto& [key, value] : options_.metadata) {
      auto* p = model_.add_metadata_props();
      p->set_key(key);
      p->set_value(value);
    }
    gp_ = model_.mutable_graph();
    gp_->set_name(g_.name());
    for (const graph::Value& v : g_.values()) taken_.insert(v.name);
    for (const graph::Node& n : g_.nodes()) taken_.insert(n.name);

    for (ValueId in : g_.inputs()) set_shape(*gp_->add_input(), g_.value(in).name, g_.value(in).shape);
    for (const graph::Node& node : g_.nodes()) export_node(node);
    std::unordered_set<ValueId> boundary(g_.inputs().begin(), g_.inputs().end());
    for (ValueId out : g_.outputs()) {
      const graph::Value& v = g_.value(out);
      if (v.producer < 0) {
        throw ops::InvalidArgument(fmt::format("{}: output '{}' is {}; an ONNX graph output must be computed by a node",
                                               g_.name(), v.name, v.constant ? "a constant" : "a graph input"));
      }
      set_shape(*gp_->add_output(), v.name, v.shape);
      boundary.insert(out);
    }
    for (const graph::Node& node : g_.nodes()) {
      if (!boundary.count(node.output)) set_shape(*gp_->add_value_info(), g_.value(node.output).name, g_.value(node.output).shape);
    }
    for (const auto& [name, shape] : helper_values_) set_shape(*gp_->add_value_info(), name, shape);

    try {
      onnx::checker::check_model(model_);
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: the exported ONNX model fails onnx::checker::check_model (an exporter bug): {}", g_.name(),
                      e.what()));
    }
    return std::move(model_);
  }

 private:
  [[noreturn]] void fail(const graph::Node& node, const std::string& message) const {
    throw ops::InvalidArgument(fmt::format("{}: node '{}' ({}): {}", g_.name(), node.name, graph::op_name(node.attrs), message));
  }

  // A name nothing in the graph or the model uses yet.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 2; taken_.count(name); ++i) name = fmt::format("{}.{}", base, i);
    taken_.insert(name);
    return name;
  }

  // ---- initializers ----
  onnx::TensorProto& new_initializer(const std::string& name, const ops::Shape& shape, onnx::TensorProto::DataType type) {
    auto* t = gp_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (std::int64_t d : shape) t->add_dims(d);
    return *t;
  }
  // raw_data is little-endian by the ONNX spec, as is every machine fusescope runs on.
  void float_initializer(const std::string& name, const ops::Shape& shape, const float* data, std::size_t count) {
    new_initializer(name, shape, onnx::TensorProto::FLOAT)
        .set_raw_data(std::string(reinterpret_cast<const char*>(data), count * sizeof(float)));
  }
  std::string float_vector(const std::string& base, const std::vector<float>& values) {
    const std::string name = fresh(base);
    float_initializer(name, {static_cast<std::int64_t>(values.size())}, values.data(), values.size());
    return name;
  }
  std::string int64_vector(const std::string& base, const std::vector<std::int64_t>& values) {
    const std::string name = fresh(base);
    new_initializer(name, {static_cast<std::int64_t>(values.size())}, onnx::TensorProto::INT64)
        .set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
    return name;
  }
  // A rank-0 float (Clip bounds must be scalars; the activation formulas' constants).
  std::string scalar(const std::string& base, float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    if (auto it = scalars_.find(bits); it != scalars_.end()) return it->second;
    const std::string name = fresh(base);
    float_initializer(name, {}, &value, 1);
    scalars_[bits] = name;
    return name;
  }

  // The ONNX name of a node input; a graph constant becomes an initializer on first use.
  std::string input(ValueId id) {
    const graph::Value& v = g_.value(id);
    if (v.constant && written_.insert(id).second) float_initializer(v.name, v.shape, v.data.data(), v.data.size());
    return v.name;
  }
  // A [4, C] BatchNorm statistics constant as ONNX's scale, B, mean, var (one [C] each).
  const std::vector<std::string>& batchnorm_inputs(const graph::Node& node, ValueId stats) {
    if (auto it = split_stats_.find(stats); it != split_stats_.end()) return it->second;
    const graph::Value& v = g_.value(stats);
    if (!v.constant || v.shape.size() != 2 || v.shape[0] != 4) {
      fail(node, fmt::format("batchnorm statistics '{}' must be a [4, C] constant to be written as ONNX initializers", v.name));
    }
    const std::int64_t c = v.shape[1];
    std::vector<std::string> names;
    const char* rows[] = {"scale", "bias", "mean", "var"};
    for (std::size_t r = 0; r < 4; ++r) {
      names.push_back(fresh(v.name + "." + rows[r]));
      float_initializer(names.back(), {c}, v.data.data() + r * static_cast<std::size_t>(c), static_cast<std::size_t>(c));
    }
    return split_stats_[stats] = std::move(names);
  }

  // ---- nodes ----
  onnx::NodeProto& emit(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::string& output, const std::string& doc) {
    auto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    if (!doc.empty()) n->set_doc_string(doc);
    return *n;
  }
  // An intermediate value of a multi-node mapping, with its shape for value_info.
  std::string helper_value(const std::string& base, const ops::Shape& shape) {
    const std::string name = fresh(base);
    helper_values_.emplace_back(name, shape);
    return name;
  }

  static std::string provenance_doc(const graph::Node& node) {
    if (node.provenance.size() == 1 && node.provenance[0] == node.name) return "";
    return "fused: " + join(node.provenance);
  }

  // The nodes that compute `act` of `in` into `out`. The node writing `out` is named `name` and
  // carries `doc`; a decomposition's other nodes are "<name>.<step>", documented as part of it.
  void emit_activation(const ops::Activation& act, const std::string& in, const std::string& out,
                       const std::string& name, const std::string& doc, const ops::Shape& shape) {
    const std::string part = fmt::format("part of {}: {}", name, ops::to_string(act));
    auto step = [&](const std::string& op, const std::string& what, const std::vector<std::string>& inputs) {
      const std::string v = helper_value(out + "." + what, shape);
      emit(op, fresh(name + "." + what), inputs, v, part);
      return v;
    };
    switch (act.kind) {
      case ops::ActivationKind::none:
        emit("Identity", name, {in}, out, doc);
        return;
      case ops::ActivationKind::relu:
        emit("Relu", name, {in}, out, doc);
        return;
      case ops::ActivationKind::clip:
        emit("Clip", name, {in, scalar(name + ".min", act.alpha), scalar(name + ".max", act.beta)}, out, doc);
        return;
      case ops::ActivationKind::leaky_relu:
        attr(emit("LeakyRelu", name, {in}, out, doc), "alpha", act.alpha);
        return;
      case ops::ActivationKind::sigmoid:
        emit("Sigmoid", name, {in}, out, doc);
        return;
      case ops::ActivationKind::tanh:
        emit("Tanh", name, {in}, out, doc);
        return;
      case ops::ActivationKind::sqrt:
        emit("Sqrt", name, {in}, out, doc);
        return;
      case ops::ActivationKind::exp:
        emit("Exp", name, {in}, out, doc);
        return;
      case ops::ActivationKind::erf:
        emit("Erf", name, {in}, out, doc);
        return;
      case ops::ActivationKind::hard_sigmoid: {
        auto& n = emit("HardSigmoid", name, {in}, out, doc);
        attr(n, "alpha", act.alpha);
        attr(n, "beta", act.beta);
        return;
      }
      case ops::ActivationKind::hard_swish: {
        // ONNX defines HardSwish (opset 14) as exactly this: x * HardSigmoid(x, 1/6, 1/2).
        const std::string gate = helper_value(out + ".hard_sigmoid", shape);
        auto& n = emit("HardSigmoid", fresh(name + ".hard_sigmoid"), {in}, gate, part);
        attr(n, "alpha", 1.0f / 6.0f);
        attr(n, "beta", 0.5f);
        emit("Mul", name, {in, gate}, out, doc);
        return;
      }
      case ops::ActivationKind::hard_swish_affine: {  // HardSwish, then Mul and Add of scalars
        const std::string gate = step("HardSigmoid", "hard_sigmoid", {in});
        auto& hs = *gp_->mutable_node(gp_->node_size() - 1);
        attr(hs, "alpha", 1.0f / 6.0f);
        attr(hs, "beta", 0.5f);
        const std::string swish = step("Mul", "hard_swish", {in, gate});
        const std::string scaled = step("Mul", "scaled", {swish, scalar(name + ".scale", act.alpha)});
        emit("Add", name, {scaled, scalar(name + ".shift", act.beta)}, out, doc);
        return;
      }
      case ops::ActivationKind::silu: {
        const std::string gate = step("Sigmoid", "sigmoid", {in});
        emit("Mul", name, {in, gate}, out, doc);
        return;
      }
      case ops::ActivationKind::gelu: {  // 0.5 x (1 + erf(x / sqrt 2))
        const std::string scaled = step("Mul", "scaled", {in, scalar("fusescope.rsqrt2", 0.70710678118654752f)});
        const std::string erf = step("Erf", "erf", {scaled});
        const std::string one_plus = step("Add", "one_plus", {erf, scalar("fusescope.one", 1.0f)});
        const std::string half_x = step("Mul", "half_x", {in, scalar("fusescope.half", 0.5f)});
        emit("Mul", name, {half_x, one_plus}, out, doc);
        return;
      }
      case ops::ActivationKind::gelu_tanh: {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        const std::string x2 = step("Mul", "x2", {in, in});
        const std::string x3 = step("Mul", "x3", {x2, in});
        const std::string cubic = step("Mul", "cubic", {x3, scalar("fusescope.gelu_cubic", 0.044715f)});
        const std::string inner = step("Add", "inner", {in, cubic});
        const std::string arg = step("Mul", "arg", {inner, scalar("fusescope.sqrt_2_over_pi", 0.79788456080286536f)});
        const std::string t = step("Tanh", "tanh", {arg});
        const std::string one_plus = step("Add", "one_plus", {t, scalar("fusescope.one", 1.0f)});
        const std::string half_x = step("Mul", "half_x", {in, scalar("fusescope.half", 0.5f)});
        emit("Mul", name, {half_x, one_plus}, out, doc);
        return;
      }
    }
    throw ops::InvalidArgument(fmt::format("{}: node '{}': activation kind {} has no ONNX mapping", g_.name(), name,
                                           static_cast<unsigned>(act.kind)));
  }

  // A node whose main op is followed by epilogue stages (BN, residual, activation): the main op
  // keeps the graph node's name and provenance; only the last stage writes the node's output.
  struct Stage {
    std::string what;  // suffix of the helper node's name and of the value it reads
    std::function<void(const std::string& in, const std::string& out, const std::string& name, const std::string& doc)> emit;
  };
  void emit_with_epilogue(const graph::Node& node, const std::function<void(const std::string& out)>& main_op,
                          const std::string& main_what, const std::vector<Stage>& stages) {
    const graph::Value& out = g_.value(node.output);
    if (stages.empty()) return main_op(out.name);
    std::string prev = helper_value(out.name + "." + main_what, out.shape);
    main_op(prev);
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const bool last = i + 1 == stages.size();
      const std::string next = last ? out.name : helper_value(out.name + "." + stages[i].what, out.shape);
      stages[i].emit(prev, next, fresh(node.name + "." + stages[i].what), "part of " + node.name);
      prev = next;
    }
  }
  Stage activation_stage(const ops::Activation& act, const ops::Shape& shape) {
    return {ops::to_string(act).substr(0, ops::to_string(act).find('(')),
            [this, act, shape](const std::string& in, const std::string& out, const std::string& name, const std::string& doc) {
              emit_activation(act, in, out, name, doc, shape);
            }};
  }
  Stage batchnorm_stage(const graph::Node& node, const ops::BatchNormParams& bn, ValueId stats) {
    return {"batchnorm", [this, &node, bn, stats](const std::string& in, const std::string& out, const std::string& name,
                                                  const std::string& doc) {
              std::vector<std::string> inputs{in};
              for (const std::string& s : batchnorm_inputs(node, stats)) inputs.push_back(s);
              attr(emit("BatchNormalization", name, inputs, out, doc), "epsilon", bn.epsilon);
            }};
  }

  void export_node(const graph::Node& node) {
    const std::string doc = provenance_doc(node);
    const graph::Value& out = g_.value(node.output);
    auto in = [&](std::size_t i) { return input(node.inputs.at(i)); };
    auto present = [&](std::size_t i) { return i < node.inputs.size() && node.inputs[i] != kNoValue; };
    // No catch-all overload: a new attrs type fails to compile here until it has a mapping.
    std::visit(
        Overloaded{
            [&](const graph::ConvAttrs& a) {
              const auto& p = a.params;
              std::vector<Stage> stages;
              if (a.epilogue.batchnorm) stages.push_back(batchnorm_stage(node, a.epilogue.bn, node.inputs.at(3)));
              if (a.epilogue.residual) {
                const std::string residual = in(4);
                stages.push_back({"residual", [this, residual](const std::string& x, const std::string& y,
                                                               const std::string& name, const std::string& d) {
                                    emit("Add", name, {x, residual}, y, d);
                                  }});
              }
              if (a.epilogue.activation.kind != ops::ActivationKind::none)
                stages.push_back(activation_stage(a.epilogue.activation, out.shape));
              std::vector<std::string> inputs{in(0), in(1)};
              if (present(2)) inputs.push_back(in(2));
              emit_with_epilogue(node, [&](const std::string& y) {
                auto& n = emit("Conv", node.name, inputs, y, doc);
                attr(n, "kernel_shape", std::vector<std::int64_t>{p.kernel_h, p.kernel_w});
                attr(n, "strides", std::vector<std::int64_t>{p.stride_h, p.stride_w});
                attr(n, "pads", std::vector<std::int64_t>{p.pad_top, p.pad_left, p.pad_bottom, p.pad_right});
                attr(n, "dilations", std::vector<std::int64_t>{p.dilation_h, p.dilation_w});
                attr(n, "group", p.groups);
              }, "conv", stages);
            },
            [&](const graph::BatchNormAttrs& a) {
              std::vector<Stage> stages;
              if (a.activation.kind != ops::ActivationKind::none) stages.push_back(activation_stage(a.activation, out.shape));
              std::vector<std::string> inputs{in(0)};
              for (const std::string& s : batchnorm_inputs(node, node.inputs.at(1))) inputs.push_back(s);
              emit_with_epilogue(node, [&](const std::string& y) {
                attr(emit("BatchNormalization", node.name, inputs, y, doc), "epsilon", a.params.epsilon);
              }, "batchnorm", stages);
            },
            [&](const graph::ActivationAttrs& a) { emit_activation(a.activation, in(0), out.name, node.name, doc, out.shape); },
            [&](const graph::BinaryAttrs& a) {
              const char* op = a.op == ops::BinaryOp::add   ? "Add"
                               : a.op == ops::BinaryOp::sub ? "Sub"
                               : a.op == ops::BinaryOp::mul ? "Mul"
                               : a.op == ops::BinaryOp::div ? "Div"
                                                            : "Pow";
              emit(op, node.name, {in(0), in(1)}, out.name, doc);
            },
            [&](const graph::PoolAttrs& a) {
              const auto& p = a.params;
              const bool max = p.kind == ops::PoolKind::max;
              auto& n = emit(max ? "MaxPool" : "AveragePool", node.name, {in(0)}, out.name, doc);
              attr(n, "kernel_shape", std::vector<std::int64_t>{p.kernel_h, p.kernel_w});
              attr(n, "strides", std::vector<std::int64_t>{p.stride_h, p.stride_w});
              attr(n, "pads", std::vector<std::int64_t>{p.pad_top, p.pad_left, p.pad_bottom, p.pad_right});
              if (p.dilation_h != 1 || p.dilation_w != 1)
                attr(n, "dilations", std::vector<std::int64_t>{p.dilation_h, p.dilation_w});
              // ceil_mode: we (like PyTorch and ONNX Runtime's kernels) drop a last window that would
              // start in the bottom/right padding; opset-13 shape inference does not, so for such a
              // pool ORT warns that our declared shape differs from its inferred one, then runs it
              // with ours (measured with ORT 1.30 on a 5x5 input, kernel 2, stride 2, pads 1).
              attr(n, "ceil_mode", std::int64_t{p.ceil_mode ? 1 : 0});
              if (!max) attr(n, "count_include_pad", std::int64_t{p.count_include_pad ? 1 : 0});
            },
            [&](const graph::GlobalAveragePoolAttrs&) { emit("GlobalAveragePool", node.name, {in(0)}, out.name, doc); },
            [&](const graph::ConcatAttrs& a) {
              std::vector<std::string> inputs;
              for (std::size_t i = 0; i < node.inputs.size(); ++i) inputs.push_back(in(i));
              attr(emit("Concat", node.name, inputs, out.name, doc), "axis", a.axis);
            },
            [&](const graph::SliceAttrs& a) {
              const auto& p = a.params;
              emit("Slice", node.name,
                   {in(0), int64_vector(node.name + ".starts", {p.start}), int64_vector(node.name + ".ends", {p.start + p.length}),
                    int64_vector(node.name + ".axes", {p.axis}), int64_vector(node.name + ".steps", {1})},
                   out.name, doc);
            },
            [&](const graph::GemmAttrs& a) {
              const auto& p = a.params;
              std::string x = in(0);
              const ops::Shape& xs = g_.value(node.inputs[0]).shape;
              if (xs.size() != 2) {
                // Our gemm reads any input whose trailing dims flatten to K; ONNX Gemm wants [M, K].
                const ops::Shape flat{ops::numel(xs) / p.in_features, p.in_features};
                const std::string v = helper_value(out.name + ".rows", flat);
                emit("Reshape", fresh(node.name + ".rows"), {x, int64_vector(node.name + ".rows_shape", flat)}, v,
                     "part of " + node.name);
                x = v;
              }
              std::vector<std::string> inputs{x, in(1)};
              if (present(2)) inputs.push_back(in(2));
              std::vector<Stage> stages;
              if (p.activation.kind != ops::ActivationKind::none) stages.push_back(activation_stage(p.activation, out.shape));
              emit_with_epilogue(node, [&](const std::string& y) {
                attr(emit("Gemm", node.name, inputs, y, doc), "transB", std::int64_t{p.transpose_weight ? 1 : 0});
              }, "gemm", stages);
            },
            [&](const graph::SoftmaxAttrs& a) {
              // Opset 13 Softmax normalises over exactly `axis`, as ours does.
              attr(emit("Softmax", node.name, {in(0)}, out.name, doc), "axis", a.params.axis);
            },
            [&](const graph::FlattenAttrs&) {
              attr(emit("Flatten", node.name, {in(0)}, out.name, doc), "axis", std::int64_t{1});
            },
            [&](const graph::ReshapeAttrs&) {
              // The resolved shape (0 and -1 already replaced): static, as every shape we write.
              emit("Reshape", node.name, {in(0), int64_vector(node.name + ".shape", out.shape)}, out.name, doc);
            },
            [&](const graph::TransposeAttrs& a) {
              auto& n = emit("Transpose", node.name, {in(0)}, out.name, doc);
              // An empty perm is ONNX's own default (reversed axes): left out, it reads back empty.
              if (!a.params.perm.empty()) attr(n, "perm", a.params.perm);
            },
            [&](const graph::PadAttrs& a) {
              const auto& p = a.params;
              // Opset 11+: pads (and the fill) are inputs; the fill only matters in constant mode.
              std::vector<std::string> inputs{in(0), int64_vector(node.name + ".pads", p.pads)};
              if (p.mode == ops::PadMode::constant) inputs.push_back(scalar(node.name + ".value", p.value));
              attr(emit("Pad", node.name, inputs, out.name, doc), "mode", std::string(ops::to_string(p.mode)));
            },
            [&](const graph::ConvTransposeAttrs& a) {
              // Our weight layout [C, OC/groups, KH, KW] is ONNX's; a folded BN or Add lives in the
              // weight and bias constants, so the node is written as it stands.
              const auto& p = a.params;
              std::vector<std::string> inputs{in(0), in(1)};
              if (present(2)) inputs.push_back(in(2));
              auto& n = emit("ConvTranspose", node.name, inputs, out.name, doc);
              attr(n, "kernel_shape", std::vector<std::int64_t>{p.kernel_h, p.kernel_w});
              attr(n, "strides", std::vector<std::int64_t>{p.stride_h, p.stride_w});
              attr(n, "pads", std::vector<std::int64_t>{p.pad_top, p.pad_left, p.pad_bottom, p.pad_right});
              attr(n, "output_padding", std::vector<std::int64_t>{p.output_padding_h, p.output_padding_w});
              attr(n, "dilations", std::vector<std::int64_t>{p.dilation_h, p.dilation_w});
              attr(n, "group", p.groups);
            },
            [&](const graph::ResizeAttrs& a) {
              const auto& p = a.params;
              const ops::Shape& xs = g_.value(node.inputs[0]).shape;
              // The coordinate transforms divide by the scales, so the file must reproduce ours
              // exactly: as `scales` when floor(in * scale) gives our size, else as `sizes` when
              // out / in (what ONNX then divides by) is our scale.
              // align_corners and pytorch_half_pixel also read ONNX's length_resized, in * scale
              // with scales and out with sizes: where those differ, only the input the graph was
              // made from (length_from_scale) reads back the same.
              std::vector<std::string> inputs{in(0), ""};  // roi: only tf_crop_and_resize reads it
              const bool reads_length = p.transform == ops::CoordinateTransform::align_corners ||
                                        p.transform == ops::CoordinateTransform::pytorch_half_pixel;
              const bool lengths_agree = static_cast<double>(xs[2]) * p.scale_h == static_cast<double>(p.out_h) &&
                                         static_cast<double>(xs[3]) * p.scale_w == static_cast<double>(p.out_w);
              const bool scales_allowed = !reads_length || lengths_agree || p.length_from_scale;
              const bool sizes_allowed = !reads_length || lengths_agree || !p.length_from_scale;
              if (scales_allowed && scale_gives_size(xs[2], p.scale_h, p.out_h) &&
                  scale_gives_size(xs[3], p.scale_w, p.out_w)) {
                inputs.push_back(float_vector(node.name + ".scales", {1.0f, 1.0f, p.scale_h, p.scale_w}));
              } else if (const ops::ResizeParams s = ops::resize_to_size(p.mode, p.nearest, p.transform, xs[2], xs[3],
                                                                         p.out_h, p.out_w);
                         sizes_allowed && s.scale_h == p.scale_h && s.scale_w == p.scale_w) {
                inputs.push_back("");
                inputs.push_back(int64_vector(node.name + ".sizes", out.shape));
              } else {
                fail(node, fmt::format("scales {}x{} with output {}x{} from input {}x{}: ONNX Resize takes either "
                                       "scales with output floor(in * scale) or sizes with scales out / in, and "
                                       "neither gives this pair",
                                       p.scale_h, p.scale_w, p.out_h, p.out_w, xs[2], xs[3]));
              }
              auto& n = emit("Resize", node.name, inputs, out.name, doc);
              attr(n, "mode", std::string(ops::to_string(p.mode)));
              // ONNX's name for tf_half_pixel_for_nearest is tf_half_pixel_for_nn.
              attr(n, "coordinate_transformation_mode",
                   p.transform == ops::CoordinateTransform::tf_half_pixel_for_nearest
                       ? std::string("tf_half_pixel_for_nn")
                       : std::string(ops::to_string(p.transform)));
              // Written in linear mode too (ONNX ignores it there) so the node reads back as it was.
              attr(n, "nearest_mode", std::string(ops::to_string(p.nearest)));
            },
            [&](const graph::LayerNormAttrs& a) {
              // LayerNormalization is opset 17; at opset 13 the node is written as the chain
              // PyTorch itself exports there (which fusescope reads back as this one node):
              // (x - mean) / sqrt(mean((x - mean)^2) + eps) * gamma + beta.
              const ops::Shape& xs = g_.value(node.inputs[0]).shape;
              const std::int64_t axis = a.params.axis;
              ops::Shape reduced = xs;
              reduced[static_cast<std::size_t>(ops::normalize_axis(axis, xs.size(), node.name))] = 1;
              const graph::Value& affine = g_.value(node.inputs[1]);
              if (!affine.constant) fail(node, "gamma and beta must be constants to be written as initializers");
              const std::size_t len = affine.data.size() / 2;
              const std::vector<float> gamma(affine.data.begin(), affine.data.begin() + static_cast<std::ptrdiff_t>(len));
              const std::vector<float> beta(affine.data.begin() + static_cast<std::ptrdiff_t>(len), affine.data.end());
              // gamma and beta broadcast along `axis`: [L] when it is the last axis, else [L, 1, ...].
              ops::Shape param_shape{static_cast<std::int64_t>(len)};
              for (std::size_t d = static_cast<std::size_t>(ops::normalize_axis(axis, xs.size(), node.name)) + 1; d < xs.size(); ++d)
                param_shape.push_back(1);
              auto param = [&](const char* what, const std::vector<float>& values) {
                const std::string name = fresh(node.name + "." + what);
                float_initializer(name, param_shape, values.data(), values.size());
                return name;
              };
              const std::string part = "part of " + node.name;
              auto step = [&](const std::string& op, const std::string& what, const std::vector<std::string>& inputs,
                              const ops::Shape& shape) {
                const std::string v = helper_value(out.name + "." + what, shape);
                emit(op, fresh(node.name + "." + what), inputs, v, part);
                return v;
              };
              const std::string mean = step("ReduceMean", "mean", {in(0)}, reduced);
              attr(*gp_->mutable_node(gp_->node_size() - 1), "axes", std::vector<std::int64_t>{axis});
              const std::string centred = step("Sub", "centred", {in(0), mean}, xs);
              const std::string square = step("Pow", "square", {centred, scalar("fusescope.two", 2.0f)}, xs);
              const std::string var = step("ReduceMean", "var", {square}, reduced);
              attr(*gp_->mutable_node(gp_->node_size() - 1), "axes", std::vector<std::int64_t>{axis});
              const std::string shifted = step("Add", "var_eps", {var, scalar(node.name + ".epsilon", a.params.epsilon)}, reduced);
              const std::string root = step("Sqrt", "root", {shifted}, reduced);
              const std::string normed = step("Div", "normalized", {centred, root}, xs);
              const std::string scaled = step("Mul", "scaled", {normed, param("gamma", gamma)}, xs);
              emit("Add", node.name, {scaled, param("beta", beta)}, out.name, doc);
            },
            [&](const graph::ReduceMeanAttrs& a) {
              const auto& p = a.params;
              const std::vector<bool> reduced = ops::reduced_axes(p, g_.value(node.inputs[0]).shape, node.name);
              // Reducing every axis without keepdims gives a rank-0 tensor in ONNX and [1] here (we
              // have no rank 0): a Reshape after it restores the shape we declare.
              const bool rank0 = !p.keepdims && std::find(reduced.begin(), reduced.end(), false) == reduced.end();
              const std::string y = rank0 ? helper_value(out.name + ".reduce_mean", {}) : out.name;
              auto& n = emit("ReduceMean", node.name, {in(0)}, y, doc);
              if (!p.axes.empty()) attr(n, "axes", p.axes);  // absent: every axis, as ours
              attr(n, "keepdims", std::int64_t{p.keepdims ? 1 : 0});
              if (rank0) {
                const std::string name = fresh(node.name + ".as_vector");
                emit("Reshape", name, {y, int64_vector(name + ".shape", out.shape)}, out.name, "part of " + node.name);
              }
            },
        },
        node.attrs);
  }

  const graph::Graph& g_;
  const OnnxExportOptions& options_;
  onnx::ModelProto model_;
  onnx::GraphProto* gp_ = nullptr;
  std::unordered_set<std::string> taken_;        // value, node and initializer names in use
  std::unordered_set<ValueId> written_;          // constants already written as initializers
  std::map<ValueId, std::vector<std::string>> split_stats_;  // BN statistics -> 4 initializers
  std::map<std::uint32_t, std::string> scalars_;              // float bits -> scalar initializer
  std::vector<std::pair<std::string, ops::Shape>> helper_values_;
};

}  // namespace

std::string export_onnx_bytes(const graph::Graph& g, const OnnxExportOptions& options) {
  const onnx::ModelProto model = Exporter(g, options).run();
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw std::runtime_error(fmt::format("{}: serialising the ONNX model failed (over 2 GiB of weights?)", g.name()));
  }
  return bytes;
}

void export_onnx(const graph::Graph& g, const std::filesystem::path& path, const OnnxExportOptions& options) {
  const std::string bytes = export_onnx_bytes(g, options);  // everything that can fail first
  try {
    AtomicFileWriter out(path.string());
    out.write(bytes.data(), bytes.size());
    out.commit();
  } catch (const std::runtime_error& e) {
    throw FormatError(e.what());
  }
}

}  // namespace fusescope::io
