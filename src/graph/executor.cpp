#include "graph/executor.hpp"
#include "graph/conv_autotune.hpp"
#include "graph/split_wide_gemm.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/recorder.hpp"
#include "gpu/shader_override.hpp"
#include "ops/activation_gpu.hpp"
#include "ops/batchnorm_gpu.hpp"
#include "ops/concat_gpu.hpp"
#include "ops/conv2d_gpu.hpp"
#include "ops/conv_transpose_gpu.hpp"
#include "ops/elementwise_gpu.hpp"
#include "ops/gemm_gpu.hpp"
#include "ops/layout_transpose.hpp"
#include "ops/pad_gpu.hpp"
#include "ops/pool2d_gpu.hpp"
#include "ops/resize_gpu.hpp"
#include "ops/layer_norm_gpu.hpp"
#include "ops/reduce_mean_gpu.hpp"
#include "ops/softmax_gpu.hpp"
#include "ops/transpose_gpu.hpp"
#include "ops/winograd.hpp"

namespace fusescope::graph {

namespace {

// Constants follow the activations' storage precision (weights, constant operands), except
// biases and BN statistics, which stay fp32: they are few, and the folded BN shift lives in the
// bias.
bool is_fp32_parameter_slot(const Node& node, std::size_t slot) {
  if (node.as<ConvAttrs>()) return slot == 2 || slot == 3;
  if (node.as<GemmAttrs>()) return slot == 2;
  if (node.as<BatchNormAttrs>()) return slot == 1;
  if (node.as<ConvTransposeAttrs>()) return slot == 2;
  if (node.as<LayerNormAttrs>()) return slot == 1;
  return false;
}

// Inputs that are parameters rather than activations: they keep their own layouts (conv
// weights OIHW, [C] biases, [4, C] BN statistics, gemm weights) whatever the activation layout.
bool is_parameter_slot(const Node& node, std::size_t slot) {
  if (node.as<ConvAttrs>()) return slot >= 1 && slot <= 3;
  if (node.as<GemmAttrs>()) return slot == 1 || slot == 2;
  if (node.as<BatchNormAttrs>()) return slot == 1;
  if (node.as<ConvTransposeAttrs>()) return slot == 1 || slot == 2;
  if (node.as<LayerNormAttrs>()) return slot == 1;
  return false;
}

// Logical NCHW dim d of a 4-D value lies at physical NHWC position kNhwcPosition[d].
constexpr std::size_t kNhwcPosition[4] = {0, 3, 1, 2};

ops::Shape nhwc_shape(const ops::Shape& s) { return {s[0], s[2], s[3], s[1]}; }

// Ops that read a value in any stored order as long as the executor tells them which: a
// Transpose (it runs on physical shapes with the permutation between them), and a Reshape or
// Flatten to another rank (its other side is never NHWC, so only the value's own order matters:
// a plain one is read as it is).
bool reads_any_order(const Graph& g, const Node& node) {
  if (node.as<TransposeAttrs>() || node.as<FlattenAttrs>()) return true;
  if (node.as<ReshapeAttrs>()) return g.value(node.output).shape.size() != 4;
  return false;
}

}  // namespace

Executor::Executor(gpu::Device& device, Graph graph, ExecutorOptions options)
    : device_(device), graph_(std::move(graph)), options_(std::move(options)) {
  graph_.validate();
  check_override_nodes();
  // A weight the device cannot bind whole is split across gemms (same bits, more dispatches).
  split_wide_gemms(graph_, device_.info().max_storage_buffer_range);
  if (options_.autotune && options_.conv_algorithm == ops::ConvAlgorithm::automatic) {
    autotune_report_ = std::make_shared<const ConvAutotuneReport>(
        autotune_conv_algorithms(device_, graph_, options_, options_.autotune_log));
  }
  if (options_.layout != Layout::nchw && options_.layout != Layout::nhwc) {
    throw ops::InvalidArgument(fmt::format("{}: layout {} is not one of nchw, nhwc", graph_.name(),
                                           static_cast<std::uint32_t>(options_.layout)));
  }
  // Which values lie in memory as NHWC: under Layout::nhwc every 4-D activation, and 4-D
  // constants read as activations (a binary operand, a concat input); 4-D parameters (conv
  // weights) keep OIHW. A constant cannot be both: its bytes have one order.
  nhwc_.assign(graph_.values().size(), false);
  if (options_.layout == Layout::nhwc) {
    std::vector<const Node*> as_parameter(graph_.values().size(), nullptr);
    std::vector<const Node*> as_activation(graph_.values().size(), nullptr);
    for (const Node& node : graph_.nodes()) {
      for (std::size_t s = 0; s < node.inputs.size(); ++s) {
        if (node.inputs[s] == kNoValue) continue;
        const auto v = static_cast<std::size_t>(node.inputs[s]);
        (is_parameter_slot(node, s) ? as_parameter : as_activation)[v] = &node;
      }
    }
    for (std::size_t v = 0; v < graph_.values().size(); ++v) {
      const Value& value = graph_.values()[v];
      if (value.shape.size() != 4) continue;
      if (value.constant && as_parameter[v] != nullptr && as_activation[v] != nullptr) {
        throw ops::InvalidArgument(fmt::format(
            "{}: constant '{}' is a parameter of '{}' and an activation operand of '{}'; under "
            "--layout nhwc the one needs its own layout and the other NHWC; run with --layout nchw "
            "or give each use its own constant",
            graph_.name(), value.name, as_parameter[v]->name, as_activation[v]->name));
      }
      nhwc_[v] = !value.constant || as_parameter[v] == nullptr;
    }
    // Design decision: NHWC is for the values the layout-aware kernels (conv, pools, ...)
    // touch. A 4-D value that only the host or a Transpose writes (a graph input, a Transpose
    // output) and only Transposes and rank-changing Reshapes/Flattens read keeps its plain row-major
    // order instead, since nothing needs it NHWC and the transposes around it get cheaper.
    // What this is for: a model fed NHWC images (TensorFlow/Keras exports, BlazeFace) starts
    // with Transpose perm [0,3,1,2]. Stored plain, the input's bytes are the user's NHWC image,
    // which is exactly the physical NHWC order of the transposed NCHW tensor: the transpose
    // keeps every element in place and runs as a view, with no dispatch, no copy and no host
    // reorder in set_input. The heads' Transpose [0,2,3,1] + Reshape from an NHWC conv output
    // become views the same way. Under nchw the leading transpose is a real copy (one dispatch).
    for (std::size_t v = 0; v < graph_.values().size(); ++v) {
      const Value& value = graph_.values()[v];
      if (!nhwc_[v] || value.constant) continue;
      const bool host_or_transpose_writes =
          value.producer < 0 || graph_.node(value.producer).as<TransposeAttrs>() != nullptr;
      const std::vector<NodeId> readers = graph_.consumers(static_cast<ValueId>(v));
      const bool any_order_reads = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](NodeId r) {
        return reads_any_order(graph_, graph_.node(r));
      });
      if (host_or_transpose_writes && any_order_reads) nhwc_[v] = false;
    }
  }
  // Transposes that leave every element where it was in memory run as views: planned as an
  // alias of their input (like Reshape), no dispatch.
  transpose_view_.assign(graph_.nodes().size(), false);
  for (std::size_t n = 0; n < graph_.nodes().size(); ++n) {
    const Node& node = graph_.nodes()[n];
    // A constant input has no planned memory to alias: its transpose stays a copy.
    if (!node.as<TransposeAttrs>() || graph_.value(node.inputs[0]).constant) continue;
    const ops::Shape in_physical = physical_shape(node.inputs[0]);
    transpose_view_[n] = ops::transpose_keeps_element_order(in_physical, physical_permutation(node));
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
  // Every tensor's offset suits a storage-buffer binding and a texel-buffer view (the subgroup
  // conv reads its input as one).
  const std::uint64_t alignment =
      std::max<std::uint64_t>({device.info().min_storage_buffer_offset_alignment,
                               device.info().min_texel_buffer_offset_alignment, 256});
  plan_ = plan_memory(
      graph_,
      [&](ValueId id) {
        const Value& v = graph_.value(id);
        return static_cast<std::uint64_t>(ops::checked_numel(v.shape, v.name) *
                                          ops::dtype_bytes(dtype[static_cast<std::size_t>(id)]));
      },
      keep_alive, alignment,
      [&](NodeId n) { return transpose_view_[static_cast<std::size_t>(n)]; });

  // One shared buffer when the plan fits what the device can bind as one storage buffer;
  // otherwise (big inputs, or every tensor tapped) one buffer per tensor, aliases included.
  const std::uint64_t shared_limit = options_.max_shared_activation_bytes > 0
                                         ? std::min(options_.max_shared_activation_bytes, device.info().max_storage_buffer_range)
                                         : device.info().max_storage_buffer_range;
  if (plan_.peak_bytes <= shared_limit) {
    try {
      activations_ = device.allocate(std::max<std::uint64_t>(plan_.peak_bytes, 16), graph_.name() + ":activations");
    } catch (const gpu::OutOfDeviceMemory& e) {
      // "activations" alone names no tensor: say which one is the biggest the plan holds.
      std::size_t largest = 0;
      for (std::size_t v = 0; v < graph_.values().size(); ++v)
        if (!graph_.values()[v].constant && plan_.bytes[v] > plan_.bytes[largest]) largest = v;
      const Value& big = graph_.values()[largest];
      throw gpu::OutOfDeviceMemory(fmt::format("{} (the activations of {} at their peak, {:.1f} MiB; the largest "
                                               "tensor is '{}' {}, {:.1f} MiB)",
                                               e.what(), graph_.name(), plan_.peak_bytes / 1048576.0, big.name,
                                               ops::to_string(big.shape), plan_.bytes[largest] / 1048576.0));
    }
  } else {
    separate_.resize(graph_.values().size());
    for (std::size_t v = 0; v < graph_.values().size(); ++v) {
      const Value& value = graph_.values()[v];
      if (value.constant || plan_.alias_of[v] != static_cast<ValueId>(v)) continue;
      separate_[v] = device.allocate(std::max<std::uint64_t>(plan_.bytes[v], 16), value.name);
    }
  }
  tensors_.resize(graph_.values().size());
  for (std::size_t v = 0; v < graph_.values().size(); ++v) {
    const Value& value = graph_.values()[v];
    if (value.constant) continue;
    const gpu::BufferView region =
        separate_.empty() ? activations_.view().slice(plan_.offset[v], plan_.bytes[v])
                          : separate_[static_cast<std::size_t>(plan_.alias_of[v])].view().slice(0, plan_.bytes[v]);
    tensors_[v] = ops::view_tensor(region, value.shape, value.name, dtype[v]);
  }
  for (std::size_t v = 0; v < graph_.values().size(); ++v) {
    const Value& value = graph_.values()[v];
    if (!value.constant) continue;
    if (nhwc_[v]) {
      tensors_[v] = ops::upload_tensor(device, value.shape, ops::nchw_to_nhwc(value.data, value.shape),
                                       value.name, dtype[v]);
    } else {
      tensors_[v] = ops::upload_tensor(device, value.shape, value.data, value.name, dtype[v]);
    }
  }
  prepare_conv_algorithms(dtype);
  record();
}

