#include "io/onnx_import.hpp"
#include "graph/tensor_limits.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "io/safetensors.hpp"  // FormatError
#include "ops/half.hpp"

namespace fusescope::io {

namespace {

using graph::kNoValue;
using graph::ValueId;

constexpr std::int64_t kMinOpset = 1;
constexpr std::int64_t kMaxOpset = 17;

// The first opset whose version of each op is the one fusescope implements: the op has not
// changed from there to opset 17, or its converter reads each version's spelling (Clip's and
// Pad's attributes before 11, Slice's before 10, Softmax's flattening before 13, Squeeze's axes
// before 13, Upsample-7's scales attribute). A model at an older opset gets an older version of
// the op — Add-6's legacy `broadcast` attribute, Reshape-1's shape attribute, BatchNorm-6's
// is_test — which is refused naming the op and both opsets. Ops fusescope does not import are
// absent (they are reported as unsupported ops).
const std::map<std::string, std::int64_t, std::less<>> kFirstOpset = {
    {"Conv", 1},         {"BatchNormalization", 7}, {"Relu", 6},         {"Clip", 6},
    {"LeakyRelu", 6},    {"Sigmoid", 6},            {"HardSigmoid", 6},  {"HardSwish", 14},
    {"Tanh", 6},         {"Sqrt", 6},               {"Exp", 6},          {"Add", 7},
    {"Sub", 7},          {"Mul", 7},                {"Div", 7},          {"Pow", 7},
    {"MaxPool", 1},      {"AveragePool", 7},        {"GlobalAveragePool", 1}, {"Concat", 4},
    {"Flatten", 1},      {"Gemm", 7},               {"Softmax", 1},      {"Constant", 1},
    {"Identity", 1},     {"Reshape", 5},            {"Squeeze", 1},      {"Unsqueeze", 1},
    {"MatMul", 1},       {"Slice", 1},              {"Transpose", 1},    {"Pad", 2},
    {"Resize", 10},      {"Upsample", 7},           {"ConvTranspose", 1}, {"ReduceMean", 1},
    {"Split", 2},        {"Shape", 1},              {"Cast", 6},         {"Gather", 1},
    {"ConstantOfShape", 9}, {"Erf", 9},            {"LayerNormalization", 17}};

// The inputs each op cannot do without (the ONNX operator docs' non-optional inputs, in the
// versions fusescope implements), checked before any converter or fold reads them: a node that
// lacks one is refused by name instead of read past its input list. Ops absent here read only
// input 0 and need it (Constant, in the table with 0, reads none).
const std::map<std::string, int, std::less<>> kRequiredInputs = {
    {"Conv", 2},    {"ConvTranspose", 2}, {"BatchNormalization", 5}, {"Gemm", 2},   {"MatMul", 2},
    {"Add", 2},     {"Sub", 2},           {"Mul", 2},                {"Div", 2},    {"Pow", 2},
    {"Reshape", 2}, {"Gather", 2},        {"LayerNormalization", 2}, {"Constant", 0}};

// One ONNX op type per entry; everything else is reported (all at once) before converting.
const std::set<std::string, std::less<>> kSupportedOps = {
    "Conv",        "BatchNormalization", "Relu",   "Clip",        "LeakyRelu",   "Sigmoid",
    "HardSigmoid", "HardSwish",          "Tanh",   "Add",         "Sub",         "Mul",
    "Div",         "MaxPool",            "AveragePool", "GlobalAveragePool", "Concat", "Flatten",
    "Gemm",        "Softmax",            "Constant", "Identity", "Reshape",  "Squeeze",     "Unsqueeze",
    "MatMul",      "Slice",              "Transpose", "Pad",      "Resize", "Upsample", "ConvTranspose",
    "Pow",         "Sqrt",               "Exp",       "ReduceMean", "Split",  "Erf",    "LayerNormalization"};

// Ops computed on the host when every input is a known constant (shapes of activations are
// known once the input shape is, so Shape always folds); the result is a host constant, never
// a graph node. Those not in kSupportedOps are unsupported when they cannot be folded.
const std::set<std::string, std::less<>> kFoldableOps = {
    "Shape",   "Cast",    "Gather",  "Slice", "Concat", "Unsqueeze", "Squeeze", "Reshape",
    "Flatten", "Add",     "Sub",     "Mul",   "Div",    "Pow",       "ConstantOfShape", "Transpose"};

// An initializer or a Constant node's value, kept on the host until a node reads it.
// Integer tensors (int32/int64, Shape's output, integer Casts) keep their exact values in
// `ints`: a float holds integers exactly only up to 2^24, and PyTorch writes open-ended slices
// as ends = INT64_MAX, which fp32 rounds to 2^63 (and converting that back is undefined). Every
// fold of an integer constant works on `ints`; `data` holds the same values rounded to fp32, for
// the graph constant a computed node would read.
struct HostConstant {
  ops::Shape shape;
  std::vector<float> data;
  bool integer = false;            // int32/int64: `ints` holds the values, integer division, Cast
  std::vector<std::int64_t> ints;  // the exact values when `integer` (same order as data)
};

// An integer constant of these exact values (data: the same rounded to fp32).
HostConstant integer_constant(ops::Shape shape, std::vector<std::int64_t> ints) {
  HostConstant c;
  c.shape = std::move(shape);
  c.integer = true;
  c.data.reserve(ints.size());
  for (std::int64_t v : ints) c.data.push_back(static_cast<float>(v));
  c.ints = std::move(ints);
  return c;
}

// Appends element i of `from` to `to`, both its fp32 value and (for integers) its exact one.
void append_element(HostConstant& to, const HostConstant& from, std::size_t i) {
  to.data.push_back(from.data[i]);
  if (to.integer) to.ints.push_back(from.ints[i]);
}

// Two's-complement wrap-around arithmetic on int64 (ONNX integer Add/Sub/Mul overflow wraps in
// every runtime; signed overflow in C++ is undefined, so go through uint64).
std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
// Float -> int64 as a Cast: truncation, saturating at the int64 range (the C++ conversion is
// undefined outside it); NaN gives 0.
std::int64_t saturating_trunc(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9223372036854775807.0) return std::numeric_limits<std::int64_t>::max();
  if (v <= -9223372036854775808.0) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::trunc(v));
}

std::int64_t product(const ops::Shape& s, std::size_t begin, std::size_t end) {
  std::int64_t n = 1;
  for (std::size_t i = begin; i < end && i < s.size(); ++i) n *= s[i];
  return n;
}

bool default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

// "/layer1/layer1.0/conv1/Conv" (PyTorch's exporter) -> scope "layer1/layer1.0/conv1", so
// run_block steps through the model's own modules; names without '/' stay at top level.
std::string scope_of(const std::string& node_name) {
  const auto slash = node_name.rfind('/');
  if (slash == std::string::npos) return "";
  std::string scope = node_name.substr(0, slash);
  scope.erase(0, scope.find_first_not_of('/'));
  return scope;
}

// Begin and end padding of one spatial axis under auto_pad SAME_UPPER / SAME_LOWER: the output
// is ceil(in / stride) and the odd pixel of padding goes at the end (UPPER) or the start (LOWER).
void same_padding(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                  bool upper, std::int64_t& begin, std::int64_t& end) {
  const std::int64_t out = (in + stride - 1) / stride;
  const std::int64_t span = (kernel - 1) * dilation + 1;
  const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride + span - in);
  const std::int64_t small = total / 2, big = total - small;
  begin = upper ? small : big;
  end = upper ? big : small;
}

