// Executor: runs a Graph on a Device. It uploads the constants once, plans activation memory
// by liveness, records every node's dispatches once (one recorder segment per node) and then
// replays: run() submits everything, step()/run_to()/run_block() submit the next nodes only,
// so a user can walk through a network layer by layer or block by block and look at any
// tensor that is still alive. Tapped values (and outputs) are kept alive to the end.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/memory_plan.hpp"
#include "graph/progress.hpp"
#include "ops/encoder.hpp"
#include "ops/tensor.hpp"

namespace fusescope::gpu {
class Device;
class Recorder;
class ShaderOverride;
struct DispatchRecord;
}  // namespace fusescope::gpu

namespace fusescope::graph {

struct ConvAutotuneReport;  // graph/conv_autotune.hpp

// nchw, or nhwc: every 4-D activation (inputs and outputs included) lies in memory as NHWC
// while the Graph, set_input() and read() stay logical NCHW (the executor transposes on the
// host) — except values only the host or Transposes write and only Transposes and
// rank-changing Reshapes/Flattens read, which keep their plain order (see the constructor: an NHWC model input then needs no
// transpose pass). Weights keep their layouts (conv OIHW). A flatten or gemm that would read an NHWC map
// with H*W > 1 as features is refused (it would reorder them); after a global pool it is fine.
using Layout = ops::Layout;
using ops::to_string;

struct ExecutorOptions {
  ops::Precision precision = ops::Precision::fp32;
  Layout layout = Layout::nchw;
  std::vector<std::string> taps;  // value names kept readable after a full run
  bool tap_all = false;           // every value readable (no memory sharing)
  // Largest shared activation buffer; above it every tensor gets its own buffer. 0: the
  // device's maxStorageBufferRange (a binding cannot be larger).
  std::uint64_t max_shared_activation_bytes = 0;
  // 0: one submission piece per node. Otherwise convolutions of more multiply-adds run as
  // several pieces of at most this many (ops::Encoder::max_dispatch_macs), which step_piece()
  // submits one at a time: the window shares the queue and must never wait long behind a node.
  std::uint64_t max_dispatch_macs = 0;
  // Every conv's algorithm when not automatic (the CLI's --algorithm); automatic leaves each
  // node's own ConvAttrs::algorithm, whose automatic the encoder resolves per shape.
  ops::ConvAlgorithm conv_algorithm = ops::ConvAlgorithm::automatic;
  // --autotune: before recording, every conv node left on automatic gets the algorithm that ran
  // its shape fastest on this device (graph/conv_autotune.hpp: timed once per shape, the winners
  // remembered in the cache directory); graph() then shows each node's choice. Nothing to do
  // when conv_algorithm forces one.
  bool autotune = false;
  // Told each line autotuning has to say (a shape timed, the summary, a cache ignored and why);
  // the CLI prints them on stderr.
  std::function<void(const std::string&)> autotune_log;
  // Per node name: a user's GLSL that node's dispatches run in place of the built-in kernels
  // (the shader sandbox, `--kernel-override NODE=FILE.comp`); every other node keeps its own.
  // A name the graph has no node for, or a node that runs no kernel (a view), is refused
  // (ops::InvalidArgument naming it); an override
  // whose interface does not fit the node's kernel is refused (gpu::KernelInterfaceMismatch
  // naming node, binding, expected and found).
  std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> kernel_overrides;
  // Told per node while the constructor records the network: creating its compute pipelines
  // (compiling their SPIR-V on a cold cache) is what takes seconds on a big network.
  Progress progress;
};

struct NodeTiming {
  std::string node;
  std::size_t dispatches = 0;
  double gpu_ms = 0;
};

class Executor {
 public:
  Executor(gpu::Device& device, Graph graph, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const Graph& graph() const { return graph_; }
  const ExecutorOptions& options() const { return options_; }

  // NCHW values for the named graph input (or the only one); checked against its shape.
  void set_input(const std::string& name, std::span<const float> values);
  void set_input(std::span<const float> values);

  void run();                               // every node; position() becomes node count
  void reset() { position_ = 0; next_segment_ = 0; }  // stepping starts again from the first node
  std::size_t position() const { return position_; }  // nodes executed since reset
  void step(std::size_t nodes = 1);         // the next `nodes` nodes
  void run_to(const std::string& node);     // up to and including `node`
  void run_block();                         // to the end of the next node's innermost scope
  // The next piece of the next node (a node is one piece, or several when max_dispatch_macs
  // splits it), in a submission of its own; returns true when that finished the node, and
  // position() moved on. A node's tensors are readable only once it has finished.
  bool step_piece();

  // Whether `value` holds its computed contents now (inputs and constants always do; others
  // once computed, until their memory is reused — tapped values and outputs never are).
  bool can_read(const std::string& value) const;
  // The value as NCHW fp32; throws ops::InvalidArgument saying why when it cannot be read.
  std::vector<float> read(const std::string& value) const;

  // The value's device tensor (logical shape, dtype, buffer view into the executor's memory)
  // for kernels that read it in place, like the window's colormap; the bytes lie as
  // stored_layout() says. Valid while the executor lives and, for values that are not tapped,
  // only until a later step reuses the memory. Throws ops::InvalidArgument saying why when
  // !can_read(value), as read() does.
  const ops::Tensor& device_tensor(const std::string& value) const;

  // How `value`'s bytes lie on the device: nhwc for 4-D activations (and 4-D constants read
  // as activations) under Layout::nhwc, nchw otherwise (weights, vectors, 2-D features).
  // read() and set_input() are NCHW either way.
  Layout stored_layout(const std::string& value) const {
    return stored_nhwc(graph_.require_value(value)) ? Layout::nhwc : Layout::nchw;
  }

  // Replaces options().kernel_overrides and records the network again (position back to 0).
  // All or nothing: when an override does not compile, does not fit its node's kernel, or its
  // pipeline cannot be created, this throws and the executor keeps its previous overrides,
  // pipelines and recording, ready to run as before (the sandbox's "the previous pipeline stays").
  void set_kernel_overrides(std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> overrides);

  // Per node, from the last submission that ran it.
  std::vector<NodeTiming> node_timings() const;
  // What node `name` dispatches, in order (empty for a view): kernel spec, push constants, grid.
  // Throws ops::InvalidArgument for a name the graph has no node for.
  std::vector<gpu::DispatchRecord> node_dispatches(const std::string& name) const;
  std::size_t dispatch_count() const;
  const MemoryPlan& memory_plan() const { return plan_; }
  // Per node: the algorithm its conv runs (the option, the node's own or automatic's choice,
  // resolved at load); automatic for a node that is not a conv.
  const std::vector<ops::ConvAlgorithm>& conv_algorithms() const { return conv_algorithms_; }
  // What options().autotune measured or read from its cache; null when it did not run.
  const ConvAutotuneReport* autotune_report() const { return autotune_report_.get(); }

 private:
  // Resolves every conv node's algorithm (options, the node's own, automatic's choice) and
  // uploads the transformed weights of the convs that run winograd; `dtype` per value.
  void prepare_conv_algorithms(const std::vector<ops::DType>& dtype);
  void check_override_nodes() const;
  void record();
  void encode_node(std::size_t index, const ops::Encoder& enc);
  void encode_reduce_mean_node(const Node& node, const ops::ReduceMeanParams& params, const ops::Encoder& enc);
  const ops::Tensor& tensor(ValueId id) const;
  // The tensor under the shape its bytes have: NHWC-permuted for values stored NHWC.
  ops::Tensor physical(ValueId id) const;
  ops::Shape physical_shape(ValueId id) const;
  // A Transpose node's permutation between its input's and output's physical shapes.
  std::vector<std::int64_t> physical_permutation(const Node& node) const;
  bool stored_nhwc(ValueId id) const { return nhwc_.at(static_cast<std::size_t>(id)); }
  void submit_nodes(std::size_t first, std::size_t end);
  // Throws what read() and device_tensor() say when `name` cannot be read now.
  ValueId require_readable(const std::string& name) const;

  gpu::Device& device_;
  Graph graph_;
  ExecutorOptions options_;
  MemoryPlan plan_;
  ops::DType activation_dtype_ = ops::DType::f32;
  std::vector<ops::Tensor> tensors_;  // per ValueId
  std::vector<bool> nhwc_;            // per ValueId: bytes in NHWC order (logical shape kept)
  std::vector<bool> transpose_view_;  // per node: a Transpose run as a view (no dispatch)
  gpu::Buffer activations_;           // the planned activation memory
  std::vector<gpu::Buffer> separate_; // per value, when the plan exceeds one binding's range
  std::vector<ops::ConvAlgorithm> conv_algorithms_;  // per node: the conv's resolved algorithm
  std::vector<ops::Tensor> winograd_weights_;         // per node: U, for convs that run winograd
  std::unique_ptr<gpu::Recorder> recorder_;
  std::vector<std::size_t> node_segment_end_;   // segments [0, end) cover nodes 0..i
  std::vector<std::size_t> node_dispatch_begin_, node_dispatch_end_;
  std::size_t position_ = 0;
  std::size_t next_segment_ = 0;  // recorder segments submitted since reset (pieces included)
  std::shared_ptr<const ConvAutotuneReport> autotune_report_;
};

}  // namespace fusescope::graph