Executor::~Executor() = default;

void Executor::prepare_conv_algorithms(const std::vector<ops::DType>& dtype) {
  conv_algorithms_.assign(graph_.nodes().size(), ops::ConvAlgorithm::automatic);
  winograd_weights_.clear();
  winograd_weights_.resize(graph_.nodes().size());
  for (std::size_t i = 0; i < graph_.nodes().size(); ++i) {
    const Node& node = graph_.nodes()[i];
    const auto* a = node.as<ConvAttrs>();
    if (a == nullptr) continue;
    ops::ConvAlgorithm algorithm =
        options_.conv_algorithm != ops::ConvAlgorithm::automatic ? options_.conv_algorithm : a->algorithm;
    const ops::Shape& input = graph_.value(node.inputs[0]).shape;
    const ValueId w = node.inputs[1];
    const Value& weight = graph_.value(w);
    // Winograd reads weights transformed once, here. A conv it cannot compute (not 3x3 of stride
    // 1, weights computed at run time, a device without subgroup shuffles, winograd4 below fp32)
    // runs on automatic's choice, so `--algorithm winograd` means "wherever it applies".
    const ops::Precision precision = options_.precision;
    auto runs = [&](ops::ConvAlgorithm al) {
      return !ops::is_winograd(al) ||
             (weight.constant && ops::winograd_conv_fits(device_, al, a->params, input, precision));
    };
    if (algorithm == ops::ConvAlgorithm::automatic || !runs(algorithm))
      algorithm = ops::choose_conv_algorithm(device_, a->params, input, weight.constant, precision);
    if (!runs(algorithm)) algorithm = ops::choose_conv_algorithm(device_, a->params, input, false, precision);
    if (ops::is_winograd(algorithm)) {
      const int tile = ops::winograd_tile(algorithm);
      winograd_weights_[i] = ops::upload_tensor(device_, ops::winograd_weight_shape(a->params, tile),
                                                ops::winograd_weights(a->params, weight.data, tile, node.name),
                                                weight.name + ":" + ops::to_string(algorithm),
                                                dtype[static_cast<std::size_t>(w)]);
    }
    conv_algorithms_[i] = algorithm;
  }
}

