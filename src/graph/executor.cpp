#include "graph/executor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "ops/concat_gpu.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/elementwise_gpu.hpp"
#include "ops/gemm_gpu.hpp"
#include "ops/pool2d_gpu.hpp"
#include "ops/softmax_gpu.hpp"

namespace fusescope::graph {

namespace {

// Constants follow the activations' storage precision (weights, constant operands), except
// biases and BN statistics, which stay fp32: they are few, and the folded BN shift lives in the
// bias.
bool is_fp32_parameter_slot(const Node& node, std::size_t slot) {
  if (node.as<ConvAttrs>()) return slot == 2 || slot == 3;
  if (node.as<GemmAttrs>()) return slot == 2;
  if (node.as<BatchNormAttrs>()) return slot == 1;
  return false;
}

}  // namespace

const char* to_string(Layout layout) { return layout == Layout::nchw ? "nchw" : "nhwc"; }

Executor::Executor(gpu::Device& device, Graph graph, ExecutorOptions options)
    : device_(device), graph_(std::move(graph)), options_(std::move(options)) {
  graph_.validate();
  if (options_.layout != Layout::nchw) {
    throw ops::InvalidArgument(fmt::format("{}: layout {} is not supported by this executor yet",
                                           graph_.name(), to_string(options_.layout)));
  }
  activation_dtype_ = options_.precision == ops::Precision::fp32 ? ops::DType::f32 : ops::DType::f16;

  // Storage type of every value: the activation dtype, but fp32 for biases and BN statistics.
  std::vector<ops::DType> dtype(graph_.values().size(), activation_dtype_);
  for (const Node& node : graph_.nodes()) {
    for (std::size_t s = 0; s < node.inputs.size(); ++s) {
      if (node.inputs[s] != kNoValue && is_fp32_parameter_slot(node, s))
        dtype[static_cast<std::size_t>(node.inputs[s])] = ops::DType::f32;
    }
  }
  // Outputs and taps stay readable; inputs stay intact so run() can replay without a new upload.
  std::vector<ValueId> keep_alive = graph_.outputs();
  keep_alive.insert(keep_alive.end(), graph_.inputs().begin(), graph_.inputs().end());
  for (const std::string& name : options_.taps) keep_alive.push_back(graph_.require_value(name));
  if (options_.tap_all) {
    for (std::size_t v = 0; v < graph_.values().size(); ++v) keep_alive.push_back(static_cast<ValueId>(v));
  }
  const std::uint64_t alignment =
      std::max<std::uint64_t>(device.info().min_storage_buffer_offset_alignment, 256);
  plan_ = plan_memory(
      graph_,
      [&](ValueId id) {
        const Value& v = graph_.value(id);
        return static_cast<std::uint64_t>(ops::checked_numel(v.shape, v.name) *
                                          ops::dtype_bytes(dtype[static_cast<std::size_t>(id)]));
      },
      keep_alive, alignment);

  activations_ = device.allocate(std::max<std::uint64_t>(plan_.peak_bytes, 16),
                                 graph_.name() + ":activations");
  tensors_.resize(graph_.values().size());
  for (std::size_t v = 0; v < graph_.values().size(); ++v) {
    const Value& value = graph_.values()[v];
    if (value.constant) continue;
    tensors_[v] = ops::view_tensor(activations_.view().slice(plan_.offset[v], plan_.bytes[v]),
                                   value.shape, value.name, dtype[v]);
  }
  for (std::size_t v = 0; v < graph_.values().size(); ++v) {
    const Value& value = graph_.values()[v];
    if (!value.constant) continue;
    tensors_[v] = ops::upload_tensor(device, value.shape, value.data, value.name, dtype[v]);
  }
  record();
}

Executor::~Executor() = default;

const ops::Tensor& Executor::tensor(ValueId id) const { return tensors_.at(static_cast<std::size_t>(id)); }

void Executor::record() {
  recorder_ = std::make_unique<gpu::Recorder>(device_, graph_.name());
  ops::Encoder enc{device_, *recorder_, options_.precision};
  std::size_t segment_end = 0;
  for (std::size_t i = 0; i < graph_.nodes().size(); ++i) {
    recorder_->begin_segment();
    const std::size_t before = recorder_->dispatch_count();
    encode_node(i, enc);
    node_dispatch_begin_.push_back(before);
    node_dispatch_end_.push_back(recorder_->dispatch_count());
    if (recorder_->dispatch_count() > before) segment_end = recorder_->segment_count();
    node_segment_end_.push_back(segment_end);
  }
}

void Executor::encode_node(std::size_t index, const ops::Encoder& enc) {
  const Node& node = graph_.nodes()[index];
  const std::string& label = node.name;
  auto in = [&](std::size_t slot) -> const ops::Tensor* {
    if (slot >= node.inputs.size() || node.inputs[slot] == kNoValue) return nullptr;
    return &tensor(node.inputs[slot]);
  };
  const ops::Tensor& out = tensor(node.output);
  if (auto* a = node.as<ConvAttrs>()) {
    ops::Conv2dOperands o{in(0), in(1), in(2), in(3), in(4), &out};
    ops::encode_conv2d(enc, a->params, a->epilogue, o, label);
  } else if (auto* a = node.as<BatchNormAttrs>()) {
    ops::encode_batchnorm(enc, a->params, a->activation, *in(0), *in(1), out, label);
  } else if (auto* a = node.as<ActivationAttrs>()) {
    ops::encode_activation(enc, a->activation, *in(0), out, label);
  } else if (auto* a = node.as<BinaryAttrs>()) {
    ops::encode_binary(enc, a->op, *in(0), *in(1), out, label);
  } else if (auto* a = node.as<PoolAttrs>()) {
    ops::encode_pool2d(enc, a->params, *in(0), out, label);
  } else if (node.as<GlobalAveragePoolAttrs>()) {
    ops::encode_global_average_pool(enc, *in(0), out, label);
  } else if (auto* a = node.as<ConcatAttrs>()) {
    std::vector<const ops::Tensor*> inputs;
    for (std::size_t s = 0; s < node.inputs.size(); ++s) inputs.push_back(in(s));
    ops::encode_concat(enc, inputs, a->axis, out, label);
  } else if (auto* a = node.as<SliceAttrs>()) {
    ops::encode_slice(enc, a->params, *in(0), out, label);
  } else if (auto* a = node.as<GemmAttrs>()) {
    ops::encode_gemm(enc, a->params, *in(0), *in(1), in(2), out, label);
  } else if (auto* a = node.as<SoftmaxAttrs>()) {
    ops::encode_softmax(enc, a->params, *in(0), out, label);
  } else if (node.as<FlattenAttrs>()) {
    // No work: the output is the input's bytes under a new shape (planned as an alias).
  } else {
    throw std::logic_error(fmt::format("{}: no encoder for {}", node.name, op_name(node.attrs)));
  }
}

void Executor::set_input(const std::string& name, std::span<const float> values) {
  const ValueId id = graph_.require_value(name);
  if (std::find(graph_.inputs().begin(), graph_.inputs().end(), id) == graph_.inputs().end()) {
    throw ops::InvalidArgument(fmt::format("{}: '{}' is not a graph input", graph_.name(), name));
  }
  const Value& v = graph_.value(id);
  if (static_cast<std::int64_t>(values.size()) != ops::numel(v.shape)) {
    throw ops::InvalidArgument(fmt::format("{}: input '{}' has shape {} ({} values), got {} values",
                                           graph_.name(), name, ops::to_string(v.shape),
                                           ops::numel(v.shape), values.size()));
  }
  ops::upload_values(device_, tensor(id), values);
}

void Executor::set_input(std::span<const float> values) {
  if (graph_.inputs().size() != 1) {
    throw ops::InvalidArgument(fmt::format("{} has {} inputs: name the one to set", graph_.name(),
                                           graph_.inputs().size()));
  }
  set_input(graph_.value(graph_.inputs()[0]).name, values);
}

void Executor::submit_nodes(std::size_t first, std::size_t end) {
  end = std::min(end, graph_.nodes().size());
  if (first >= end) return;
  const std::size_t seg_begin = first == 0 ? 0 : node_segment_end_[first - 1];
  const std::size_t seg_end = node_segment_end_[end - 1];
  recorder_->submit_and_wait(seg_begin, seg_end);
  position_ = end;
}

void Executor::run() { submit_nodes(0, graph_.nodes().size()); }

void Executor::step(std::size_t nodes) { submit_nodes(position_, position_ + nodes); }

void Executor::run_to(const std::string& name) {
  const NodeId id = graph_.require_node(name);
  const auto target = static_cast<std::size_t>(id) + 1;
  if (target <= position_) position_ = 0;  // going back means starting over
  submit_nodes(position_, target);
}

void Executor::run_block() {
  const auto& nodes = graph_.nodes();
  if (position_ >= nodes.size()) return;
  const std::string scope = nodes[position_].scope;
  std::size_t end = position_ + 1;
  while (end < nodes.size() && nodes[end].scope == scope) ++end;
  submit_nodes(position_, end);
}

bool Executor::can_read(const std::string& name) const {
  const ValueId id = graph_.find_value(name);
  if (id == kNoValue) return false;
  const Value& v = graph_.value(id);
  if (v.constant) return true;
  const auto i = static_cast<std::size_t>(id);
  const int done = static_cast<int>(position_) - 1;  // index of the last node executed
  if (plan_.first_step[i] > done) return false;     // not computed yet
  // Its bytes hold it until the last step that needs it; after that they may be reused.
  const ValueId root = plan_.alias_of[i];
  const int last = std::max(plan_.last_step[i], plan_.last_step[static_cast<std::size_t>(root)]);
  return last >= done || last >= static_cast<int>(graph_.nodes().size());
}

std::vector<float> Executor::read(const std::string& name) const {
  const ValueId id = graph_.require_value(name);
  if (!can_read(name)) {
    const auto i = static_cast<std::size_t>(id);
    if (plan_.first_step[i] > static_cast<int>(position_) - 1) {
      throw ops::InvalidArgument(fmt::format("{}: '{}' is not computed yet (run or step further)",
                                             graph_.name(), name));
    }
    throw ops::InvalidArgument(fmt::format("{}: '{}' was not tapped, and its memory has been reused "
                                           "since; tap it (--taps {}) to keep it",
                                           graph_.name(), name, name));
  }
  return ops::download_tensor(device_, tensor(id));
}

std::vector<NodeTiming> Executor::node_timings() const {
  std::vector<NodeTiming> out;
  const auto& timings = recorder_->timings();
  for (std::size_t i = 0; i < graph_.nodes().size(); ++i) {
    NodeTiming t;
    t.node = graph_.nodes()[i].name;
    t.dispatches = node_dispatch_end_[i] - node_dispatch_begin_[i];
    for (std::size_t d = node_dispatch_begin_[i]; d < node_dispatch_end_[i] && d < timings.size(); ++d)
      t.gpu_ms += timings[d].gpu_ms;
    out.push_back(t);
  }
  return out;
}

std::size_t Executor::dispatch_count() const { return recorder_->dispatch_count(); }

}  // namespace fusescope::graph