// The sliding-window fields Conv2dParams, ConvTranspose2dParams and Pool2dParams name alike:
// kernel and strides as [H, W], pads as ONNX's [top, left, bottom, right].
template <class Params>
void set_window(Params& p, const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& strides,
                const std::vector<std::int64_t>& pads) {
  p.kernel_h = kernel[0];
  p.kernel_w = kernel[1];
  p.stride_h = strides[0];
  p.stride_w = strides[1];
  p.pad_top = pads[0];
  p.pad_left = pads[1];
  p.pad_bottom = pads[2];
  p.pad_right = pads[3];
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string file, std::string graph_name,
           const OnnxImportOptions& options)
      : model_(model), file_(std::move(file)), options_(options), g_(std::move(graph_name)) {}

  graph::Graph run() {
    read_opset();
    const onnx::GraphProto& gp = model_.graph();
    collect_names(gp);
    for (const onnx::TensorProto& t : gp.initializer()) {
      if (t.name().empty()) fail("an initializer has no name");
      constants_[t.name()] = decode_tensor(t, fmt::format("initializer '{}'", t.name()));
    }
    add_inputs(gp);
    try {
      for (const onnx::NodeProto& node : gp.node()) visit(node);
    } catch (const std::exception&) {
      report_unsupported();  // an unsupported op upstream is the more basic problem
      throw;
    }
    report_unsupported();
    if (gp.output_size() == 0) fail("the graph declares no outputs");
    for (const onnx::ValueInfoProto& out : gp.output()) {
      auto it = values_.find(out.name());
      if (it != values_.end()) {
        g_.mark_output(it->second);
      } else if (auto z = zero_size_.find(out.name()); z != zero_size_.end()) {
        fail(fmt::format("graph output '{}' is a zero-size tensor of shape {} (from node '{}'); fusescope cannot run "
                         "tensors with no elements",
                         out.name(), ops::to_string(z->second.shape), z->second.producer));
      } else if (auto u = unsupported_outputs_.find(out.name()); u != unsupported_outputs_.end()) {
        fail(fmt::format("graph output '{}' is an extra output of node '{}' (training statistics, pooling "
                         "indices, LayerNormalization's Mean / InvStdDev) that fusescope does not compute",
                         out.name(), u->second));
      } else if (constants_.count(out.name())) {
        fail(fmt::format("graph output '{}' is a constant; there is nothing to run for it", out.name()));
      } else {
        fail(fmt::format("graph output '{}' is computed by no node (truncated or inconsistent graph)",
                         out.name()));
      }
    }
    g_.validate();
    return std::move(g_);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw FormatError(fmt::format("{}: {}", file_, message));
  }
  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& message) const {
    fail(fmt::format("node '{}' ({}): {}", label(node), node.op_type(), message));
  }

  static std::string label(const onnx::NodeProto& node) {
    if (!node.name().empty()) return node.name();
    return node.output_size() > 0 ? node.output(0) : std::string("<unnamed>");
  }

  void read_opset() {
    for (const onnx::OperatorSetIdProto& op : model_.opset_import())
      if (default_domain(op.domain())) opset_ = op.version();
    if (opset_ == 0) {
      // Ops of other domains only (ai.onnx.preview.training's optimizers): name them.
      for (const onnx::NodeProto& node : model_.graph().node())
        if (!default_domain(node.domain())) record_unsupported(node);
      report_unsupported();
      fail("the model imports no opset of the default ONNX domain");
    }
    if (opset_ < kMinOpset || opset_ > kMaxOpset) {
      fail(fmt::format("opset {}: fusescope imports opsets {} to {} (each op from the opset where it took the "
                       "form fusescope implements)", opset_, kMinOpset, kMaxOpset));
    }
  }

  // Every unsupported op type with all of its nodes, in one message. A node is unsupported when
  // its type is unknown, or it is a fold-only op whose inputs are not all constants; nodes that
  // read an unsupported node's outputs are skipped (they cannot be converted either).
  void record_unsupported(const onnx::NodeProto& node) {
    const std::string type =
        default_domain(node.domain()) ? node.op_type() : node.domain() + "." + node.op_type();
    auto it = std::find_if(unsupported_.begin(), unsupported_.end(),
                           [&](const auto& entry) { return entry.first == type; });
    if (it == unsupported_.end()) {
      unsupported_.push_back({type, {}});
      it = unsupported_.end() - 1;
    }
    it->second.push_back(label(node));
    poison_outputs(node);
  }
  void poison_outputs(const onnx::NodeProto& node) {
    for (const std::string& out : node.output())
      if (!out.empty()) poisoned_.insert(out);
  }
  void report_unsupported() const {
    if (unsupported_.empty()) return;
    std::vector<std::string> parts;
    for (const auto& [type, nodes] : unsupported_) {
      std::vector<std::string> shown(nodes.begin(), nodes.begin() + std::min<std::size_t>(nodes.size(), 8));
      std::string list = join(shown);
      if (nodes.size() > shown.size()) list += fmt::format(", … ({} in all)", nodes.size());
      parts.push_back(fmt::format("{} (nodes: {})", type, list));
    }
    fail("unsupported ONNX ops: " + join(parts));
  }

  void visit(const onnx::NodeProto& node) {
    const bool in_domain = default_domain(node.domain());
    const bool supported = in_domain && kSupportedOps.count(node.op_type()) != 0;
    const bool foldable = in_domain && kFoldableOps.count(node.op_type()) != 0;
    if (!supported && !foldable) return record_unsupported(node);
    if (auto first = kFirstOpset.find(node.op_type()); first != kFirstOpset.end() && opset_ < first->second) {
      fail(node, fmt::format("opset {} gives {} in an older version than fusescope implements (the version of "
                             "opsets {} to {})",
                             opset_, node.op_type(), first->second, kMaxOpset));
    }
    for (const std::string& in : node.input())
      if (poisoned_.count(in)) return poison_outputs(node);
    if (!unsupported_.empty()) {
      // Keep converting to find more unsupported ops, but let no other error hide them.
      try {
        visit_supported(node, supported, foldable);
      } catch (const std::exception&) {
        poison_outputs(node);
      }
      return;
    }
    visit_supported(node, supported, foldable);
  }

  void visit_supported(const onnx::NodeProto& node, bool supported, bool foldable) {
    if (node.output_size() == 0 || node.output(0).empty()) fail(node, "the node has no output");
    const auto required = kRequiredInputs.find(node.op_type());
    const bool known = kSupportedOps.count(node.op_type()) || kFoldableOps.count(node.op_type());
    // An op fusescope does not know is reported as unsupported below, whatever its inputs.
    for (int i = 0; i < (required != kRequiredInputs.end() ? required->second : known ? 1 : 0); ++i)
      if (!has_input(node, i)) fail(node, fmt::format("input {} is missing", i));
    check_inputs_defined(node);
    for (const std::string& out : node.output()) {
      if (out.empty()) continue;
      if (values_.count(out) || constants_.count(out) || zero_size_.count(out))
        fail(node, fmt::format("output '{}' is defined twice", out));
    }
    if (reads_zero_size(node)) return convert_zero_size_reader(node);
    if (foldable && try_fold(node)) return;
    if (!supported) {
      // Cast to a floating-point type of an activation is the identity for us (fp32 throughout).
      if (node.op_type() == "Cast" && float_type(attr_int(node, "to", 0))) return convert_identity(node);
      return record_unsupported(node);
    }
    convert(node);
  }

  // ---- zero-size tensors ----
  // ONNX allows tensors with no elements (a Slice that selects nothing, a Split part of size 0,
  // a Concat input with no channels); ONNX Runtime runs them, but fusescope's kernels and memory
  // plan cannot take them. Such a tensor never becomes a graph value: it is remembered here by
  // shape, a Concat drops it (it adds nothing along the axis), Slice, Identity and Shape see
  // through it, and any other reader is refused naming the node. So a Slice selecting nothing
  // whose only readers are Concats disappears with them.
  struct ZeroSize {
    ops::Shape shape;
    std::string producer;  // the node that made it, for messages
  };
  bool is_zero_size(const std::string& name) const {
    if (zero_size_.count(name)) return true;
    auto it = constants_.find(name);
    return it != constants_.end() && !it->second.shape.empty() && product(it->second.shape, 0, it->second.shape.size()) == 0;
  }
  ops::Shape shape_of_name(const std::string& name) const {
    if (auto it = zero_size_.find(name); it != zero_size_.end()) return it->second.shape;
    if (auto it = values_.find(name); it != values_.end()) return shape(it->second);
    return constants_.at(name).shape;
  }
  // True when a node reads a zero-size activation, or a zero-size constant where the node would
  // run it through a kernel (a Concat input, an operand of an element-wise op, a data input 0).
  // Empty constants elsewhere are fine: PyTorch writes Resize's unused roi and scales as empty
  // tensors.
  bool reads_zero_size(const onnx::NodeProto& node) const {
    for (int i = 0; i < node.input_size(); ++i) {
      const std::string& in = node.input(i);
      if (in.empty()) continue;
      if (zero_size_.count(in)) return true;
      const std::string& op = node.op_type();
      const bool data_input = i == 0 || op == "Concat" ||
                              (i == 1 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow"));
      // Constants that fold on the host stay host constants: only activations' readers care.
      if (data_input && is_zero_size(in) && !all_inputs_constant(node)) return true;
    }
    return false;
  }
  bool all_inputs_constant(const onnx::NodeProto& node) const {
    for (const std::string& in : node.input())
      if (!in.empty() && !is_constant(in)) return false;
    return true;
  }
  std::string zero_size_description(const std::string& name) const {
    if (auto it = zero_size_.find(name); it != zero_size_.end())
      return fmt::format("'{}', a zero-size tensor of shape {} (from node '{}')", name, ops::to_string(it->second.shape),
                         it->second.producer);
    return fmt::format("'{}', a constant with no elements (shape {})", name, ops::to_string(constants_.at(name).shape));
  }
  void mark_zero_size(const onnx::NodeProto& node, const std::string& out, ops::Shape s) {
    zero_size_[out] = {std::move(s), label(node)};
  }

  // A node that reads a zero-size tensor: Concat drops it, Slice/Identity/Shape pass it on,
  // everything else is refused.
  void convert_zero_size_reader(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (op == "Shape") {
      if (!try_fold(node)) fail(node, "cannot take the shape");  // Shape always folds
      return;
    }
    const bool same_tensor = op == "Identity" || (op == "Cast" && float_type(attr_int(node, "to", 0)));
    if (same_tensor && zero_size_.count(node.input(0))) {
      zero_size_[node.output(0)] = zero_size_.at(node.input(0));
      return;
    }
    if (op == "Slice" && zero_size_.count(node.input(0))) {
      ops::Shape out;
      for (const SliceAxis& a : slice_axes(node, zero_size_.at(node.input(0)).shape)) out.push_back(a.count);
      return mark_zero_size(node, node.output(0), std::move(out));
    }
    if (op == "Concat") return convert_concat(node);
    for (const std::string& in : node.input()) {
      if (!in.empty() && is_zero_size(in)) {
        fail(node, fmt::format("reads {}; fusescope's kernels cannot take zero-size tensors (only Concat, which "
                               "drops them, and Slice, Identity, Cast and Shape can read one)",
                               zero_size_description(in)));
      }
    }
    fail(node, "reads a zero-size tensor");  // unreachable: reads_zero_size found one
  }

  // Concat: inputs with no elements along the axis add nothing and are dropped at import (ONNX
  // allows them; our kernels cannot take zero-size tensors); one input left makes a one-input
  // concat (a copy that keeps the ONNX output's name), none a zero-size output for its readers.
  void convert_concat(const onnx::NodeProto& node) {
    if (node.input_size() == 0 || !has_input(node, 0)) fail(node, "input 0 is missing");
    std::int64_t axis = attr_int(node, "axis", std::numeric_limits<std::int64_t>::min());
    if (axis == std::numeric_limits<std::int64_t>::min()) fail(node, "the axis attribute is missing");
    const ops::Shape first = shape_of_name(node.input(0));
    const auto a = static_cast<std::size_t>(norm_axis(node, axis, first.size()));
    ops::Shape out = first;
    out[a] = 0;
    std::vector<std::string> kept;
    for (int i = 0; i < node.input_size(); ++i) {
      if (!has_input(node, i)) fail(node, fmt::format("input {} is missing", i));
      const std::string& in = node.input(i);
      const ops::Shape s = shape_of_name(in);
      bool agrees = s.size() == first.size();
      for (std::size_t d = 0; agrees && d < s.size(); ++d) agrees = d == a || s[d] == first[d];
      if (!agrees) {
        fail(node, fmt::format("input '{}' has shape {}, which does not match {} outside axis {}", in,
                               ops::to_string(s), ops::to_string(first), a));
      }
      out[a] += s[a];
      if (!is_zero_size(in)) kept.push_back(in);
    }
    if (product(out, 0, out.size()) == 0) return mark_zero_size(node, node.output(0), std::move(out));
    std::vector<ValueId> inputs;
    for (const std::string& in : kept) inputs.push_back(value(in));
    emit(node, graph::ConcatAttrs{static_cast<std::int64_t>(a)}, std::move(inputs));
  }

  void collect_names(const onnx::GraphProto& gp) {
    for (const auto& t : gp.initializer()) onnx_names_.insert(t.name());
    for (const auto& v : gp.input()) onnx_names_.insert(v.name());
    for (const auto& node : gp.node()) {
      onnx_names_.insert(node.name());
      for (const auto& o : node.output()) onnx_names_.insert(o);
    }
  }

  // A name for a tensor or node fusescope makes up (BN statistics, a reshaped bias) that clashes
  // with nothing in the model or the graph.
  std::string fresh_name(const std::string& base) const {
    std::string name = base;
    for (int i = 1; onnx_names_.count(name) || g_.find_value(name) != kNoValue || g_.find_node(name) != -1; ++i)
      name = fmt::format("{}.{}", base, i);
    return name;
  }

  // An initializer's data in a file beside the model (ONNX external data). Where it points is
  // checked first: a hostile model may name any file on the machine ("../../home/you/.ssh/id_rsa")
  // or one that is not there; neither is opened.
  [[noreturn]] void fail_external(const onnx::TensorProto& t, const std::string& what) const {
    std::string location;
    for (const auto& kv : t.external_data())
      if (kv.key() == "location") location = kv.value();
    if (location.empty()) fail(fmt::format("{} keeps its data in an external file but names none", what));
    namespace fs = std::filesystem;
    const fs::path folder = fs::weakly_canonical(fs::absolute(fs::path(file_).parent_path()));
    const fs::path target = fs::weakly_canonical(folder / fs::path(location));
    const auto [end, rest] = std::mismatch(folder.begin(), folder.end(), target.begin(), target.end());
    if (fs::path(location).is_absolute() || end != folder.end()) {
      fail(fmt::format("{} keeps its data in '{}', outside the model's folder {}; refused (external data must lie "
                       "beside the model)",
                       what, location, folder.string()));
    }
    std::error_code ec;
    if (!fs::is_regular_file(target, ec)) {
      fail(fmt::format("{} keeps its data in '{}', which does not exist ({})", what, location, target.string()));
    }
    fail(fmt::format("{} keeps its data in the external file '{}', which fusescope does not read yet; save the "
                     "model with its data inside (onnx.save_model(model, path, save_as_external_data=False))",
                     what, location));
  }

  HostConstant decode_tensor(const onnx::TensorProto& t, const std::string& what) const {
    if (t.data_location() == onnx::TensorProto::EXTERNAL) fail_external(t, what);
    if (static_cast<std::size_t>(t.dims_size()) > graph::kMaxRank) {
      fail(fmt::format("{} has rank {}, more than the {} dimensions fusescope supports", what, t.dims_size(),
                       graph::kMaxRank));
    }
    HostConstant c;
    std::int64_t n = 1;
    for (std::int64_t d : t.dims()) {
      if (d < 0) fail(fmt::format("{} has a negative dimension {}", what, d));
      c.shape.push_back(d);
    }
    for (std::int64_t d : c.shape) {
      if (d == 0) { n = 0; break; }
      if (n > std::numeric_limits<std::int32_t>::max() / d) fail(fmt::format("{} is too large", what));
      n *= d;
    }
    const auto count = static_cast<std::size_t>(n);
    const std::string& raw = t.raw_data();
    auto from_raw = [&](std::size_t element_bytes, auto convert) {
      if (raw.size() != count * element_bytes) {
        fail(fmt::format("{}: {} bytes of data for shape {} ({} expected)", what, raw.size(),
                         ops::to_string(c.shape), count * element_bytes));
      }
      c.data.resize(count);
      for (std::size_t i = 0; i < count; ++i) c.data[i] = convert(raw.data() + i * element_bytes);
    };
    auto from_field = [&](const auto& field, auto convert) {
      if (static_cast<std::size_t>(field.size()) != count) {
        fail(fmt::format("{}: {} values for shape {} ({} expected)", what, field.size(),
                         ops::to_string(c.shape), count));
      }
      c.data.resize(count);
      for (std::size_t i = 0; i < count; ++i) c.data[i] = convert(field.Get(static_cast<int>(i)));
    };
    auto load = [](auto tag) {
      return [](const char* p) {
        decltype(tag) v;
        std::memcpy(&v, p, sizeof v);
        return static_cast<float>(v);
      };
    };
    auto cast = [](auto v) { return static_cast<float>(v); };
    const bool has_raw = t.has_raw_data();
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        has_raw ? from_raw(4, load(float{})) : from_field(t.float_data(), cast);
        break;
      case onnx::TensorProto::FLOAT16: {
        auto half = [](const char* p) {
          std::uint16_t bits;
          std::memcpy(&bits, p, 2);
          return ops::half_to_float(bits);
        };
        // Without raw data, each fp16 value's bits sit in one int32_data entry.
        auto half_field = [](std::int32_t v) { return ops::half_to_float(static_cast<std::uint16_t>(v)); };
        has_raw ? from_raw(2, half) : from_field(t.int32_data(), half_field);
        break;
      }
      case onnx::TensorProto::DOUBLE:
        has_raw ? from_raw(8, load(double{})) : from_field(t.double_data(), cast);
        break;
      // Integers are read exactly into ints (data: the same values as fp32).
      case onnx::TensorProto::INT64:
        has_raw ? from_raw(8, load(std::int64_t{})) : from_field(t.int64_data(), cast);
        c.integer = true;
        if (has_raw) {
          c.ints.resize(count);
          for (std::size_t i = 0; i < count; ++i) std::memcpy(&c.ints[i], raw.data() + i * 8, 8);
        } else {
          c.ints.assign(t.int64_data().begin(), t.int64_data().end());
        }
        break;
      case onnx::TensorProto::INT32:
        has_raw ? from_raw(4, load(std::int32_t{})) : from_field(t.int32_data(), cast);
        c.integer = true;
        c.ints.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
          std::int32_t v = 0;
          if (has_raw) std::memcpy(&v, raw.data() + i * 4, 4);
          else v = t.int32_data(static_cast<int>(i));
          c.ints[i] = v;
        }
        break;
      // Narrow and unsigned integers (a Compress condition, a Pow exponent): exact in `ints`.
      // Without raw data, ONNX stores the 8- and 16-bit ones in int32_data, uint32/uint64 in
      // uint64_data.
      case onnx::TensorProto::BOOL:
      case onnx::TensorProto::INT8:
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::INT16:
      case onnx::TensorProto::UINT16:
      case onnx::TensorProto::UINT32:
      case onnx::TensorProto::UINT64: {
        const auto type = t.data_type();
        const std::size_t bytes = type == onnx::TensorProto::UINT64   ? 8
                                  : type == onnx::TensorProto::UINT32 ? 4
                                  : type == onnx::TensorProto::INT16 || type == onnx::TensorProto::UINT16 ? 2
                                                                                                          : 1;
        const bool in_uint64 = type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64;
        if (has_raw ? raw.size() != count * bytes
                    : static_cast<std::size_t>(in_uint64 ? t.uint64_data_size() : t.int32_data_size()) != count) {
          fail(fmt::format("{}: the data does not hold {} values for shape {}", what, count, ops::to_string(c.shape)));
        }
        c.integer = true;
        c.ints.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
          std::int64_t v = 0;
          if (has_raw) {
            const char* q = raw.data() + i * bytes;
            switch (type) {
              case onnx::TensorProto::INT8: { std::int8_t x; std::memcpy(&x, q, 1); v = x; break; }
              case onnx::TensorProto::INT16: { std::int16_t x; std::memcpy(&x, q, 2); v = x; break; }
              case onnx::TensorProto::UINT16: { std::uint16_t x; std::memcpy(&x, q, 2); v = x; break; }
              case onnx::TensorProto::UINT32: { std::uint32_t x; std::memcpy(&x, q, 4); v = x; break; }
              case onnx::TensorProto::UINT64: { std::uint64_t x; std::memcpy(&x, q, 8); v = static_cast<std::int64_t>(x); break; }
              default: { std::uint8_t x; std::memcpy(&x, q, 1); v = x; break; }  // BOOL, UINT8
            }
          } else if (in_uint64) {
            v = static_cast<std::int64_t>(t.uint64_data(static_cast<int>(i)));
          } else {
            v = t.int32_data(static_cast<int>(i));
          }
          c.ints[i] = v;
        }
        c.data.resize(count);
        for (std::size_t i = 0; i < count; ++i) c.data[i] = static_cast<float>(c.ints[i]);
        break;
      }
      default:
        fail(fmt::format("{} has data type {}, expected a float or integer type", what,
                         onnx::TensorProto_DataType_Name(
                             static_cast<onnx::TensorProto_DataType>(t.data_type()))));
    }
    return c;
  }

  static std::string display_shape(const onnx::TensorShapeProto& shape) {
    std::vector<std::string> dims;
    for (const auto& d : shape.dim()) {
      if (d.has_dim_value() && d.dim_value() > 0) dims.push_back(std::to_string(d.dim_value()));
      else if (d.has_dim_param() && !d.dim_param().empty()) dims.push_back(d.dim_param());
      else dims.push_back("?");
    }
    std::string s;
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + dims[i];
    return s;
  }

  void add_inputs(const onnx::GraphProto& gp) {
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const onnx::ValueInfoProto& v : gp.input())
      if (!constants_.count(v.name())) inputs.push_back(&v);  // IR < 4 lists initializers too
    if (inputs.empty()) fail("the graph has no inputs");
    if (options_.input_shape && inputs.size() != 1) {
      fail(fmt::format("--shape {} sets one input's shape, but the model has {} inputs",
                       ops::to_string(*options_.input_shape), inputs.size()));
    }
    for (const onnx::ValueInfoProto* v : inputs) {
      const std::string& name = v->name();
      if (!v->type().has_tensor_type()) fail(fmt::format("input '{}' is not a tensor", name));
      const auto& tt = v->type().tensor_type();
      const auto elem = tt.elem_type();
      if (elem != onnx::TensorProto::FLOAT && elem != onnx::TensorProto::FLOAT16 &&
          elem != onnx::TensorProto::DOUBLE) {
        fail(fmt::format("input '{}' has element type {}; only floating-point inputs can be fed", name,
                         onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem))));
      }
      ops::Shape shape;
      bool dynamic = !tt.has_shape();
      if (tt.has_shape() && static_cast<std::size_t>(tt.shape().dim_size()) > graph::kMaxRank) {
        fail(fmt::format("input '{}' has rank {}, more than the {} dimensions fusescope supports", name,
                         tt.shape().dim_size(), graph::kMaxRank));
      }
      if (tt.has_shape()) {
        for (const auto& d : tt.shape().dim()) {
          const bool fixed = d.has_dim_value() && d.dim_value() > 0;
          dynamic = dynamic || !fixed;
          shape.push_back(fixed ? d.dim_value() : -1);
        }
      }
      const std::string shown = tt.has_shape() ? display_shape(tt.shape()) : std::string("unknown rank");
      if (options_.input_shape) {
        const ops::Shape& given = *options_.input_shape;
        bool fits = !tt.has_shape() || given.size() == shape.size();
        for (std::size_t i = 0; fits && i < shape.size(); ++i) fits = shape[i] < 0 || shape[i] == given[i];
        if (!fits) {
          fail(fmt::format("--shape {} does not fit input '{}' of shape {}", ops::to_string(given), name, shown));
        }
        shape = given;
      } else if (dynamic) {
        fail(fmt::format("input '{}' has dynamic dimensions ({}); pass --shape NxCxHxW to fix them "
                         "(e.g. --shape 1x3x224x224)",
                         name, shown));
      }
      if (product(shape, 0, shape.size()) == 0) {
        fail(fmt::format("input '{}' has shape {}, with no elements; fusescope cannot run zero-size tensors", name,
                         ops::to_string(shape)));
      }
      values_[name] = g_.add_input(name, shape);
    }
  }

  // ---- attributes ----
  static const onnx::AttributeProto* attribute(const onnx::NodeProto& node, std::string_view name) {
    for (const auto& a : node.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  std::int64_t attr_int(const onnx::NodeProto& node, std::string_view name, std::int64_t fallback) const {
    const auto* a = attribute(node, name);
    if (!a) return fallback;
    if (a->type() != onnx::AttributeProto::INT) fail(node, fmt::format("attribute {} is not an int", name));
    return a->i();
  }
  float attr_float(const onnx::NodeProto& node, std::string_view name, float fallback) const {
    const auto* a = attribute(node, name);
    if (!a) return fallback;
    if (a->type() != onnx::AttributeProto::FLOAT) fail(node, fmt::format("attribute {} is not a float", name));
    return a->f();
  }
  std::string attr_string(const onnx::NodeProto& node, std::string_view name, const std::string& fallback) const {
    const auto* a = attribute(node, name);
    if (!a) return fallback;
    if (a->type() != onnx::AttributeProto::STRING) fail(node, fmt::format("attribute {} is not a string", name));
    return a->s();
  }
  // The attribute's ints, which must number `count` (fallback when absent).
  std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, std::string_view name, std::size_t count,
                                      std::vector<std::int64_t> fallback) const {
    const auto* a = attribute(node, name);
    if (!a) return fallback;
    if (a->type() != onnx::AttributeProto::INTS) fail(node, fmt::format("attribute {} is not a list of ints", name));
    std::vector<std::int64_t> v(a->ints().begin(), a->ints().end());
    if (v.size() != count) {
      fail(node, fmt::format("attribute {} has {} values, expected {} (only 2-D spatial ops are supported)",
                             name, v.size(), count));
    }
    return v;
  }

  // ---- inputs ----
  bool has_input(const onnx::NodeProto& node, int i) const {
    return i < node.input_size() && !node.input(i).empty();
  }

  // The graph value for a name: node outputs and inputs as they are, constants added to the
  // graph on first use (scalars as [1], which broadcasts the same against our activations).
  ValueId value(const std::string& name) {
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    const HostConstant& c = constants_.at(name);
    const ops::Shape shape = c.shape.empty() ? ops::Shape{1} : c.shape;
    const ValueId id = g_.add_constant(name, shape, c.data);
    values_[name] = id;
    return id;
  }
  ValueId input_value(const onnx::NodeProto& node, int i) {
    if (!has_input(node, i)) fail(node, fmt::format("input {} is missing", i));
    return value(node.input(i));
  }
  // A constant input (weights, statistics, Clip bounds); computed weights are not supported.
  const HostConstant& constant_input(const onnx::NodeProto& node, int i, const std::string& role) const {
    if (!has_input(node, i)) fail(node, fmt::format("the {} (input {}) is missing", role, i));
    auto it = constants_.find(node.input(i));
    if (it == constants_.end()) {
      fail(node, fmt::format("the {} '{}' is computed by the graph; only constant {}s (initializers or "
                             "Constant nodes) are supported",
                             role, node.input(i), role));
    }
    return it->second;
  }
  const ops::Shape& shape(ValueId v) const { return g_.value(v).shape; }

  void emit(const onnx::NodeProto& node, graph::Attributes attrs, std::vector<ValueId> inputs) {
    std::string name = label(node);
    if (g_.find_node(name) != -1) name = fresh_name(name);  // ONNX does not require unique node names
    values_[node.output(0)] = g_.add_node(name, scope_of(name), std::move(attrs), std::move(inputs), node.output(0));
    restore_provenance(node);
  }

  // fusescope's exporter (onnx_export.hpp) writes a fused node's provenance into its doc_string
  // as "fused: a, b, c"; reading it back lets a fused export be compared with its original.
  void restore_provenance(const onnx::NodeProto& node) {
    constexpr std::string_view kPrefix = "fused: ";
    if (model_.producer_name() != "fusescope" || node.doc_string().rfind(kPrefix, 0) != 0) return;
    std::vector<std::string> names;
    std::stringstream list(node.doc_string().substr(kPrefix.size()));
    for (std::string item; std::getline(list, item, ',');) {
      item.erase(0, item.find_first_not_of(' '));
      if (!item.empty()) names.push_back(item);
    }
    if (!names.empty()) g_.nodes().back().provenance = std::move(names);
  }

  // ---- constant folding (host side) ----
  static bool float_type(std::int64_t t) {
    return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::FLOAT16 || t == onnx::TensorProto::DOUBLE ||
           t == onnx::TensorProto::BFLOAT16;
  }
  bool is_constant(const std::string& name) const { return constants_.count(name) != 0; }
  // The ints of a constant input (axes, starts, a target shape).
  // Integer tensors give their exact int64 values; a float tensor (not what ONNX allows here,
  // but some exporters write one) is truncated, refused when not finite.
  std::vector<std::int64_t> ints_of(const onnx::NodeProto& node, int i, const char* role) const {
    const HostConstant& c = constant_input(node, i, role);
    if (c.integer) return c.ints;
    std::vector<std::int64_t> v;
    for (float f : c.data) {
      if (!std::isfinite(f)) fail(node, fmt::format("the {} holds {}, not an integer", role, f));
      v.push_back(saturating_trunc(f));
    }
    return v;
  }
  std::vector<std::int64_t> attr_int_list(const onnx::NodeProto& node, std::string_view name) const {
    const auto* a = attribute(node, name);
    if (!a) return {};
    if (a->type() != onnx::AttributeProto::INTS) fail(node, fmt::format("attribute {} is not a list of ints", name));
    return {a->ints().begin(), a->ints().end()};
  }
  std::int64_t norm_axis(const onnx::NodeProto& node, std::int64_t axis, std::size_t rank) const {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) fail(node, fmt::format("axis {} is out of range for rank {}", axis, rank));
    return axis < 0 ? axis + r : axis;
  }
  // Squeeze/Unsqueeze axes: an attribute before opset 13, an optional input since.
  std::vector<std::int64_t> axes_of(const onnx::NodeProto& node) const {
    if (opset_ < 13) return attr_int_list(node, "axes");
    return has_input(node, 1) ? ints_of(node, 1, "axes") : std::vector<std::int64_t>{};
  }
  ops::Shape squeeze_shape(const onnx::NodeProto& node, const ops::Shape& in) const {
    std::vector<std::int64_t> axes = axes_of(node);
    std::vector<bool> drop(in.size(), false);
    if (axes.empty()) {
      for (std::size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
    }
    for (std::int64_t a : axes) {
      const auto k = static_cast<std::size_t>(norm_axis(node, a, in.size()));
      if (in[k] != 1) fail(node, fmt::format("cannot squeeze axis {} of shape {}", a, ops::to_string(in)));
      drop[k] = true;
    }
    ops::Shape out;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (!drop[i]) out.push_back(in[i]);
    return out;
  }
  ops::Shape unsqueeze_shape(const onnx::NodeProto& node, const ops::Shape& in) const {
    const std::vector<std::int64_t> axes = axes_of(node);
    if (axes.empty()) fail(node, "unsqueeze needs axes");
    const std::size_t rank = in.size() + axes.size();
    std::vector<bool> ones(rank, false);
    for (std::int64_t a : axes) {
      const auto k = static_cast<std::size_t>(norm_axis(node, a, rank));
      if (ones[k]) fail(node, fmt::format("axis {} is repeated", a));
      ones[k] = true;
    }
    ops::Shape out;
    std::size_t j = 0;
    for (std::size_t i = 0; i < rank; ++i) out.push_back(ones[i] ? 1 : in[j++]);
    return out;
  }
  ops::Shape flatten_shape(const onnx::NodeProto& node, const ops::Shape& in) const {
    std::int64_t axis = attr_int(node, "axis", 1);
    const auto r = static_cast<std::int64_t>(in.size());
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) fail(node, fmt::format("axis {} is out of range for rank {}", axis, r));
    const auto a = static_cast<std::size_t>(axis);
    return {product(in, 0, a), product(in, a, in.size())};
  }
  // Reshape's target shape, with allowzero (opset 14) refused where it changes the meaning of 0.
  ops::Shape reshape_target(const onnx::NodeProto& node) const {
    const std::vector<std::int64_t> target = ints_of(node, 1, "shape");
    if (attr_int(node, "allowzero", 0) != 0 && std::count(target.begin(), target.end(), 0) != 0)
      fail(node, "allowzero 1 with a 0 in the shape is not supported");
    return target;
  }
  ops::Shape resolved_reshape(const onnx::NodeProto& node, const ops::Shape& in) const {
    try {
      return graph::reshape_output_shape(reshape_target(node), in, label(node));
    } catch (const ops::InvalidArgument& e) {
      fail(node, e.what());
    }
  }

  // Per-axis [start, step, count] of a Slice on `in`, clamped per ONNX.
  struct SliceAxis {
    std::int64_t start = 0, step = 1, count = 0;
  };
  std::vector<SliceAxis> slice_axes(const onnx::NodeProto& node, const ops::Shape& in) const {
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (opset_ < 10) {
      starts = attr_int_list(node, "starts");
      ends = attr_int_list(node, "ends");
      axes = attr_int_list(node, "axes");
    } else {
      starts = ints_of(node, 1, "starts");
      ends = ints_of(node, 2, "ends");
      if (has_input(node, 3)) axes = ints_of(node, 3, "axes");
      if (has_input(node, 4)) steps = ints_of(node, 4, "steps");
    }
    if (starts.size() != ends.size()) fail(node, "starts and ends differ in length");
    if (axes.empty())
      for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) fail(node, "axes or steps differ in length from starts");
    std::vector<SliceAxis> out(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = {0, 1, in[i]};
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto a = static_cast<std::size_t>(norm_axis(node, axes[i], in.size()));
      const std::int64_t dim = in[a], step = steps[i];
      if (step == 0) fail(node, "a slice step is 0");
      auto clampv = [](std::int64_t v, std::int64_t lo, std::int64_t hi) { return std::max(lo, std::min(v, hi)); };
      std::int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
      std::int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (step > 0) {
        b = clampv(b, 0, dim);
        e = clampv(e, 0, dim);
      } else {
        b = clampv(b, 0, dim - 1);
        e = clampv(e, -1, dim - 1);
      }
      // Counted without overflow for any step (INT64_MIN's magnitude does not fit int64); an
      // empty axis selects nothing whatever the clamping above made of it.
      std::int64_t n = 0;
      if (dim > 0 && step > 0 && e > b) {
        n = (e - b - 1) / step + 1;
      } else if (dim > 0 && step < 0 && b > e) {
        const std::uint64_t magnitude = 0 - static_cast<std::uint64_t>(step);
        n = static_cast<std::int64_t>(static_cast<std::uint64_t>(b - e - 1) / magnitude + 1);
      }
      // One element or none: the step no longer matters, and step 1 keeps such a slice on the
      // activation path (x[:, ::INT64_MAX] is x[:, :1]).
      out[a] = {b, n <= 1 ? 1 : step, n};
    }
    return out;
  }

  // base^exponent for exponent >= 0, wrapping like repeated multiplication.
  static std::int64_t integer_power(std::int64_t base, std::int64_t exponent) {
    std::int64_t r = 1;
    while (exponent > 0) {
      if (exponent & 1) r = wrap_mul(r, base);
      base = wrap_mul(base, base);
      exponent >>= 1;
    }
    return r;
  }

  static HostConstant fold_binary(const std::string& op, const HostConstant& a, const HostConstant& b) {
    HostConstant c;
    const std::size_t rank = std::max(a.shape.size(), b.shape.size());
    auto padded = [&](const ops::Shape& s) {
      ops::Shape p(rank - s.size(), 1);
      p.insert(p.end(), s.begin(), s.end());
      return p;
    };
    const ops::Shape pa = padded(a.shape), pb = padded(b.shape);
    for (std::size_t i = 0; i < rank; ++i) {
      if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1)
        throw ops::InvalidArgument(fmt::format("shapes {} and {} do not broadcast", ops::to_string(a.shape),
                                               ops::to_string(b.shape)));
      c.shape.push_back(pa[i] == 1 ? pb[i] : pa[i]);
    }
    // Pow's result has the base's type (ONNX): an integer exponent leaves a float base float.
    c.integer = op == "Pow" ? a.integer : a.integer && b.integer;
    const std::int64_t n = product(c.shape, 0, rank);
    c.data.resize(static_cast<std::size_t>(n));
    if (c.integer) c.ints.resize(static_cast<std::size_t>(n));
    for (std::int64_t flat = 0; flat < n; ++flat) {
      std::int64_t rem = flat, ia = 0, ib = 0, sa = 1, sb = 1;
      for (std::size_t d = rank; d-- > 0;) {
        const std::int64_t idx = rem % c.shape[d];
        rem /= c.shape[d];
        if (pa[d] != 1) ia += idx * sa;
        if (pb[d] != 1) ib += idx * sb;
        sa *= pa[d];
        sb *= pb[d];
      }
      if (c.integer) {
        // Exact int64 arithmetic (shape chains compute sizes and INT64_MAX bounds with these).
        const std::int64_t x = a.ints[static_cast<std::size_t>(ia)];
        const double y_float = b.data[static_cast<std::size_t>(ib)];
        std::int64_t r = 0;
        if (op == "Pow") {
          r = b.integer && b.ints[static_cast<std::size_t>(ib)] >= 0
                  ? integer_power(x, b.ints[static_cast<std::size_t>(ib)])
                  : saturating_trunc(std::pow(static_cast<double>(x), y_float));
        } else {
          const std::int64_t y = b.ints[static_cast<std::size_t>(ib)];
          r = op == "Add"   ? wrap_add(x, y)
              : op == "Sub" ? wrap_sub(x, y)
              : op == "Mul" ? wrap_mul(x, y)
              : y == 0      ? 0  // undefined in ONNX; 0 rather than a crash
              : y == -1     ? wrap_sub(0, x)
                            : x / y;  // C++ truncates toward zero, as ONNX's integer Div does
        }
        c.ints[static_cast<std::size_t>(flat)] = r;
        c.data[static_cast<std::size_t>(flat)] = static_cast<float>(r);
        continue;
      }
      const double x = a.data[static_cast<std::size_t>(ia)], y = b.data[static_cast<std::size_t>(ib)];
      const double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : op == "Pow" ? std::pow(x, y) : x / y;
      c.data[static_cast<std::size_t>(flat)] = static_cast<float>(r);
    }
    return c;
  }

  // Computes the node on the host when all its inputs are constants (Shape: when its input's
  // shape is known) and keeps the result as a host constant. False when it cannot fold.
  bool try_fold(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (op == "Shape") {
      const std::string& in = node.input(0);
      const ops::Shape s = shape_of_name(in);
      auto r = static_cast<std::int64_t>(s.size());
      std::int64_t b = attr_int(node, "start", 0), e = attr_int(node, "end", r);
      if (b < 0) b += r;
      if (e < 0) e += r;
      b = std::clamp<std::int64_t>(b, 0, r);
      e = std::clamp<std::int64_t>(e, b, r);
      constants_[node.output(0)] = integer_constant({e - b}, {s.begin() + b, s.begin() + e});
      return true;
    }
    for (const std::string& in : node.input())
      if (!in.empty() && !is_constant(in)) return false;
    if (node.input_size() == 0 && op != "ConstantOfShape") return false;
    // A folded op may have fewer inputs than it reads (an Add with one): name the missing one
    // rather than read past the node's input list.
    auto in = [&](int i) -> const HostConstant& {
      if (!has_input(node, i)) fail(node, fmt::format("input {} is missing", i));
      return constants_.at(node.input(i));
    };
    HostConstant c;
    try {
      if (op == "Cast") {
        const std::int64_t to = attr_int(node, "to", 0);
        const HostConstant& x = in(0);
        if (float_type(to)) {
          c = x;  // data already holds the values as fp32
          c.integer = false;
          c.ints.clear();
        } else {
          std::vector<std::int64_t> v;
          for (std::size_t i = 0; i < x.data.size(); ++i) {
            const std::int64_t exact = x.integer ? x.ints[i] : saturating_trunc(x.data[i]);
            if (to == onnx::TensorProto::BOOL) v.push_back(exact != 0 || (!x.integer && x.data[i] != 0.0f) ? 1 : 0);
            else if (to == onnx::TensorProto::INT32) v.push_back(static_cast<std::int32_t>(exact));  // wraps
            else v.push_back(exact);
          }
          c = integer_constant(x.shape, std::move(v));
        }
      } else if (op == "Gather") {
        const HostConstant& data = in(0);
        const HostConstant& idx = in(1);
        if (data.shape.empty()) fail(node, "gather from a scalar");
        const auto axis = static_cast<std::size_t>(norm_axis(node, attr_int(node, "axis", 0), data.shape.size()));
        const std::int64_t outer = product(data.shape, 0, axis), dim = data.shape[axis],
                           inner = product(data.shape, axis + 1, data.shape.size());
        c.shape.assign(data.shape.begin(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis));
        c.shape.insert(c.shape.end(), idx.shape.begin(), idx.shape.end());
        c.shape.insert(c.shape.end(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.shape.end());
        c.integer = data.integer;
        if (!idx.integer) fail(node, "the indices are not integers");
        for (std::int64_t o = 0; o < outer; ++o) {
          for (const std::int64_t index : idx.ints) {
            if (index < -dim || index >= dim)
              fail(node, fmt::format("index {} is out of range for a dim of {}", index, dim));
            const std::int64_t k = index < 0 ? index + dim : index;
            for (std::int64_t j = 0; j < inner; ++j)
              append_element(c, data, static_cast<std::size_t>((o * dim + k) * inner + j));
          }
        }
      } else if (op == "Slice") {
        const HostConstant& x = in(0);
        const std::vector<SliceAxis> ax = slice_axes(node, x.shape);
        c.integer = x.integer;
        for (const SliceAxis& a : ax) c.shape.push_back(a.count);
        const std::int64_t n = product(c.shape, 0, c.shape.size());
        for (std::int64_t flat = 0; flat < n; ++flat) {
          std::int64_t rem = flat, src = 0, stride = 1;
          for (std::size_t d = ax.size(); d-- > 0;) {
            const std::int64_t i = rem % c.shape[d];
            rem /= c.shape[d];
            src += (ax[d].start + i * ax[d].step) * stride;
            stride *= x.shape[d];
          }
          append_element(c, x, static_cast<std::size_t>(src));
        }
      } else if (op == "Concat") {
        const HostConstant& first = in(0);
        const std::size_t rank = std::max<std::size_t>(first.shape.size(), 1);
        const auto axis = static_cast<std::size_t>(norm_axis(node, attr_int(node, "axis", 0), rank));
        c.shape = first.shape.empty() ? ops::Shape{1} : first.shape;
        c.shape[axis] = 0;
        c.integer = true;
        for (int i = 0; i < node.input_size(); ++i) {
          const ops::Shape s = in(i).shape.empty() ? ops::Shape{1} : in(i).shape;
          if (s.size() != rank) fail(node, "inputs differ in rank");
          c.shape[axis] += s[axis];
          c.integer = c.integer && in(i).integer;
        }
        const std::int64_t outer = product(c.shape, 0, axis), inner = product(c.shape, axis + 1, rank);
        for (std::int64_t o = 0; o < outer; ++o) {
          for (int i = 0; i < node.input_size(); ++i) {
            const ops::Shape s = in(i).shape.empty() ? ops::Shape{1} : in(i).shape;
            const std::int64_t block = s[axis] * inner;
            for (std::int64_t j = 0; j < block; ++j) append_element(c, in(i), static_cast<std::size_t>(o * block + j));
          }
        }
      } else if (op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" || op == "Flatten") {
        c = in(0);
        c.shape = op == "Unsqueeze" ? unsqueeze_shape(node, c.shape)
                  : op == "Squeeze" ? squeeze_shape(node, c.shape)
                  : op == "Flatten" ? flatten_shape(node, c.shape)
                                    : resolved_reshape(node, c.shape);
      } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow") {
        c = fold_binary(op, in(0), in(1));
      } else if (op == "Transpose") {
        // Weights stored in another layout (TensorFlow's HWIO) are transposed by the exporter.
        const HostConstant& x = in(0);
        c = x;
        if (!x.shape.empty()) {
          const ops::TransposeParams p{attr_int_list(node, "perm")};
          const std::vector<std::int64_t> perm = ops::transpose_permutation(p, x.shape.size(), label(node));
          c.shape = ops::transpose_output_shape(p, x.shape, label(node));
          const std::size_t rank = x.shape.size();
          std::vector<std::int64_t> in_stride(rank, 1);
          for (std::size_t d = rank - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * x.shape[d + 1];
          for (std::int64_t flat = 0; flat < product(c.shape, 0, rank); ++flat) {
            std::int64_t rem = flat, src = 0;
            for (std::size_t d = rank; d-- > 0;) {
              src += (rem % c.shape[d]) * in_stride[static_cast<std::size_t>(perm[d])];
              rem /= c.shape[d];
            }
            c.data[static_cast<std::size_t>(flat)] = x.data[static_cast<std::size_t>(src)];
            if (x.integer) c.ints[static_cast<std::size_t>(flat)] = x.ints[static_cast<std::size_t>(src)];
          }
        }
      } else if (op == "ConstantOfShape") {
        if (!has_input(node, 0)) fail(node, "input 0 (the shape) is missing");
        for (const std::int64_t d : ints_of(node, 0, "shape")) {
          if (d < 0) fail(node, fmt::format("the shape holds {}; dimensions must be >= 0", d));
          c.shape.push_back(d);
        }
        HostConstant fill{{}, {0.0f}};
        if (const auto* a = attribute(node, "value")) {
          fill = decode_tensor(a->t(), fmt::format("node '{}' value", label(node)));
          if (fill.data.size() != 1) fail(node, "the value attribute must hold one element");
        }
        const auto count = static_cast<std::size_t>(product(c.shape, 0, c.shape.size()));
        c.integer = fill.integer;
        c.data.assign(count, fill.data[0]);
        if (fill.integer) c.ints.assign(count, fill.ints[0]);
      } else {
        return false;
      }
    } catch (const ops::InvalidArgument& e) {
      fail(node, e.what());
    }
    constants_[node.output(0)] = std::move(c);
    return true;
  }

  // ---- conversion ----
  void check_inputs_defined(const onnx::NodeProto& node) const {
    for (const std::string& in : node.input()) {
      if (in.empty() || values_.count(in) || constants_.count(in) || zero_size_.count(in)) continue;
      if (auto it = unsupported_outputs_.find(in); it != unsupported_outputs_.end()) {
        fail(node, fmt::format("reads '{}', an extra output of node '{}' (training statistics or pooling "
                               "indices) that fusescope does not compute",
                               in, it->second));
      }
      fail(node, fmt::format("reads '{}', which is neither an initializer, a graph input nor the output of "
                             "an earlier node (a missing initializer, or a cycle or misordered graph: ONNX "
                             "requires nodes in topological order)",
                             in));
    }
  }

  void convert(const onnx::NodeProto& node) {
    if (node.output_size() == 0 || node.output(0).empty()) fail(node, "the node has no output");
    check_inputs_defined(node);
    for (const std::string& out : node.output()) {
      if (out.empty()) continue;
      if (values_.count(out) || constants_.count(out)) fail(node, fmt::format("output '{}' is defined twice", out));
    }
    const std::string& op = node.op_type();
    if (op == "Split") return convert_split(node);  // every output is computed
    for (int i = 1; i < node.output_size(); ++i)
      if (!node.output(i).empty()) unsupported_outputs_[node.output(i)] = label(node);

    if ((op == "Conv" || op == "MaxPool" || op == "AveragePool" || op == "ConvTranspose") && has_input(node, 0) &&
        values_.count(node.input(0)) && shape(values_.at(node.input(0))).size() == 3)
      return convert_1d_as_2d(node);
    if (op == "Conv") return convert_conv(node);
    if (op == "BatchNormalization") return convert_batchnorm(node);
    if (op == "MaxPool" || op == "AveragePool") return convert_pool(node);
    if (op == "GlobalAveragePool") return emit(node, graph::GlobalAveragePoolAttrs{}, {input_value(node, 0)});
    if (op == "Gemm") return convert_gemm(node);
    if (op == "Resize" || op == "Upsample") return convert_resize(node);
    if (op == "ConvTranspose") return convert_conv_transpose(node);
    if (op == "Softmax") return convert_softmax(node);
    if (op == "Constant") return convert_constant(node);
    if (op == "Identity") return convert_identity(node);
    if (op == "Concat") return convert_concat(node);
    if (op == "Flatten") {
      const ValueId x = input_value(node, 0);
      std::int64_t axis = attr_int(node, "axis", 1);
      if (axis < 0) axis += static_cast<std::int64_t>(shape(x).size());
      if (axis == 1 && shape(x).size() >= 2) return emit(node, graph::FlattenAttrs{}, {x});
      return emit(node, graph::ReshapeAttrs{flatten_shape(node, shape(x))}, {x});
    }
    // Views: an alias of the input under a new shape.
    if (op == "Reshape") {
      const ValueId x = input_value(node, 0);
      return emit(node, graph::ReshapeAttrs{reshape_target(node)}, {x});
    }
    if (op == "Squeeze" || op == "Unsqueeze") {
      const ValueId x = input_value(node, 0);
      const ops::Shape s = op == "Squeeze" ? squeeze_shape(node, shape(x)) : unsqueeze_shape(node, shape(x));
      return emit(node, graph::ReshapeAttrs{s}, {x});
    }
    if (op == "MatMul") return convert_matmul(node);
    if (op == "Transpose") {
      return emit(node, graph::TransposeAttrs{{attr_int_list(node, "perm")}}, {input_value(node, 0)});
    }
    if (op == "Pad") return convert_pad(node);
    if (op == "Slice") return convert_slice(node);
    if (op == "ReduceMean") return convert_reduce_mean(node);
    if (op == "LayerNormalization") return convert_layer_norm(node);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow") {
      const ops::BinaryOp b = op == "Add"   ? ops::BinaryOp::add
                              : op == "Sub" ? ops::BinaryOp::sub
                              : op == "Mul" ? ops::BinaryOp::mul
                              : op == "Div" ? ops::BinaryOp::div
                                            : ops::BinaryOp::pow;
      return emit(node, graph::BinaryAttrs{b}, {input_value(node, 0), input_value(node, 1)});
    }
    return emit(node, graph::ActivationAttrs{activation(node)}, {input_value(node, 0)});
  }

  ops::Activation activation(const onnx::NodeProto& node) const {
    const std::string& op = node.op_type();
    if (op == "Relu") return ops::Activation::relu();
    if (op == "Sigmoid") return ops::Activation::sigmoid();
    if (op == "Tanh") return ops::Activation::tanh();
    if (op == "HardSwish") return ops::Activation::hard_swish();
    if (op == "Sqrt") return ops::Activation::sqrt();
    if (op == "Exp") return ops::Activation::exp();
    if (op == "Erf") return ops::Activation::erf();
    if (op == "LeakyRelu") return ops::Activation::leaky_relu(attr_float(node, "alpha", 0.01f));
    if (op == "HardSigmoid")
      return ops::Activation::hard_sigmoid(attr_float(node, "alpha", 0.2f), attr_float(node, "beta", 0.5f));
    if (op == "Clip") {
      float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
      if (opset_ < 11) {  // bounds were attributes until opset 11, optional inputs since
        lo = attr_float(node, "min", lo);
        hi = attr_float(node, "max", hi);
      } else {
        auto bound = [&](int i, const char* role, float& out) {
          if (!has_input(node, i)) return;
          const HostConstant& c = constant_input(node, i, role);
          if (c.data.size() != 1) fail(node, fmt::format("the {} bound has {} values, expected 1", role, c.data.size()));
          out = c.data[0];
        };
        bound(1, "min", lo);
        bound(2, "max", hi);
      }
      return ops::Activation::clip(lo, hi);
    }
    fail(node, "not an activation");  // unreachable: check_supported_ops ran first
  }

  // pads [top, left, bottom, right] from pads/auto_pad, for a window of `kernel` x `dilation`.
  std::vector<std::int64_t> padding(const onnx::NodeProto& node, const ops::Shape& input,
                                    const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& strides,
                                    const std::vector<std::int64_t>& dilations) const {
    const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") return attr_ints(node, "pads", 4, {0, 0, 0, 0});
    if (auto_pad == "VALID") return {0, 0, 0, 0};
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") fail(node, fmt::format("unknown auto_pad '{}'", auto_pad));
    for (int i = 0; i < 2; ++i) {
      if (strides[static_cast<std::size_t>(i)] < 1 || dilations[static_cast<std::size_t>(i)] < 1 ||
          kernel[static_cast<std::size_t>(i)] < 1) {
        fail(node, "kernel, strides and dilations must be at least 1");
      }
    }
    std::vector<std::int64_t> pads(4);
    for (std::size_t i = 0; i < 2; ++i) {
      same_padding(input[2 + i], kernel[i], strides[i], dilations[i], auto_pad == "SAME_UPPER", pads[i], pads[2 + i]);
    }
    return pads;
  }

  // kernel_shape, which may be left out, must agree with the 4-D weight's last two axes.
  std::vector<std::int64_t> kernel_of_weight(const onnx::NodeProto& node, const HostConstant& w) const {
    auto kernel = attr_ints(node, "kernel_shape", 2, {w.shape[2], w.shape[3]});
    if (kernel[0] != w.shape[2] || kernel[1] != w.shape[3]) {
      fail(node, fmt::format("kernel_shape {}x{} disagrees with weight shape {}", kernel[0], kernel[1],
                             ops::to_string(w.shape)));
    }
    return kernel;
  }

  void require_rank4(const onnx::NodeProto& node, ValueId x) const {
    if (shape(x).size() != 4) {
      fail(node, fmt::format("input '{}' has shape {}; only 2-D (NCHW) inputs are supported", node.input(0),
                             ops::to_string(shape(x))));
    }
  }

  void convert_conv(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    require_rank4(node, x);
    const HostConstant& w = constant_input(node, 1, "weight");
    if (w.shape.size() != 4) fail(node, fmt::format("weight has shape {}, expected 4-D OIHW", ops::to_string(w.shape)));
    const auto kernel = kernel_of_weight(node, w);
    const auto strides = attr_ints(node, "strides", 2, {1, 1});
    const auto dilations = attr_ints(node, "dilations", 2, {1, 1});
    const auto pads = padding(node, shape(x), kernel, strides, dilations);
    ops::Conv2dParams p;
    p.in_channels = shape(x)[1];
    p.out_channels = w.shape[0];
    set_window(p, kernel, strides, pads);
    p.dilation_h = dilations[0];
    p.dilation_w = dilations[1];
    p.groups = attr_int(node, "group", 1);
    p.has_bias = has_input(node, 2);
    ValueId bias = kNoValue;
    if (p.has_bias) {
      (void)constant_input(node, 2, "bias");
      bias = value(node.input(2));
    }
    const ValueId weight = value(node.input(1));
    emit(node, graph::ConvAttrs{p, {}, graph::ConvAlgorithm::automatic}, {x, weight, bias, kNoValue, kNoValue});
  }

  void convert_batchnorm(const onnx::NodeProto& node) {
    if (attr_int(node, "training_mode", 0) != 0) fail(node, "training_mode 1 is not supported (inference only)");
    if (attr_int(node, "spatial", 1) != 1) fail(node, "spatial 0 is not supported");
    const ValueId x = input_value(node, 0);
    if (shape(x).size() < 2) fail(node, fmt::format("input has shape {}, expected N x C x ...", ops::to_string(shape(x))));
    const std::int64_t c = shape(x)[1];
    // Our BN reads one [4, C] constant: rows gamma, beta, running mean, running var.
    std::vector<float> stats;
    stats.reserve(static_cast<std::size_t>(4 * c));
    const char* roles[] = {"scale", "bias", "mean", "variance"};
    for (int i = 0; i < 4; ++i) {
      const HostConstant& t = constant_input(node, i + 1, roles[i]);
      if (static_cast<std::int64_t>(t.data.size()) != c) {
        throw ops::InvalidArgument(fmt::format("{}: batchnorm {} '{}' has shape {}, expected [{}] (the input's channels)",
                                               label(node), roles[i], node.input(i + 1), ops::to_string(t.shape), c));
      }
      stats.insert(stats.end(), t.data.begin(), t.data.end());
    }
    const ValueId st = g_.add_constant(fresh_name(label(node) + ".stats"), {4, c}, std::move(stats));
    const float epsilon = attr_float(node, "epsilon", 1e-5f);
    emit(node, graph::BatchNormAttrs{{c, epsilon}, {}}, {x, st});
  }

  // LayerNormalization (opset 17) normalises over the dims [axis, rank) with Scale and B of
  // their shape. Our layer_norm works along one axis, so several trailing dims are flattened
  // into one around it (a view each way); gamma and beta become one fp32 [2, L] constant.
  void convert_layer_norm(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    const ops::Shape xs = shape(x);
    const std::int64_t axis = ops::normalize_axis(attr_int(node, "axis", -1), xs.size(), label(node));
    const float epsilon = attr_float(node, "epsilon", 1e-5f);
    const std::int64_t len = product(xs, static_cast<std::size_t>(axis), xs.size());
    std::vector<float> affine;
    affine.reserve(static_cast<std::size_t>(2 * len));
    for (int i = 1; i <= 2; ++i) {
      const char* role = i == 1 ? "Scale" : "B";
      if (i == 2 && !has_input(node, 2)) {
        affine.insert(affine.end(), static_cast<std::size_t>(len), 0.0f);
        break;
      }
      const HostConstant& t = constant_input(node, i, role);
      // Scale and B broadcast to the normalised dims; one value or a full set are what exporters write.
      if (t.data.size() == 1) {
        affine.insert(affine.end(), static_cast<std::size_t>(len), t.data[0]);
      } else if (static_cast<std::int64_t>(t.data.size()) == len) {
        affine.insert(affine.end(), t.data.begin(), t.data.end());
      } else {
        fail(node, fmt::format("{} has shape {}, expected the normalised dims of {} from axis {} ({} values)", role,
                               ops::to_string(t.shape), ops::to_string(xs), axis, len));
      }
    }
    const ValueId params = g_.add_constant(fresh_name(label(node) + ".affine"), {2, len}, std::move(affine));
    const ops::LayerNormParams p{-1, epsilon};
    if (axis + 1 == static_cast<std::int64_t>(xs.size())) return emit(node, graph::LayerNormAttrs{p}, {x, params});
    ops::Shape flat(xs.begin(), xs.begin() + axis);
    flat.push_back(len);
    const ValueId x2 = add_helper(node, "flattened", graph::ReshapeAttrs{flat}, {x});
    const ValueId y2 = add_helper(node, "layer_norm", graph::LayerNormAttrs{p}, {x2, params});
    emit(node, graph::ReshapeAttrs{xs}, {y2});
  }

  void convert_pool(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    require_rank4(node, x);
    const bool max = node.op_type() == "MaxPool";
    if (!attribute(node, "kernel_shape")) fail(node, "the kernel_shape attribute is missing");
    const auto kernel = attr_ints(node, "kernel_shape", 2, {});
    const auto strides = attr_ints(node, "strides", 2, {1, 1});
    const auto dilations = attr_ints(node, "dilations", 2, {1, 1});
    if (!max && (dilations[0] != 1 || dilations[1] != 1))
      fail(node, fmt::format("dilations {}x{}: dilated average pooling is not supported (max pooling only)",
                             dilations[0], dilations[1]));
    const auto pads = padding(node, shape(x), kernel, strides, dilations);
    ops::Pool2dParams p;
    p.kind = max ? ops::PoolKind::max : ops::PoolKind::average;
    set_window(p, kernel, strides, pads);
    p.dilation_h = dilations[0];
    p.dilation_w = dilations[1];
    p.ceil_mode = attr_int(node, "ceil_mode", 0) != 0;
    p.count_include_pad = !max && attr_int(node, "count_include_pad", 0) != 0;
    emit(node, graph::PoolAttrs{p}, {x});
  }

  // Resize (opsets 10-17) and Upsample (opset 9) of H and W, nearest or bilinear, with the
  // scales or sizes folded from constants into the node's parameters.
  void convert_resize(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    require_rank4(node, x);
    const ops::Shape& in = shape(x);
    const bool legacy = node.op_type() == "Upsample" || opset_ < 11;
    std::string mode = attr_string(node, "mode", "nearest");
    if (mode == "bilinear") mode = "linear";  // Upsample-7/9's name for it
    if (mode != "nearest" && mode != "linear") {
      fail(node, fmt::format("mode '{}' is not supported (nearest and linear are)", mode));
    }
    // Opset 10 Resize and Upsample had neither attribute; ONNX Runtime maps them onto
    // asymmetric coordinates, truncating (floor) when enlarging and rounding up when shrinking.
    const std::string transform_name =
        legacy ? "asymmetric" : attr_string(node, "coordinate_transformation_mode", "half_pixel");
    ops::CoordinateTransform transform{};
    if (transform_name == "half_pixel") transform = ops::CoordinateTransform::half_pixel;
    else if (transform_name == "pytorch_half_pixel") transform = ops::CoordinateTransform::pytorch_half_pixel;
    else if (transform_name == "align_corners") transform = ops::CoordinateTransform::align_corners;
    else if (transform_name == "asymmetric") transform = ops::CoordinateTransform::asymmetric;
    // ONNX spells it tf_half_pixel_for_nn; fusescope's exporter wrote the long name before it
    // learnt that, so both read back.
    else if (transform_name == "tf_half_pixel_for_nn" || transform_name == "tf_half_pixel_for_nearest")
      transform = ops::CoordinateTransform::tf_half_pixel_for_nearest;
    else if (transform_name == "tf_crop_and_resize")
      fail(node, "coordinate_transformation_mode 'tf_crop_and_resize' is not supported: it resizes the roi box "
                 "(half_pixel, pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn are)");
    else fail(node, fmt::format("coordinate_transformation_mode '{}' is not supported (half_pixel, pytorch_half_pixel, "
                                "align_corners, asymmetric and tf_half_pixel_for_nn are)", transform_name));

    // The scales or sizes, from a constant input (Upsample-7's attribute too).
    std::vector<float> scales;
    std::vector<std::int64_t> sizes;
    auto nonempty_constant = [&](int i, const char* role) {
      return has_input(node, i) && !constant_input(node, i, role).data.empty();
    };
    const int scales_slot = legacy ? 1 : 2;
    if (const auto* a = attribute(node, "scales"); a != nullptr && a->type() == onnx::AttributeProto::FLOATS) {
      scales.assign(a->floats().begin(), a->floats().end());
    } else if (nonempty_constant(scales_slot, "scales")) {
      scales = constant_input(node, scales_slot, "scales").data;
    } else if (!legacy && nonempty_constant(3, "sizes")) {
      sizes = ints_of(node, 3, "sizes");
    } else {
      fail(node, legacy ? "the scales input is missing" : "neither scales nor sizes is given");
    }
    ops::ResizeParams p;
    if (!sizes.empty()) {
      if (sizes.size() != 4) fail(node, fmt::format("sizes has {} values, expected 4 (N, C, H, W)", sizes.size()));
      if (sizes[0] != in[0] || sizes[1] != in[1]) {
        fail(node, fmt::format("sizes {}x{}x{}x{} resize N or C of input {}; only H and W can be resized", sizes[0],
                               sizes[1], sizes[2], sizes[3], ops::to_string(in)));
      }
      if (sizes[2] <= 0 || sizes[3] <= 0) fail(node, fmt::format("sizes {}x{} must be positive", sizes[2], sizes[3]));
      p = ops::resize_to_size(ops::ResizeMode::nearest, {}, transform, in[2], in[3], sizes[2], sizes[3]);
    } else {
      if (scales.size() != 4) fail(node, fmt::format("scales has {} values, expected 4 (N, C, H, W)", scales.size()));
      if (scales[0] != 1.0f || scales[1] != 1.0f) {
        fail(node, fmt::format("scales {}, {} resize N or C; only H and W can be resized", scales[0], scales[1]));
      }
      for (int i = 2; i < 4; ++i) {
        if (!(std::isfinite(scales[static_cast<std::size_t>(i)]) && scales[static_cast<std::size_t>(i)] > 0.0f))
          fail(node, fmt::format("scale {} must be finite and positive", scales[static_cast<std::size_t>(i)]));
      }
      p.transform = transform;
      p.length_from_scale = true;
      p.scale_h = scales[2];
      p.scale_w = scales[3];
      // ONNX: output = floor(input * scale), the scale as the float it is.
      p.out_h = static_cast<std::int64_t>(std::floor(static_cast<double>(in[2]) * p.scale_h));
      p.out_w = static_cast<std::int64_t>(std::floor(static_cast<double>(in[3]) * p.scale_w));
      if (p.out_h <= 0 || p.out_w <= 0)
        fail(node, fmt::format("scales {}x{} shrink input {}x{} to nothing", p.scale_h, p.scale_w, in[2], in[3]));
    }
    p.mode = mode == "nearest" ? ops::ResizeMode::nearest : ops::ResizeMode::linear;
    if (legacy) {
      if ((p.scale_h < 1.0f) != (p.scale_w < 1.0f) && p.mode == ops::ResizeMode::nearest) {
        fail(node, "nearest resizing that enlarges one axis and shrinks the other is not supported at this opset");
      }
      p.nearest = p.scale_h < 1.0f ? ops::NearestRounding::ceil : ops::NearestRounding::floor;
    } else {
      const std::string rounding = attr_string(node, "nearest_mode", "round_prefer_floor");
      if (rounding == "round_prefer_floor") p.nearest = ops::NearestRounding::round_prefer_floor;
      else if (rounding == "round_prefer_ceil") p.nearest = ops::NearestRounding::round_prefer_ceil;
      else if (rounding == "floor") p.nearest = ops::NearestRounding::floor;
      else if (rounding == "ceil") p.nearest = ops::NearestRounding::ceil;
      else fail(node, fmt::format("nearest_mode '{}' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil",
                                  rounding));
    }
    emit(node, graph::ResizeAttrs{p}, {x});
  }

  // ConvTranspose (2-D): weight [C, OC/group, kH, kW] and optional bias as constants; pads from
  // pads, auto_pad or output_shape as the ONNX operator text gives them.
  void convert_conv_transpose(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    require_rank4(node, x);
    const ops::Shape& in = shape(x);
    const HostConstant& w = constant_input(node, 1, "weight");
    if (w.shape.size() != 4)
      fail(node, fmt::format("weight has shape {}, expected 4-D [C, OC/group, kH, kW]", ops::to_string(w.shape)));
    const auto kernel = kernel_of_weight(node, w);
    const auto strides = attr_ints(node, "strides", 2, {1, 1});
    const auto dilations = attr_ints(node, "dilations", 2, {1, 1});
    const auto output_padding = attr_ints(node, "output_padding", 2, {0, 0});
    for (std::size_t i = 0; i < 2; ++i) {
      if (strides[i] < 1 || dilations[i] < 1) fail(node, "strides and dilations must be at least 1");
    }
    const std::int64_t group = attr_int(node, "group", 1);
    if (group < 1) fail(node, fmt::format("group {} must be at least 1", group));
    std::vector<std::int64_t> output_shape = attr_int_list(node, "output_shape");
    if (output_shape.size() == 4) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    if (!output_shape.empty() && output_shape.size() != 2)
      fail(node, fmt::format("output_shape has {} values, expected 2 (H, W)", output_shape.size()));
    const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
      fail(node, fmt::format("unknown auto_pad '{}'", auto_pad));
    std::vector<std::int64_t> pads = {0, 0, 0, 0};
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (same && output_shape.empty()) output_shape = {in[2] * strides[0], in[3] * strides[1]};
    if (!output_shape.empty()) {
      for (std::size_t i = 0; i < 2; ++i) {
        const std::int64_t full =
            strides[i] * (in[2 + i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1;
        const std::int64_t total = full - output_shape[i];
        if (total < 0) {
          fail(node, fmt::format("output_shape {}x{} is larger than the {} rows/columns this input can produce; "
                                 "output_padding would have to grow it",
                                 output_shape[0], output_shape[1], full));
        }
        // ONNX: SAME_UPPER puts the smaller half first, every other mode the larger half.
        const std::int64_t small = total / 2, big = total - small;
        pads[i] = auto_pad == "SAME_UPPER" ? small : big;
        pads[2 + i] = auto_pad == "SAME_UPPER" ? big : small;
      }
    } else if (auto_pad == "NOTSET") {
      pads = attr_ints(node, "pads", 4, {0, 0, 0, 0});
    }
    ops::ConvTranspose2dParams p;
    p.in_channels = in[1];
    if (w.shape[0] != in[1]) {
      fail(node, fmt::format("weight has shape {}: its first axis must be the input's {} channels", ops::to_string(w.shape),
                             in[1]));
    }
    p.out_channels = w.shape[1] * group;
    set_window(p, kernel, strides, pads);
    p.output_padding_h = output_padding[0];
    p.output_padding_w = output_padding[1];
    p.dilation_h = dilations[0];
    p.dilation_w = dilations[1];
    p.groups = group;
    p.has_bias = has_input(node, 2);
    ValueId bias = kNoValue;
    if (p.has_bias) {
      (void)constant_input(node, 2, "bias");
      bias = value(node.input(2));
    }
    emit(node, graph::ConvTransposeAttrs{p}, {x, value(node.input(1)), bias});
  }


  // A node fusescope adds to carry out one ONNX node (a reshape around it, a transpose of its
  // input): named after the ONNX node plus `role`, in its scope; its value has the same name.
  ValueId add_helper(const onnx::NodeProto& node, const std::string& role, graph::Attributes attrs,
                     std::vector<ValueId> inputs) {
    const std::string name = fresh_name(label(node) + "/" + role);
    onnx_names_.insert(name);
    return g_.add_node(name, scope_of(label(node)), std::move(attrs), std::move(inputs), name);
  }

  // 1-D Conv, ConvTranspose, MaxPool and AveragePool (input N x C x W) run as their 2-D forms on
  // N x C x 1 x W: each spatial attribute gains a leading H entry that changes nothing (kernel,
  // stride and dilation 1, pads and output_padding 0), a 3-D weight becomes [.., .., 1, k], and
  // two reshapes (views, no dispatch) go in and out. The 2-D node keeps the ONNX node's name.
  void convert_1d_as_2d(const onnx::NodeProto& node) {
    onnx::NodeProto n = node;
    n.set_name(label(node));
    for (onnx::AttributeProto& a : *n.mutable_attribute()) {
      if (a.type() != onnx::AttributeProto::INTS) continue;
      std::vector<std::int64_t> v(a.ints().begin(), a.ints().end());
      const std::string& name = a.name();
      if (name == "pads" && v.size() == 2) v = {0, v[0], 0, v[1]};
      else if ((name == "kernel_shape" || name == "strides" || name == "dilations" || name == "output_shape") &&
               v.size() == 1) v = {1, v[0]};
      else if (name == "output_padding" && v.size() == 1) v = {0, v[0]};
      else continue;
      a.clear_ints();
      for (std::int64_t x : v) a.add_ints(x);
    }
    const ValueId x = values_.at(node.input(0));
    const ops::Shape& xs = shape(x);
    const ValueId x2 = add_helper(node, "as_2d", graph::ReshapeAttrs{{xs[0], xs[1], 1, xs[2]}}, {x});
    n.set_input(0, g_.value(x2).name);
    values_[g_.value(x2).name] = x2;
    if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose") {
      const HostConstant& w = constant_input(node, 1, "weight");
      if (w.shape.size() != 3) fail(node, fmt::format("weight has shape {}, expected 3-D for a 1-D input", ops::to_string(w.shape)));
      HostConstant w2 = w;
      w2.shape = {w.shape[0], w.shape[1], 1, w.shape[2]};
      const std::string wname = fresh_name(node.input(1) + ".as_2d");
      onnx_names_.insert(wname);
      constants_[wname] = std::move(w2);
      n.set_input(1, wname);
    }
    const std::string y2 = fresh_name(node.output(0) + ".as_2d");
    onnx_names_.insert(y2);
    n.set_output(0, y2);
    for (int i = 1; i < n.output_size(); ++i) n.set_output(i, "");
    if (node.op_type() == "Conv") convert_conv(n);
    else if (node.op_type() == "ConvTranspose") convert_conv_transpose(n);
    else convert_pool(n);
    const ValueId y = values_.at(y2);
    ops::Shape out = shape(y);
    out.erase(out.begin() + 2);
    const std::string name = fresh_name(label(node) + "/as_1d");
    onnx_names_.insert(name);
    values_[node.output(0)] = g_.add_node(name, scope_of(label(node)), graph::ReshapeAttrs{out}, {y}, node.output(0));
  }

  // Gemm: Y = alpha * A' * B' + beta * C (A' = A or A^T, B' likewise), B and C constants.
  // alpha folds into B and beta into C on the host (in float64, rounded once to fp32: a
  // relative change of at most 2^-24 per weight, well inside what fp32 summation does anyway);
  // transA runs a transpose of A first; a C that is per output ([N], [1, N] or a scalar) is the
  // gemm's bias, any other C that broadcasts to [M, N] ([M, N], [M, 1]) is added after it.
  void convert_gemm(const onnx::NodeProto& node) {
    const bool trans_a = attr_int(node, "transA", 0) != 0;
    const double alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
    ValueId x = input_value(node, 0);
    const HostConstant& w = constant_input(node, 1, "weight");
    if (w.shape.size() != 2) fail(node, fmt::format("weight B has shape {}, expected 2-D", ops::to_string(w.shape)));
    if (trans_a) {
      if (shape(x).size() != 2) {
        fail(node, fmt::format("transA 1 with A of shape {}: A must be 2-D", ops::to_string(shape(x))));
      }
      x = add_helper(node, "transA", graph::TransposeAttrs{{{1, 0}}}, {x});
    }
    ops::GemmParams p;
    p.transpose_weight = attr_int(node, "transB", 0) != 0;
    p.out_features = p.transpose_weight ? w.shape[0] : w.shape[1];
    p.in_features = p.transpose_weight ? w.shape[1] : w.shape[0];
    auto scaled = [](const std::vector<float>& v, double by) {
      std::vector<float> out(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(static_cast<double>(v[i]) * by);
      return out;
    };
    ValueId weight = kNoValue;
    if (alpha == 1.0) {
      weight = value(node.input(1));
    } else {
      weight = g_.add_constant(fresh_name(node.input(1) + ".times_alpha"), w.shape, scaled(w.data, alpha));
    }
    ValueId bias = kNoValue;
    ValueId added = kNoValue;  // a C that is not per output: added after the gemm
    if (has_input(node, 2) && beta != 0.0) {
      const HostConstant& c = constant_input(node, 2, "bias");
      const auto n = static_cast<std::size_t>(p.out_features);
      const bool per_output = c.data.size() == n && (c.shape.size() == 1 || (c.shape.size() == 2 && c.shape[0] == 1));
      if (per_output && c.shape.size() == 1 && beta == 1.0) {
        bias = value(node.input(2));
      } else if (per_output || c.data.size() == 1) {  // [1, N] or a broadcast scalar: as our [N]
        std::vector<float> data = c.data.size() == n ? c.data : std::vector<float>(n, c.data[0]);
        bias = g_.add_constant(fresh_name(node.input(2) + ".as_vector"), {p.out_features}, scaled(data, beta));
      } else if (c.shape.size() == 2 && (c.shape[1] == 1 || c.shape[1] == p.out_features)) {
        // [M, N] or [M, 1]: M is checked by the add's broadcast against the gemm's [M, N].
        added = beta == 1.0 ? value(node.input(2))
                            : g_.add_constant(fresh_name(node.input(2) + ".times_beta"), c.shape, scaled(c.data, beta));
      } else {
        fail(node, fmt::format("bias C has shape {}, which does not broadcast to [M, {}]", ops::to_string(c.shape),
                               p.out_features));
      }
    }
    p.has_bias = bias != kNoValue;
    if (added == kNoValue) return emit(node, graph::GemmAttrs{p}, {x, weight, bias});
    const ValueId y = add_helper(node, "gemm", graph::GemmAttrs{p}, {x, weight, kNoValue});
    const ops::Shape& ys = shape(y);
    const HostConstant& c = constants_.at(node.input(2));
    if (c.shape[0] != ys[0] && c.shape[0] != 1) {
      fail(node, fmt::format("bias C has shape {}, which does not broadcast to the output {}", ops::to_string(c.shape),
                             ops::to_string(ys)));
    }
    emit(node, graph::BinaryAttrs{ops::BinaryOp::add}, {y, added});
  }

  // MatMul of an activation A [..., K] (any rank) by a constant B [K, N] (or [K]): a gemm on A
  // viewed as [M, K] (M the product of A's leading dims), viewed back as [..., N] (or [...]).
  // Reshapes are views, so an N-D MatMul costs the one gemm dispatch. B with batch dimensions
  // (a batched matmul) and a computed B are refused.
  void convert_matmul(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    const ops::Shape xs = shape(x);
    if (!has_input(node, 1) || !is_constant(node.input(1))) {
      fail(node, fmt::format("B is computed by the graph; only an activation times a constant matrix is supported "
                             "(A has shape {})",
                             ops::to_string(xs)));
    }
    const HostConstant& w = constant_input(node, 1, "B");
    if (w.shape.size() != 2 && w.shape.size() != 1) {
      fail(node, fmt::format("B has shape {}: a batched matmul (B with batch dimensions) is not supported, only a "
                             "constant [K, N] or [K]",
                             ops::to_string(w.shape)));
    }
    const std::int64_t k = w.shape[0], n = w.shape.size() == 2 ? w.shape[1] : 1;
    if (xs.empty() || xs.back() != k) {
      fail(node, fmt::format("A has shape {} and B {}: the inner dimensions differ", ops::to_string(xs),
                             ops::to_string(w.shape)));
    }
    ops::GemmParams p;
    p.transpose_weight = false;
    p.in_features = k;
    p.out_features = n;
    p.has_bias = false;
    const ValueId weight = w.shape.size() == 2 ? value(node.input(1))
                                               : g_.add_constant(fresh_name(node.input(1) + ".as_column"), {k, 1}, w.data);
    ops::Shape out(xs.begin(), xs.end() - 1);
    if (w.shape.size() == 2) out.push_back(n);
    if (out.empty()) out = {1};  // [K] x [K]: ONNX's scalar, which fusescope holds as [1]
    if (xs.size() == 2 && w.shape.size() == 2) return emit(node, graph::GemmAttrs{p}, {x, weight, kNoValue});
    const std::int64_t m = product(xs, 0, xs.size() - 1);
    const ValueId x2 = add_helper(node, "as_2d", graph::ReshapeAttrs{{m, k}}, {x});
    const ValueId y2 = add_helper(node, "gemm", graph::GemmAttrs{p}, {x2, weight, kNoValue});
    emit(node, graph::ReshapeAttrs{out}, {y2});
  }

  // Slice of an activation along one axis with step 1 (constant starts/ends/axes).
  void convert_slice(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    const std::vector<SliceAxis> ax = slice_axes(node, shape(x));
    if (std::any_of(ax.begin(), ax.end(), [](const SliceAxis& a) { return a.count == 0; })) {
      // Selects nothing: no node; readers see a zero-size tensor (see convert_zero_size_reader).
      ops::Shape out;
      for (const SliceAxis& a : ax) out.push_back(a.count);
      return mark_zero_size(node, node.output(0), std::move(out));
    }
    std::vector<std::size_t> cut;
    for (std::size_t d = 0; d < ax.size(); ++d)
      if (ax[d].count != shape(x)[d] || ax[d].step != 1) cut.push_back(d);  // a full reversal is a cut too
    if (cut.size() > 1) fail(node, "slicing an activation along more than one axis is not supported");
    const std::size_t d = cut.empty() ? 0 : cut[0];
    if (ax[d].step != 1) fail(node, "slicing an activation with a step other than 1 is not supported");
    ops::SliceParams p;
    p.axis = static_cast<std::int64_t>(d);
    p.start = ax[d].start;
    p.length = ax[d].count;
    emit(node, graph::SliceAttrs{p}, {x});
  }

  // Pad of an activation: pads (and the constant value) an attribute before opset 11, constant
  // inputs since.
  void convert_pad(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    ops::PadParams p;
    const std::string mode = attr_string(node, "mode", "constant");
    if (mode == "constant") {
      p.mode = ops::PadMode::constant;
    } else if (mode == "reflect") {
      p.mode = ops::PadMode::reflect;
    } else if (mode == "edge") {
      p.mode = ops::PadMode::edge;
    } else {
      fail(node, fmt::format("mode '{}' is not supported (constant, reflect and edge are)", mode));
    }
    if (opset_ < 11) {
      if (!attribute(node, "pads")) fail(node, "the pads attribute is missing");
      p.pads = attr_int_list(node, "pads");
      p.value = attr_float(node, "value", 0.0f);
    } else {
      p.pads = ints_of(node, 1, "pad list");
      if (has_input(node, 2)) {
        const HostConstant& v = constant_input(node, 2, "constant value");
        if (v.data.size() != 1) {
          fail(node, fmt::format("the constant value has {} elements, expected 1", v.data.size()));
        }
        p.value = v.data[0];
      }
    }
    emit(node, graph::PadAttrs{p}, {x});
  }

  // ReduceMean, opsets 9-17: axes an attribute (all axes when absent), keepdims default 1.
  void convert_reduce_mean(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    if (has_input(node, 1)) fail(node, "axes as an input (opset 18) is not supported; opsets 9-17 give them as an attribute");
    ops::ReduceMeanParams p;
    p.axes = attr_int_list(node, "axes");
    p.keepdims = attr_int(node, "keepdims", 1) != 0;
    emit(node, graph::ReduceMeanAttrs{p}, {x});
  }

  // Split along one axis into consecutive parts: sizes from the `split` attribute (opset < 13)
  // or input (13+), else equal parts, one per output. Graph nodes have one output each, so each
  // part is a slice node named after its ONNX output, in the ONNX node's scope.
  void convert_split(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    const ops::Shape& xs = shape(x);
    const auto axis = static_cast<std::size_t>(norm_axis(node, attr_int(node, "axis", 0), xs.size()));
    const std::int64_t dim = xs[axis];
    const auto parts = static_cast<std::int64_t>(node.output_size());
    std::vector<std::int64_t> sizes;
    if (opset_ < 13) {
      sizes = attr_int_list(node, "split");
    } else if (has_input(node, 1)) {
      sizes = ints_of(node, 1, "split");
    }
    if (sizes.empty()) {
      if (dim % parts != 0) {
        fail(node, fmt::format("axis {} of shape {} ({}) does not split into {} equal parts", axis,
                               ops::to_string(xs), dim, parts));
      }
      sizes.assign(static_cast<std::size_t>(parts), dim / parts);
    }
    if (static_cast<std::int64_t>(sizes.size()) != parts) {
      fail(node, fmt::format("split has {} sizes for {} outputs", sizes.size(), parts));
    }
    std::int64_t total = 0;
    for (std::int64_t s : sizes) {
      if (s < 0) fail(node, fmt::format("split sizes {} include {}; sizes must be >= 0", fmt::join(sizes, ","), s));
      total += s;
    }
    if (total != dim) {
      fail(node, fmt::format("split sizes {} add up to {}, but axis {} of shape {} is {}", fmt::join(sizes, ","),
                             total, axis, ops::to_string(xs), dim));
    }
    const std::string scope = scope_of(label(node));
    std::int64_t start = 0;
    for (int i = 0; i < node.output_size(); ++i) {
      const std::string& out = node.output(i);
      const std::int64_t length = sizes[static_cast<std::size_t>(i)];
      if (!out.empty() && length == 0) {
        ops::Shape part = xs;  // a part of size 0: zero-size, like a Slice that selects nothing
        part[axis] = 0;
        mark_zero_size(node, out, std::move(part));
      } else if (!out.empty()) {
        const std::string name = g_.find_node(out) != -1 ? fresh_name(out) : out;
        ops::SliceParams p;
        p.axis = static_cast<std::int64_t>(axis);
        p.start = start;
        p.length = length;
        values_[out] = g_.add_node(name, scope, graph::SliceAttrs{p}, {x}, out);
      }
      start += length;
    }
  }

  void convert_softmax(const onnx::NodeProto& node) {
    const ValueId x = input_value(node, 0);
    const auto rank = static_cast<std::int64_t>(shape(x).size());
    std::int64_t axis = attr_int(node, "axis", opset_ < 13 ? 1 : -1);
    if (axis < 0) axis += rank;
    if (opset_ < 13) {
      // Before opset 13 Softmax flattened the input to 2-D at `axis` and normalised over all
      // trailing dims; that equals a softmax over `axis` only when the dims after it are 1.
      for (std::int64_t d = axis + 1; d < rank; ++d) {
        if (shape(x)[static_cast<std::size_t>(d)] != 1) {
          fail(node, fmt::format("opset {} softmax over dims {}.. of shape {} (flattened) is not supported", opset_,
                                 axis, ops::to_string(shape(x))));
        }
      }
    }
    emit(node, graph::SoftmaxAttrs{{axis}}, {x});
  }

  void convert_constant(const onnx::NodeProto& node) {
    if (node.attribute_size() != 1) fail(node, "expected exactly one value attribute");
    const onnx::AttributeProto& a = node.attribute(0);
    HostConstant c;
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
      c = decode_tensor(a.t(), fmt::format("node '{}' (Constant) value", label(node)));
    } else if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
      c = {{}, {a.f()}};
    } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
      c = integer_constant({}, {a.i()});  // an int64 scalar
    } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
      c = {{a.floats_size()}, {a.floats().begin(), a.floats().end()}};
    } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
      c = integer_constant({a.ints_size()}, {a.ints().begin(), a.ints().end()});
    } else {
      fail(node, fmt::format("attribute '{}' is not supported (value, value_float(s), value_int(s) are)", a.name()));
    }
    constants_[node.output(0)] = std::move(c);
  }

  // Identity makes no node: its output is another name for its input.
  void convert_identity(const onnx::NodeProto& node) {
    if (!has_input(node, 0)) fail(node, "input 0 is missing");
    const std::string& in = node.input(0);
    if (auto it = values_.find(in); it != values_.end()) {
      values_[node.output(0)] = it->second;
    } else {
      constants_[node.output(0)] = constants_.at(in);
    }
  }

  const onnx::ModelProto& model_;
  std::string file_;
  const OnnxImportOptions& options_;
  std::int64_t opset_ = 0;
  graph::Graph g_;
  std::unordered_map<std::string, ValueId> values_;         // ONNX name -> graph value
  std::unordered_map<std::string, HostConstant> constants_;  // initializers, Constant outputs
  std::unordered_map<std::string, std::string> unsupported_outputs_;  // extra output -> its node
  std::unordered_set<std::string> onnx_names_;
  std::vector<std::pair<std::string, std::vector<std::string>>> unsupported_;  // op type -> nodes
  std::unordered_set<std::string> poisoned_;  // outputs of unsupported nodes (and their readers)
  std::unordered_map<std::string, ZeroSize> zero_size_;  // tensors with no elements: never graph values
};