const ops::Tensor& Executor::tensor(ValueId id) const { return tensors_.at(static_cast<std::size_t>(id)); }

ops::Shape Executor::physical_shape(ValueId id) const {
  const ops::Shape& s = graph_.value(id).shape;
  return stored_nhwc(id) ? nhwc_shape(s) : s;
}

std::vector<std::int64_t> Executor::physical_permutation(const Node& node) const {
  const auto* a = node.as<TransposeAttrs>();
  const ValueId x = node.inputs[0];
  const std::vector<std::int64_t> perm =
      ops::transpose_permutation(a->params, graph_.value(x).shape.size(), node.name);
  // Logical dim d of a value lies at physical position position(v, d). Output logical dim i
  // reads input logical dim perm[i]; so physical output dim position(out, i) reads physical
  // input dim position(x, perm[i]).
  auto position = [&](ValueId v, std::int64_t d) {
    return stored_nhwc(v) ? static_cast<std::int64_t>(kNhwcPosition[d]) : d;
  };
  std::vector<std::int64_t> physical(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i)
    physical[static_cast<std::size_t>(position(node.output, static_cast<std::int64_t>(i)))] = position(x, perm[i]);
  return physical;
}

ops::Tensor Executor::physical(ValueId id) const {
  const ops::Tensor& t = tensor(id);
  if (!stored_nhwc(id)) return ops::view_tensor(t.buffer, t.shape, t.name, t.dtype);
  return ops::view_tensor(t.buffer, nhwc_shape(t.shape), t.name, t.dtype);
}

void Executor::check_override_nodes() const {
  for (const auto& [name, source] : options_.kernel_overrides) {
    if (graph_.find_node(name) >= 0) continue;
    std::string some;
    std::size_t listed = 0;
    for (const Node& n : graph_.nodes()) {
      if (listed++ == 12) {
        some += ", ...";
        break;
      }
      some += (some.empty() ? "" : ", ") + n.name;
    }
    throw ops::InvalidArgument(fmt::format("{}: a kernel override names node '{}', which the graph does not have "
                                           "(its nodes: {})",
                                           graph_.name(), name, some));
  }
}

void Executor::set_kernel_overrides(std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> overrides) {
  std::swap(options_.kernel_overrides, overrides);
  try {
    check_override_nodes();
    record();
  } catch (...) {
    std::swap(options_.kernel_overrides, overrides);  // record() changed nothing when it threw
    throw;
  }
  reset();
}

void Executor::record() {
  device_.forget_failed_kernels();
  {
    // Every kernel the network needs is asked for first, so the device builds their pipelines
    // side by side on its worker threads (lavapipe spends 5-60 ms of one core on each); the
    // recording below then waits for each pipeline in turn instead of building it.
    gpu::Recorder dry(device_, graph_.name(), gpu::Recorder::Mode::dry_run);
    ops::Encoder ask{device_, dry, options_.precision, options_.layout, options_.max_dispatch_macs};
    for (std::size_t i = 0; i < graph_.nodes().size(); ++i) encode_node(i, ask);
  }
  // Recorded into locals and kept only when every node encoded: a re-record that fails (an
  // override that does not fit) leaves the previous recording in place.
  auto recorder = std::make_unique<gpu::Recorder>(device_, graph_.name());
  std::vector<std::size_t> segment_ends, dispatch_begins, dispatch_ends;
  ops::Encoder enc{device_, *recorder, options_.precision, options_.layout, options_.max_dispatch_macs};
  std::size_t segment_end = 0;
  for (std::size_t i = 0; i < graph_.nodes().size(); ++i) {
    report(options_.progress, "creating pipelines",
           static_cast<double>(i) / static_cast<double>(graph_.nodes().size()));
    const Node& node = graph_.nodes()[i];
    const auto override_it = options_.kernel_overrides.find(node.name);
    enc.kernel_override = override_it != options_.kernel_overrides.end() ? override_it->second : nullptr;
    recorder->begin_segment();
    const std::size_t before = recorder->dispatch_count();
    // The kernel alone does not tell a user which part of the network could not run.
    const std::string where = fmt::format("{}: node {} ({})", graph_.name(), node.name, op_name(node.attrs));
    try {
      encode_node(i, enc);
    } catch (const gpu::PipelineCreationFailed& e) {
      throw gpu::PipelineCreationFailed(fmt::format("{}: {}", where, e.what()), e.result());
    } catch (const gpu::KernelInterfaceMismatch& e) {
      // Which kernel a conv runs depends on its algorithm: an edit of conv2d.comp meets the
      // subgroup kernel's texel buffers where the device picks that one.
      throw gpu::KernelInterfaceMismatch(
          fmt::format("{}: {}{}", where, e.what(),
                      node.as<ConvAttrs>() ? "; a conv node runs its algorithm's kernel (--algorithm direct or "
                                             "depthwise: conv2d.comp, gemm: conv2d_gemm.comp, subgroup: "
                                             "conv2d_subgroup.comp, winograd: conv2d_winograd.comp)"
                                           : ""));
    } catch (const gpu::GlslCompileError& e) {
      throw gpu::GlslCompileError(fmt::format("{}: {}", where, e.what()), e.diagnostics());
    }
    if (enc.kernel_override && recorder->dispatch_count() == before) {
      // A view (flatten, reshape, a transpose kept as one) runs no kernel: an edit for it would
      // silently do nothing.
      throw ops::InvalidArgument(fmt::format("{}: runs no kernel (its output is a view of its input), so the kernel "
                                             "override {} has nothing to replace",
                                             where, enc.kernel_override->file_name()));
    }
    dispatch_begins.push_back(before);
    dispatch_ends.push_back(recorder->dispatch_count());
    if (recorder->dispatch_count() > before) segment_end = recorder->segment_count();
    segment_ends.push_back(segment_end);
  }
  recorder_ = std::move(recorder);
  node_segment_end_ = std::move(segment_ends);
  node_dispatch_begin_ = std::move(dispatch_begins);
  node_dispatch_end_ = std::move(dispatch_ends);
}