graph::Graph import_model_bytes(const std::string& bytes, const std::string& file, std::string name,
                                const OnnxImportOptions& options) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw FormatError(fmt::format("{}: not a valid ONNX model (protobuf parsing failed: the file is truncated "
                                  "or corrupt)",
                                  file));
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw FormatError(fmt::format("{}: holds no graph nodes (not an ONNX model, or a truncated one)", file));
  }
  // Absurdly deep or wide graphs are refused before any work: the largest real CNN and
  // transformer exports have some 10^4 nodes and nodes some 10^2 inputs.
  constexpr int kMaxNodes = 200000, kMaxNodeInputs = 10000;
  const onnx::GraphProto& gp = model.graph();
  if (gp.node_size() > kMaxNodes) {
    throw FormatError(fmt::format("{}: the graph has {} nodes, more than the {} fusescope accepts", file,
                                  gp.node_size(), kMaxNodes));
  }
  for (const onnx::NodeProto& node : gp.node()) {
    if (node.input_size() > kMaxNodeInputs || node.output_size() > kMaxNodeInputs) {
      throw FormatError(fmt::format("{}: node '{}' ({}) has {} inputs and {} outputs, more than the {} fusescope accepts",
                                    file, node.name(), node.op_type(), node.input_size(), node.output_size(),
                                    kMaxNodeInputs));
    }
  }
  if (name.empty()) name = model.graph().name();
  return Importer(model, file, name, options).run();
}

}  // namespace

graph::Graph import_onnx(const std::filesystem::path& path, const OnnxImportOptions& options) {
  const std::string file = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FormatError(fmt::format("{}: no such file", file));
  if (std::filesystem::is_directory(path, ec)) throw FormatError(fmt::format("{}: is a directory, not an ONNX file", file));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(fmt::format("{}: cannot open the file", file));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw FormatError(fmt::format("{}: reading the file failed", file));
  return import_model_bytes(bytes.str(), file, path.stem().string(), options);
}

graph::Graph import_onnx_bytes(const std::string& bytes, const std::string& label, const OnnxImportOptions& options) {
  return import_model_bytes(bytes, label, std::filesystem::path(label).stem().string(), options);
}

}  // namespace fusescope::io