void Executor::encode_node(std::size_t index, const ops::Encoder& enc) {
  const Node& node = graph_.nodes()[index];
  const std::string& label = node.name;
  auto in = [&](std::size_t slot) -> const ops::Tensor* {
    if (slot >= node.inputs.size() || node.inputs[slot] == kNoValue) return nullptr;
    return &tensor(node.inputs[slot]);
  };
  const ops::Tensor& out = tensor(node.output);
  const bool nhwc_out = stored_nhwc(node.output);
  // An op that reads an NHWC map's elements as a flat feature vector (flatten, gemm) sees them
  // in NHWC order: the same as NCHW only when each channel is a single pixel.
  auto require_features_in_nchw_order = [&](ValueId v, const char* what) {
    const ops::Shape& s = graph_.value(v).shape;
    if (!stored_nhwc(v) || s[2] * s[3] == 1) return;
    throw ops::InvalidArgument(fmt::format(
        "{}: {} of a {}x{} NHWC map would reorder features; run this model with --layout nchw",
        node.name, what, s[2], s[3]));
  };
  // Ops that only see shapes (not layouts) run on the physical shapes, with any logical axis
  // mapped through the NCHW -> NHWC permutation.
  auto physical_axis = [&](std::int64_t axis, std::size_t rank) {
    const std::int64_t a = ops::normalize_axis(axis, rank, node.name);
    return nhwc_out ? static_cast<std::int64_t>(kNhwcPosition[a]) : a;
  };
  if (auto* a = node.as<ConvAttrs>()) {
    // Layout-aware: logical shapes, enc.layout says how input, residual and output lie.
    ops::Conv2dOperands o{in(0), in(1), in(2), in(3), in(4), &out};
    const ops::Tensor& u = winograd_weights_[index];
    if (ops::is_winograd(conv_algorithms_[index])) o.winograd_weight = &u;
    ops::encode_conv2d(enc, a->params, a->epilogue, o, label, 0, conv_algorithms_[index]);
  } else if (auto* a = node.as<BatchNormAttrs>()) {
    if (nhwc_out) {
      // NHWC is [N*H*W, C] with the channel innermost: the per-channel kernel as it is.
      const ops::Shape& s = out.shape;
      const ops::Shape flat{s[0] * s[2] * s[3], s[1]};
      const ops::Tensor& x = *in(0);
      const ops::Tensor xv = ops::view_tensor(x.buffer, flat, x.name, x.dtype);
      const ops::Tensor yv = ops::view_tensor(out.buffer, flat, out.name, out.dtype);
      ops::encode_batchnorm(enc, a->params, a->activation, xv, *in(1), yv, label);
    } else {
      ops::encode_batchnorm(enc, a->params, a->activation, *in(0), *in(1), out, label);
    }
  } else if (auto* a = node.as<ActivationAttrs>()) {
    ops::encode_activation(enc, a->activation, *in(0), out, label);
  } else if (auto* a = node.as<BinaryAttrs>()) {
    if (nhwc_out) {
      // Broadcasting aligns trailing dims, so an operand of lower rank is the 4-D logical shape
      // with leading 1s ([C,1,1] -> [1,C,1,1]); permuted, it is [1,1,1,C] against NHWC. Such an
      // operand's bytes are row-major in its logical order, which is its NHWC order too unless
      // both its channel dim and its spatial dims are > 1.
      auto operand = [&](std::size_t slot) {
        const ValueId v = node.inputs[slot];
        const ops::Tensor& t = tensor(v);
        if (stored_nhwc(v)) return physical(v);
        ops::Shape p(4 - t.shape.size(), 1);
        p.insert(p.end(), t.shape.begin(), t.shape.end());
        if (p[1] != 1 && p[2] * p[3] != 1) {
          throw ops::InvalidArgument(fmt::format(
              "{}: operand '{}' of shape {} varies over channels and space, and its bytes are "
              "not NHWC; run this model with --layout nchw or give the operand rank 4",
              node.name, t.name, ops::to_string(t.shape)));
        }
        return ops::view_tensor(t.buffer, nhwc_shape(p), t.name, t.dtype);
      };
      const ops::Tensor av = operand(0), bv = operand(1);
      ops::encode_binary(enc, a->op, av, bv, physical(node.output), label);
    } else {
      ops::encode_binary(enc, a->op, *in(0), *in(1), out, label);
    }
  } else if (auto* a = node.as<PoolAttrs>()) {
    ops::encode_pool2d(enc, a->params, *in(0), out, label);
  } else if (node.as<GlobalAveragePoolAttrs>()) {
    ops::encode_global_average_pool(enc, *in(0), out, label);
  } else if (auto* a = node.as<ConvTransposeAttrs>()) {
    // Layout-aware like conv2d: logical shapes, the weight stays [C, OC/groups, KH, KW].
    ops::encode_conv_transpose2d(enc, a->params, *in(0), *in(1), in(2), out, label);
  } else if (auto* a = node.as<ResizeAttrs>()) {
    ops::encode_resize(enc, a->params, *in(0), out, label);
  } else if (auto* a = node.as<ConcatAttrs>()) {
    // Concat inputs share the output's rank, so all are NHWC exactly when the output is.
    std::vector<ops::Tensor> views;
    for (std::size_t s = 0; s < node.inputs.size(); ++s) views.push_back(physical(node.inputs[s]));
    std::vector<const ops::Tensor*> inputs;
    for (const ops::Tensor& v : views) inputs.push_back(&v);
    ops::encode_concat(enc, inputs, physical_axis(a->axis, out.shape.size()), physical(node.output), label);
  } else if (auto* a = node.as<SliceAttrs>()) {
    ops::SliceParams p = a->params;
    p.axis = physical_axis(p.axis, out.shape.size());
    ops::encode_slice(enc, p, physical(node.inputs[0]), physical(node.output), label);
  } else if (auto* a = node.as<GemmAttrs>()) {
    require_features_in_nchw_order(node.inputs[0], "gemm");
    // A forced conv algorithm forces the classifier's kernel too, so `--algorithm direct` is
    // the whole baseline: subgroup runs the GEMM on the subgroup conv, direct and gemm tiled;
    // winograd (3x3 convs only) leaves it to automatic, as it does the convs it cannot compute.
    const ops::GemmAlgorithm gemm_algorithm =
        options_.conv_algorithm == ops::ConvAlgorithm::automatic || ops::is_winograd(options_.conv_algorithm)
            ? ops::GemmAlgorithm::automatic
        : options_.conv_algorithm == ops::ConvAlgorithm::subgroup ? ops::GemmAlgorithm::subgroup
                                                                  : ops::GemmAlgorithm::tiled;
    ops::encode_gemm(enc, a->params, *in(0), *in(1), in(2), out, label, gemm_algorithm);
  } else if (auto* a = node.as<SoftmaxAttrs>()) {
    ops::SoftmaxParams p = a->params;
    p.axis = physical_axis(p.axis, out.shape.size());
    ops::encode_softmax(enc, p, physical(node.inputs[0]), physical(node.output), label);
  } else if (auto* a = node.as<ReduceMeanAttrs>()) {
    encode_reduce_mean_node(node, a->params, enc);
  } else if (auto* a = node.as<LayerNormAttrs>()) {
    // Over one axis like softmax: on the physical shapes with the axis mapped; gamma and beta
    // are indexed along that axis, which keeps its length.
    ops::LayerNormParams p = a->params;
    p.axis = physical_axis(p.axis, out.shape.size());
    ops::encode_layer_norm(enc, p, physical(node.inputs[0]), *in(1), physical(node.output), label);
  } else if (node.as<FlattenAttrs>()) {
    // No work: the output is the input's bytes under a new shape (planned as an alias).
    require_features_in_nchw_order(node.inputs[0], "flatten");
  } else if (node.as<ReshapeAttrs>()) {
    // No work either (an alias). Under NHWC the bytes keep their order, so the view is right
    // only when input and output read them alike: the same shape, or every NHWC side one
    // whose NHWC order is its NCHW order (a single channel or a single pixel).
    const ValueId x = node.inputs[0];
    const ops::Shape& xs = graph_.value(x).shape;
    const ops::Shape& ys = graph_.value(node.output).shape;
    auto plain = [&](ValueId v, const ops::Shape& s) { return !stored_nhwc(v) || s[1] == 1 || s[2] * s[3] == 1; };
    const bool same = stored_nhwc(x) == nhwc_out && xs == ys;
    if (!same && !(plain(x, xs) && plain(node.output, ys))) {
      throw ops::InvalidArgument(fmt::format(
          "{}: reshape of {} to {} under NHWC would reorder elements; run this model with --layout nchw",
          node.name, ops::to_string(xs), ops::to_string(ys)));
    }
  } else if (node.as<TransposeAttrs>()) {
    // A view (planned as an alias) when the bytes need not move; else one copy on the physical
    // shapes, with the logical permutation mapped through each side's stored order.
    if (transpose_view_[index]) return;
    ops::encode_transpose(enc, {physical_permutation(node)}, physical(node.inputs[0]), physical(node.output), label);
  } else if (auto* a = node.as<PadAttrs>()) {
    // Layout-free on physical shapes: each axis's pads move with the axis. Input and output
    // have the same rank, so both are NHWC or neither (a Pad never reads a value kept plain).
    const ValueId x = node.inputs[0];
    if (stored_nhwc(x) != nhwc_out) {
      throw std::logic_error(fmt::format("{}: pad input and output are stored in different orders", node.name));
    }
    ops::PadParams p = a->params;
    const std::size_t rank = out.shape.size();
    if (nhwc_out) {
      for (std::size_t d = 0; d < rank; ++d) {
        p.pads[kNhwcPosition[d]] = a->params.pads[d];
        p.pads[rank + kNhwcPosition[d]] = a->params.pads[rank + d];
      }
    }
    ops::encode_pad(enc, p, physical(x), physical(node.output), label);
  } else {
    throw std::logic_error(fmt::format("{}: no encoder for {}", node.name, op_name(node.attrs)));
  }
}

// ReduceMean sees bytes through shapes (layout-free). An NHWC input is reduced as its
// physical [N, H, W, C] over the axes mapped through kNhwcPosition. With keepdims the result is
// the physical form of the 4-D output, NHWC as every 4-D activation. Without, the output has
// rank < 4 and lies row-major in its logical order, while the kept dims come out in physical
// order: the same bytes only when the kept dims longer than 1 keep their relative order.
void Executor::encode_reduce_mean_node(const Node& node, const ops::ReduceMeanParams& params,
                                       const ops::Encoder& enc) {
  const ValueId x = node.inputs[0];
  const ops::Tensor& out = tensor(node.output);
  if (!stored_nhwc(x)) {
    ops::encode_reduce_mean(enc, params, tensor(x), out, node.name);
    return;
  }
  const ops::Shape& xs = graph_.value(x).shape;
  const std::vector<bool> reduced = ops::reduced_axes(params, xs, node.name);
  ops::ReduceMeanParams physical_params = params;
  physical_params.axes.clear();
  for (std::size_t d = 0; d < 4; ++d)
    if (reduced[d]) physical_params.axes.push_back(static_cast<std::int64_t>(kNhwcPosition[d]));
  const ops::Shape physical_out = ops::reduce_mean_output_shape(physical_params, nhwc_shape(xs), node.name);
  if (!params.keepdims) {
    // The logical dims that are kept and longer than 1, in logical and in physical order.
    std::vector<std::size_t> logical_order, physical_order;
    for (std::size_t d = 0; d < 4; ++d)
      if (!reduced[d] && xs[d] > 1) logical_order.push_back(d);
    for (std::size_t p = 0; p < 4; ++p) {
      for (std::size_t d = 0; d < 4; ++d)
        if (kNhwcPosition[d] == p && !reduced[d] && xs[d] > 1) physical_order.push_back(d);
    }
    if (logical_order != physical_order) {
      throw ops::InvalidArgument(fmt::format(
          "{}: reduce_mean of {} without keepdims keeps the channel and spatial dims in NHWC order, "
          "which is not the output's order; run this model with --layout nchw",
          node.name, ops::to_string(xs)));
    }
  }
  const ops::Tensor out_view = ops::view_tensor(out.buffer, physical_out, out.name, out.dtype);
  ops::encode_reduce_mean(enc, physical_params, physical(x), out_view, node.name);
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
  if (stored_nhwc(id)) {
    ops::upload_values(device_, tensor(id), ops::nchw_to_nhwc(values, v.shape));
  } else {
    ops::upload_values(device_, tensor(id), values);
  }
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
  std::size_t seg_begin = first == 0 ? 0 : node_segment_end_[first - 1];
  // The first node may have had some of its pieces submitted already (step_piece).
  if (first == position_) seg_begin = std::max(seg_begin, next_segment_);
  const std::size_t seg_end = node_segment_end_[end - 1];
  recorder_->submit_and_wait(seg_begin, seg_end);
  position_ = end;
  next_segment_ = seg_end;
}

bool Executor::step_piece() {
  if (position_ >= graph_.nodes().size()) return false;
  const std::size_t seg_end = node_segment_end_[position_];
  const std::size_t seg_begin = std::max(position_ == 0 ? 0 : node_segment_end_[position_ - 1], next_segment_);
  if (seg_begin + 1 >= seg_end) {  // the last piece (or a node without dispatches)
    submit_nodes(position_, position_ + 1);
    return true;
  }
  recorder_->submit_and_wait(seg_begin, seg_begin + 1);
  next_segment_ = seg_begin + 1;
  return false;
}

void Executor::run() { submit_nodes(0, graph_.nodes().size()); }

void Executor::step(std::size_t nodes) { submit_nodes(position_, position_ + nodes); }

void Executor::run_to(const std::string& name) {
  const NodeId id = graph_.require_node(name);
  const auto target = static_cast<std::size_t>(id) + 1;
  if (target <= position_) reset();  // going back means starting over
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
  // Its bytes hold it until the last step that needs it; after that they may be reused — by the
  // next node already when step_piece() has run part of it.
  const bool mid_node = position_ < graph_.nodes().size() &&
                        next_segment_ > (position_ == 0 ? 0 : node_segment_end_[position_ - 1]);
  const int overwritten_from = mid_node ? done + 1 : done;
  const ValueId root = plan_.alias_of[i];
  const int last = std::max(plan_.last_step[i], plan_.last_step[static_cast<std::size_t>(root)]);
  return last >= overwritten_from || last >= static_cast<int>(graph_.nodes().size());
}

ValueId Executor::require_readable(const std::string& name) const {
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
  return id;
}

const ops::Tensor& Executor::device_tensor(const std::string& name) const {
  return tensor(require_readable(name));
}

std::vector<float> Executor::read(const std::string& name) const {
  const ValueId id = require_readable(name);
  std::vector<float> values = ops::download_tensor(device_, tensor(id));
  if (stored_nhwc(id)) return ops::nhwc_to_nchw(values, graph_.value(id).shape);
  return values;
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

std::vector<gpu::DispatchRecord> Executor::node_dispatches(const std::string& name) const {
  const auto i = static_cast<std::size_t>(graph_.require_node(name));
  const auto& all = recorder_->dispatches();
  return {all.begin() + static_cast<std::ptrdiff_t>(node_dispatch_begin_[i]),
          all.begin() + static_cast<std::ptrdiff_t>(node_dispatch_end_[i])};
}

std::size_t Executor::dispatch_count() const { return recorder_->dispatch_count(); }

}  // namespace fusescope::graph
