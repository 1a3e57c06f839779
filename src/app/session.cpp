#include "app/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gpu/device.hpp"
#include "gpu/error.hpp"
#include "gpu/shader_override.hpp"
#include "gpu/shader_sources.hpp"
#include "io/model_files.hpp"
#include "io/safetensors.hpp"
#include "models/zoo.hpp"
#include "ops/shape.hpp"
#include "ops/colormap_gpu.hpp"
#include "ops/tensor.hpp"

namespace fusescope::app {

namespace {

// Multiply-adds per queue submission while the window runs a network: on lavapipe (2 cores,
// about 1.5 GMAC/s for ResNet-50's convolutions) 16 M is about 10 ms, so a frame waits that long
// at most (a whole 3x3 conv is 60-90 ms). On a GPU it is microseconds: more submissions, each
// cheap, and no frame ever waits.
constexpr std::uint64_t kPieceMacs = 16'000'000;

std::string describe_attrs(const graph::Node& node) {
  if (const auto* c = node.as<graph::ConvAttrs>()) {
    const auto& p = c->params;
    std::string s = fmt::format("{}x{} s{} p{} {}->{}", p.kernel_h, p.kernel_w, p.stride_h, p.pad_top, p.in_channels,
                                p.out_channels);
    if (p.groups > 1) s += fmt::format(" g{}", p.groups);
    if (c->epilogue.batchnorm) s += " +bn";
    if (c->epilogue.residual) s += " +residual";
    if (c->epilogue.activation.kind != ops::ActivationKind::none) s += " +" + ops::to_string(c->epilogue.activation);
    return s;
  }
  if (const auto* b = node.as<graph::BatchNormAttrs>()) {
    std::string s = fmt::format("eps {:g}", b->params.epsilon);
    if (b->activation.kind != ops::ActivationKind::none) s += " +" + ops::to_string(b->activation);
    return s;
  }
  if (const auto* a = node.as<graph::ActivationAttrs>()) return ops::to_string(a->activation);
  if (const auto* p = node.as<graph::PoolAttrs>()) {
    return fmt::format("{}x{} s{}", p->params.kernel_h, p->params.kernel_w, p->params.stride_h);
  }
  return "";
}

std::vector<NodeRow> rows_of(const graph::Graph& g) {
  std::vector<NodeRow> rows;
  for (const graph::Node& n : g.nodes()) {
    NodeRow r;
    r.name = n.name;
    r.scope = n.scope;
    r.op = graph::op_name(n.attrs);
    r.output = g.value(n.output).name;
    r.shape = ops::to_string(g.value(n.output).shape);
    r.params = describe_attrs(n);
    r.flops = g.flops(n);
    for (graph::ValueId in : n.inputs)
      if (in != graph::kNoValue && g.value(in).constant) r.weight_bytes += ops::numel(g.value(in).shape) * 4;
    r.provenance = n.provenance;
    rows.push_back(std::move(r));
  }
  return rows;
}

// The picture's geometry: a rank-4 tensor is C maps of HxW; anything else (logits, features)
// one map of its F values per batch item, laid out h x w with h * w = F as square as F's
// divisors allow (1000 logits: 25 x 40), row-major, so value i sits at (i / w, i % w).
void tensor_geometry(const ops::Shape& s, std::int64_t& c, std::int64_t& h, std::int64_t& w) {
  if (s.size() == 4) {
    c = s[1], h = s[2], w = s[3];
    return;
  }
  const std::int64_t n = s.empty() ? 1 : s[0];
  const std::int64_t f = std::max<std::int64_t>(1, ops::numel(s) / std::max<std::int64_t>(1, n));
  c = 1, h = 1, w = f;
  for (std::int64_t d = 1; d * d <= f; ++d)
    if (f % d == 0) h = d, w = f / d;
}

std::vector<BatchNormInfo> batchnorms_of(const graph::Graph& g) {
  std::vector<BatchNormInfo> out;
  for (const graph::Node& n : g.nodes()) {
    const auto* bn = n.as<graph::BatchNormAttrs>();
    if (bn == nullptr) continue;
    BatchNormInfo b;
    b.name = n.name;
    b.epsilon = bn->params.epsilon;
    const graph::Value& x = g.value(n.inputs[0]);
    if (x.producer >= 0 && g.node(x.producer).as<graph::ConvAttrs>()) b.conv = g.node(x.producer).name;
    const std::vector<float>& st = g.value(n.inputs[1]).data;
    const std::size_t c = st.size() / 4;
    for (std::size_t k = 0; k < c; ++k) {
      b.gamma.push_back(st[k]);
      b.beta.push_back(st[c + k]);
      b.mean.push_back(st[2 * c + k]);
      b.var.push_back(st[3 * c + k]);
      b.scale.push_back(b.gamma.back() / std::sqrt(b.var.back() + b.epsilon));
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

Session::Session(gpu::Device& device) : device_(device) {
  snapshot_.device = device.info().name;
  thread_ = std::thread([this] { loop(); });
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  idle_.notify_all();
}

void Session::post(Request request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A newer selection makes an older one still waiting pointless: replace it.
    if (std::holds_alternative<SelectRequest>(request)) {
      for (auto& q : queue_) {
        if (std::holds_alternative<SelectRequest>(q)) {
          q = std::move(request);
          return;
        }
      }
    }
    queue_.push_back(std::move(request));
    snapshot_.pending = queue_.size();
  }
  wake_.notify_all();
}

void Session::set_on_done(std::function<void()> on_done) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_done_ = std::move(on_done);
}

Snapshot Session::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Snapshot s = snapshot_;
  if (s.busy) s.busy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
  return s;
}

void Session::await_selection(std::chrono::milliseconds budget) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto selection_next = [this] {
    if (running_) return running_select_;
    return !queue_.empty() && std::holds_alternative<SelectRequest>(queue_.front());
  };
  if (!selection_next()) return;
  idle_.wait_for(lock, budget, [&] { return !selection_next(); });
}

bool Session::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !running_; });
}

void Session::publish(const std::function<void(Snapshot&)>& change) {
  std::lock_guard<std::mutex> lock(mutex_);
  change(snapshot_);
  ++snapshot_.version;
}

void Session::log(LogLine::Level level, const std::string& text) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  publish([&](Snapshot& s) {
    s.log.push_back({level, text, t});
    if (s.log.size() > 500) s.log.erase(s.log.begin(), s.log.begin() + 100);
  });
}

namespace {
// Thrown from a progress report once the session is closing: the study and the stepping loops
// report between nodes, so closing the window never waits for a whole network or oracle run.
struct Cancelled {};

bool names_onnx_file(const std::string& m) {
  return io::named_model_file(m).has_value() || (m.size() > 5 && m.compare(m.size() - 5, 5, ".onnx") == 0);
}

// The input shape `s` asks for without building the model: an ONNX model's --shape, or a zoo
// model's default input with --batch and --size applied; empty when only the file knows it (or
// the request is malformed, which the load itself will say).
ops::Shape requested_input_shape(const workbench::ModelSource& s) {
  try {
    if (!s.shape.empty()) return workbench::parse_shape(s.shape);
    if (names_onnx_file(s.model)) return {};
    ops::Shape in = models::find_model(s.model.substr(0, s.model.find(':'))).default_input;
    if (s.batch > 0) in[0] = s.batch;
    workbench::parse_size(s.size, in[2], in[3]);
    return in;
  } catch (const std::exception&) {
    return {};
  }
}

// What may fit where `r` ran out of device memory: activations grow with the input's pixels and
// batch, and every tensor halves in 16-bit storage. A zoo model is rebuilt at any --size; an
// ONNX model only at the dynamic dims the user gave (--shape), so a fixed one is offered fp16
// storage alone. The device layout (NCHW/NHWC) is not offered: it moves bytes, it saves none.
std::vector<LoadOffer> smaller_loads(const LoadRequest& r, const ops::Shape& input) {
  std::vector<LoadOffer> offers;
  const bool onnx = names_onnx_file(r.source.model);
  if (input.size() == 4 && (!onnx || !r.source.shape.empty())) {
    const bool nhwc = r.source.image.nhwc;  // [N, H, W, C]
    const std::int64_t n = input[0], h = nhwc ? input[1] : input[2], w = nhwc ? input[2] : input[3];
    if (h >= 16 && w >= 16) {
      LoadRequest half = r;
      const std::int64_t hh = h / 2, hw = w / 2;
      if (onnx) {
        half.source.shape = nhwc ? fmt::format("{}x{}x{}x{}", n, hh, hw, input[3])
                                 : fmt::format("{}x{}x{}x{}", n, input[1], hh, hw);
      } else {
        half.source.size = fmt::format("{}x{}", hh, hw);
      }
      offers.push_back({fmt::format("input {}x{}", hh, hw), half});
    }
    if (n > 1 && !onnx) {
      LoadRequest one = r;
      one.source.batch = 1;
      offers.push_back({"batch 1", one});
    }
  }
  if (r.reference_precision == ops::Precision::fp32) {
    LoadRequest half = r;
    half.reference_precision = ops::Precision::fp16s;
    offers.push_back({"fp16 storage", half});
  }
  return offers;
}

}  // namespace

void Session::progress(const std::string& stage, double fraction) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) throw Cancelled{};
  }
  publish([&](Snapshot& s) {
    s.stage = stage;
    s.progress = fraction;
  });
}

void Session::loop() {
  for (;;) {
    Request request;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      request = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
      running_select_ = std::holds_alternative<SelectRequest>(request);
      request_start_ = std::chrono::steady_clock::now();
      snapshot_.busy = true;
      snapshot_.pending = queue_.size();
      snapshot_.progress = 0;
      ++snapshot_.version;
    }
    bool failed = false, bad_input = false;
    try {
      handle(request);
    } catch (const Cancelled&) {
      return;  // the session is closing
    } catch (const ops::InvalidArgument& e) {
      failed = bad_input = true;
      log(LogLine::Level::bad_input, e.what());
    } catch (const io::FormatError& e) {
      failed = bad_input = true;
      log(LogLine::Level::bad_input, e.what());
    } catch (const gpu::DeviceLost& e) {
      failed = true;
      device_.mark_lost();  // a fence wait finds a real loss too, not only a submit
      log(LogLine::Level::error, fmt::format("the device was lost: {}", e.what()));
    } catch (const gpu::OutOfDeviceMemory& e) {
      failed = true;
      log(LogLine::Level::error, e.what());
      std::string labels;
      for (const LoadOffer& o : snapshot().smaller_loads) labels += (labels.empty() ? "" : ", ") + o.label;
      if (!labels.empty()) log(LogLine::Level::info, fmt::format("offered instead (buttons above the log): {}", labels));
    } catch (const std::exception& e) {
      failed = true;
      log(LogLine::Level::error, e.what());
    }
    std::function<void()> on_done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = false;
      snapshot_.busy = false;
      snapshot_.stage.clear();
      ++snapshot_.requests_done;
      if (failed) ++snapshot_.requests_failed;
      if (bad_input) ++snapshot_.requests_bad_input;
      ++snapshot_.version;
      on_done = on_done_;
    }
    idle_.notify_all();
    if (on_done) on_done();
  }
}

void Session::handle(Request& request) {
  if (auto* r = std::get_if<LoadRequest>(&request)) return load(*r);
  if (auto* r = std::get_if<CandidateRequest>(&request)) {
    if (!study_) throw ops::InvalidArgument("no model loaded: open one first");
    LoadRequest again = loaded_;
    again.candidate = r->candidate;
    return load(again);
  }
  if (auto* r = std::get_if<SelectRequest>(&request)) return select(*r);
  if (!study_) throw ops::InvalidArgument("no model loaded: open one first");
  if (auto* r = std::get_if<KernelEditRequest>(&request)) return edit_kernel(*r);
  if (auto* r = std::get_if<KernelRevertRequest>(&request)) return revert_kernel(*r);
  graph::Executor& ref = study_->reference();
  progress("running", 0.0);
  const auto& nodes = ref.graph().nodes();
  const std::size_t n = nodes.size();
  std::size_t target = ref.position();
  if (std::holds_alternative<ResetRequest>(request)) {
    target = 0;
  } else if (auto* s = std::get_if<StepRequest>(&request)) {
    target = std::min(n, target + s->nodes);
  } else if (std::holds_alternative<BlockRequest>(request)) {
    // To the end of the next node's innermost scope (Executor::run_block's rule).
    if (target < n) {
      const std::string& scope = nodes[target].scope;
      ++target;
      while (target < n && nodes[target].scope == scope) ++target;
    }
  } else if (auto* t = std::get_if<RunToRequest>(&request)) {
    target = static_cast<std::size_t>(ref.graph().require_node(t->node)) + 1;
  } else if (std::holds_alternative<RunAllRequest>(request)) {
    target = n;
    ref.reset();  // run all means from the start: fresh timings for every node
  }
  advance(ref, target, "running");
  refresh_positions();
  refresh_timing();
  if (!selected_.value.empty()) select(selected_);
}

void Session::load(const LoadRequest& r) {
  const auto t0 = std::chrono::steady_clock::now();
  progress(fmt::format("loading {}", r.source.model), 0.0);
  publish([](Snapshot& s) {  // an offer taken (or another load) answers the last shortage
    s.out_of_memory.clear();
    s.smaller_loads.clear();
  });
  const workbench::NamedCandidate named = workbench::find_candidate(r.candidate, r.layout);
  workbench::StudyOptions so;
  so.candidate = named.candidate;
  // --precision applies to both networks, like compare's; the fp16 candidates name their own.
  if (so.candidate.precision == ops::Precision::fp32) so.candidate.precision = r.reference_precision;
  so.reference.precision = r.reference_precision;
  so.reference.layout = r.layout;
  so.reference.conv_algorithm = r.conv_algorithm;
  so.reference.autotune = r.autotune;
  so.oracle = r.oracle;
  so.piece_macs = kPieceMacs;
  so.progress = [this](std::string_view stage, double f) { progress(std::string(stage), f); };
  // A tensor the device cannot bind is refused before a zoo model's calibration, as an
  // out-of-memory like any other.
  workbench::ModelSource source = r.source;
  workbench::check_against_device(source, device_.info(), r.reference_precision);
  ops::Shape input_shape = requested_input_shape(r.source);
  std::unique_ptr<workbench::Study> study;
  try {
    graph::Graph g = workbench::load_model(source);
    input_shape = g.value(g.inputs()[0]).shape;
    std::vector<float> x = workbench::load_input(source, g);
    study = std::make_unique<workbench::Study>(device_, std::move(g), std::move(x), so);
    study->run();
  } catch (const gpu::OutOfDeviceMemory&) {
    // The loop logs the message (which buffer, how big); the window offers what may fit.
    std::vector<LoadOffer> offers = smaller_loads(r, input_shape);
    publish([&](Snapshot& s) {
      s.out_of_memory = r.source.model;
      s.smaller_loads = std::move(offers);
    });
    throw;
  }

  // It worked: only now does the new model replace the old one. Kernel edits belonged to the old
  // candidate's nodes: they go with it (a user keeps one as a file with "save as variant").
  if (const std::size_t running = running_edits().size(); running > 0)
    log(LogLine::Level::info, fmt::format("{} kernel edit(s) dropped with the previous candidate", running));
  kernel_edits_.clear();
  ++kernel_generation_;
  study_ = std::move(study);
  loaded_ = r;
  const graph::Graph& rg = study_->reference_graph();
  const graph::Graph& cg = study_->candidate_graph();
  auto model = std::make_shared<ModelSnapshot>();
  model->name = rg.name();
  model->source = r.source;
  model->candidate_name = named.name;
  model->candidate_choice = named.candidate;
  model->input_shape = ops::to_string(rg.value(rg.inputs()[0]).shape);
  model->parameters = rg.parameter_count();
  model->flops = rg.total_flops();
  model->reference = rows_of(rg);
  model->batchnorms = batchnorms_of(rg);
  model->candidate = rows_of(cg);
  model->activation_bytes_reference = study_->reference().memory_plan().peak_bytes;
  model->activation_bytes_candidate = study_->candidate().memory_plan().peak_bytes;
  model->description = fmt::format("{} · input {} · candidate: {}", r.source.model, model->input_shape, named.label);

  // Which reference node each candidate node computes last (provenance), and back.
  candidate_reach_.assign(cg.nodes().size(), -1);
  for (std::size_t j = 0; j < cg.nodes().size(); ++j) {
    for (const std::string& p : cg.nodes()[j].provenance) {
      const graph::NodeId i = rg.find_node(p);
      if (i >= 0) candidate_reach_[j] = std::max(candidate_reach_[j], static_cast<int>(i));
    }
    const graph::ValueId out = rg.find_value(cg.value(cg.nodes()[j].output).name);
    if (out != graph::kNoValue && rg.value(out).producer >= 0) {
      model->reference[static_cast<std::size_t>(rg.value(out).producer)].candidate_node = static_cast<int>(j);
    }
  }
  for (const workbench::LayerRow& row : study_->report().layers) {
    const graph::NodeId i = rg.find_node(row.node);
    if (i >= 0) model->reference[static_cast<std::size_t>(i)].fused_as = row.fused_as;
  }
  repvgg_.clear();
  if (study_->report().fusion.count("reparameterize_repvgg") > 0) repvgg_ = fusion::repvgg_block_kernels(rg);
  auto report = std::make_shared<workbench::StudyReport>(study_->report());
  publish([&](Snapshot& s) {
    s.model = model;
    s.report = report;
  });
  refresh_positions();
  refresh_timing();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log(LogLine::Level::info,
      fmt::format("loaded {} ({} nodes, {} after fusion; {}) in {:.1f} s", rg.name(), rg.nodes().size(),
                  cg.nodes().size(), named.label, seconds));
  // Keep looking at the same tensor when the new model has it; else at the output.
  SelectRequest keep = selected_;
  if (keep.value.empty() || rg.find_value(keep.value) == graph::kNoValue) {
    keep = {};
    keep.value = rg.value(rg.outputs()[0]).name;
  }
  select(keep);
}

std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> Session::running_edits(const std::string& except) const {
  std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> edits;
  for (const auto& [node, e] : kernel_edits_)
    if (e.running && node != except) edits[node] = e.running;
  return edits;
}

void Session::show_kernel(const std::string& value) {
  auto k = std::make_shared<KernelSnapshot>();
  k->value = value;
  k->generation = kernel_generation_;
  k->edits = running_edits().size();
  const graph::Graph& cg = study_->candidate_graph();
  const graph::ValueId cv = cg.find_value(value);
  if (cv == graph::kNoValue || cg.value(cv).producer < 0) {
    std::string inside;
    for (const workbench::LayerRow& row : study_->report().layers)
      if (row.layer == value) inside = row.fused_as;
    k->note = cv != graph::kNoValue ? "a network input: no kernel computes it"
              : inside.empty()      ? "fused away in the candidate: no kernel of its own"
                                    : fmt::format("fused away: the candidate computes it {}; select that node's output "
                                                  "to edit its kernel",
                                                  inside);
  } else {
    k->node = cg.node(cg.value(cv).producer).name;
    k->dispatches = study_->candidate().node_dispatches(k->node);
    if (k->dispatches.empty()) {
      k->note = "a view: this node moves no data and runs no kernel";
    } else {
      k->shader = k->dispatches.front().spec.shader;
      k->builtin_source = std::string(gpu::builtin_kernel_source(k->shader));
    }
    const auto it = kernel_edits_.find(k->node);
    if (it != kernel_edits_.end()) {
      if (it->second.running) {
        k->edit_source = it->second.running->source();
        k->edit_file = it->second.running->file_name();
      }
      k->verdict = it->second.verdict;
      k->failure = it->second.failure;
      k->errors = it->second.errors;
    }
  }
  publish([&](Snapshot& s) { s.kernel = k; });
}

void Session::edit_kernel(const KernelEditRequest& r) {
  study_->candidate_graph().require_node(r.node);
  progress(fmt::format("compiling {} for node {}", r.file_name, r.node), 0.0);
  KernelEdit& state = kernel_edits_[r.node];
  // A failure is the node's latest news; the edit running before it (or the built-in kernel)
  // keeps running, untouched: Study::set_kernel_overrides is all or nothing.
  auto fail = [&](const std::string& message, std::vector<gpu::GlslDiagnostic> errors) {
    state.failure = message;
    state.errors = std::move(errors);
    if (!selected_.value.empty()) show_kernel(selected_.value);
  };
  try {
    auto edit = std::make_shared<const gpu::ShaderOverride>(r.source, r.file_name);
    auto overrides = running_edits(r.node);
    overrides[r.node] = edit;
    study_->set_kernel_overrides(std::move(overrides));
    state.running = edit;
  } catch (const gpu::GlslCompileError& e) {
    fail(e.what(), e.diagnostics());
    throw ops::InvalidArgument(fmt::format("node {}: the edit does not compile; the previous kernel stays in use:\n{}",
                                           r.node, e.what()));
  } catch (const gpu::KernelInterfaceMismatch& e) {
    fail(e.what(), {});
    throw ops::InvalidArgument(fmt::format("{}; the previous kernel stays in use", e.what()));
  } catch (const ops::InvalidArgument& e) {
    fail(e.what(), {});
    throw;
  } catch (const std::exception& e) {
    fail(e.what(), {});
    throw std::runtime_error(fmt::format("{}; the previous kernel stays in use", e.what()));
  }
  state.failure.clear();
  state.errors.clear();
  ++kernel_generation_;
  rerun_with_edits();
  const KernelEdit& done = kernel_edits_.at(r.node);
  if (done.verdict) {
    const workbench::KernelOverrideCheck& c = *done.verdict;
    log(c.within_tolerance ? LogLine::Level::info : LogLine::Level::error,
        fmt::format("node {} runs {}: rel-L2 {:.3g} against the float64 oracle ({} tolerance {:.3g}); GPU {:.3f} ms, "
                    "built-in {:.3f} ms; network output off the built-in run by rel-L2 {:.3g}",
                    r.node, r.file_name, c.vs_oracle.rel_l2, c.within_tolerance ? "within" : "OVER", c.tolerance_rel_l2,
                    c.gpu_ms, c.builtin_gpu_ms, c.network_output_vs_builtin.rel_l2));
  }
}

void Session::revert_kernel(const KernelRevertRequest& r) {
  const auto it = kernel_edits_.find(r.node);
  if (it == kernel_edits_.end() || !it->second.running) {
    if (it != kernel_edits_.end()) kernel_edits_.erase(it);
    if (!selected_.value.empty()) show_kernel(selected_.value);
    return;  // nothing edited there: already the built-in kernel
  }
  study_->set_kernel_overrides(running_edits(r.node));
  kernel_edits_.erase(r.node);
  ++kernel_generation_;
  rerun_with_edits();
  log(LogLine::Level::info, fmt::format("node {}: back to the built-in kernel", r.node));
}

void Session::rerun_with_edits() {
  // The edited candidate through the whole study: every later layer's drift in the report (the
  // error-versus-depth plot). Then each edit judged as `run --kernel-override` judges it (one
  // computation): the candidate run with and without the edits, each edited node against the
  // float64 oracle fed its real inputs, timed beside the built-in kernel.
  study_->run();
  const graph::ExecutorOptions options = study_->candidate_options();
  if (!options.kernel_overrides.empty()) {
    progress("judging the edits against the float64 oracle", 0.95);
    for (workbench::KernelOverrideCheck& c :
         workbench::check_kernel_overrides(device_, study_->candidate_graph(), study_->input(), options))
      kernel_edits_[c.node].verdict = std::move(c);
  }
  auto report = std::make_shared<workbench::StudyReport>(study_->report());
  publish([&](Snapshot& s) { s.report = report; });
  refresh_positions();
  refresh_timing();
  if (!selected_.value.empty()) select(selected_);
}

void Session::advance(graph::Executor& e, std::size_t target, const std::string& stage) {
  // Going back means starting over. Then piece by piece: the window's frames share the queue
  // and must wait behind one short piece at most, never behind a node or a whole network.
  if (target < e.position()) e.reset();
  const std::size_t from = e.position();
  while (e.position() < target) {
    progress(stage, static_cast<double>(e.position() - from) / static_cast<double>(target - from));
    e.step_piece();
  }
}

void Session::refresh_positions() {
  graph::Executor& ref = study_->reference();
  graph::Executor& cand = study_->candidate();
  // The candidate runs every node whose reference nodes have all run: the same point in the
  // network, so the two sides of the compare panel always show the same moment.
  const auto p = static_cast<int>(ref.position());
  std::size_t target = 0;
  while (target < candidate_reach_.size() && candidate_reach_[target] < p) ++target;
  advance(cand, target, "running the candidate");
  publish([&](Snapshot& s) {
    s.position = ref.position();
    s.candidate_position = cand.position();
  });
}

void Session::refresh_timing() {
  auto t = std::make_shared<TimingSnapshot>();
  for (const auto& n : study_->reference().node_timings()) {
    t->reference_ms.push_back(n.gpu_ms);
    t->reference_total_ms += n.gpu_ms;
  }
  for (const auto& n : study_->candidate().node_timings()) {
    t->candidate_ms.push_back(n.gpu_ms);
    t->candidate_total_ms += n.gpu_ms;
  }
  t->reference_dispatches = study_->reference().dispatch_count();
  t->candidate_dispatches = study_->candidate().dispatch_count();
  publish([&](Snapshot& s) { s.timing = t; });
}

void Session::select(const SelectRequest& r) {
  if (!study_) throw ops::InvalidArgument("no model loaded: open one first");
  const graph::Graph& g = study_->reference_graph();
  g.require_value(r.value);
  selected_ = r;
  auto t = std::make_shared<TensorSnapshot>();
  t->layer = r.value;
  t->shape = g.value(g.require_value(r.value)).shape;
  const graph::Executor& ref = study_->reference();
  const graph::Executor& cand = study_->candidate();
  t->candidate_exists = study_->candidate_has(r.value);
  t->reference_ready = ref.can_read(r.value);
  t->candidate_ready = t->candidate_exists && cand.can_read(r.value);
  // The RepVGG block behind this tensor's candidate node, if it is one (no run needed).
  const graph::Graph& cg = study_->candidate_graph();
  const graph::ValueId cv = cg.find_value(r.value);
  show_repvgg_block(cv != graph::kNoValue && cg.value(cv).producer >= 0 ? cg.node(cg.value(cv).producer).name : "");
  show_kernel(r.value);
  if (!t->reference_ready) {
    t->note = "not computed yet: step or run to it";
    publish([&](Snapshot& s) {
      s.tensor = t;
      s.selected = r.value;
    });
    return;
  }
  if (!t->candidate_exists) t->note = "fused away in the candidate: its node computes this inside another";

  std::int64_t channels, height, width;
  tensor_geometry(t->shape, channels, height, width);
  const std::int64_t item = channels * height * width;
  // Read once: the whole tensors for the metrics, then batch item 0 for the pictures and stats.
  std::vector<float> u = ref.read(r.value);
  std::vector<float> f;
  if (t->candidate_ready) f = cand.read(r.value);
  t->detail = study_->detail(r.value, u, f);
  u.resize(static_cast<std::size_t>(item));
  if (!f.empty()) f.resize(static_cast<std::size_t>(item));

  // One colour scale for both networks; a diverging map when anything is negative.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, diff_max = 0;
  auto widen = [&](float v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
  };
  for (float v : u) widen(v);
  for (float v : f) widen(v);
  for (std::size_t i = 0; i < f.size(); ++i) {
    const double d = std::fabs(static_cast<double>(f[i]) - static_cast<double>(u[i]));
    if (std::isfinite(d)) diff_max = std::max(diff_max, d);
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (lo < 0) {
    const double m = std::max(-lo, hi);
    t->map = ops::ColorMap::diverging;
    lo = -m, hi = m;
  } else {
    t->map = ops::ColorMap::sequential;
  }
  if (hi == lo) hi = lo + 1;
  t->lo = lo, t->hi = hi, t->diff_max = diff_max;

  // Per-channel statistics and the histogram (of the reference, on the shared scale).
  const std::int64_t plane = height * width;
  t->stats.resize(static_cast<std::size_t>(channels));
  t->histogram.assign(64, 0);
  if (!f.empty()) t->channel_rel_l2.resize(static_cast<std::size_t>(channels));
  for (std::int64_t c = 0; c < channels; ++c) {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn, sum = 0, sq = 0, dd = 0, rr = 0;
    for (std::int64_t i = 0; i < plane; ++i) {
      const double v = u[static_cast<std::size_t>(c * plane + i)];
      mn = std::min(mn, v), mx = std::max(mx, v), sum += v, sq += v * v;
      const auto bin = static_cast<std::int64_t>((v - lo) / (hi - lo) * 64.0);
      if (std::isfinite(v)) ++t->histogram[static_cast<std::size_t>(std::clamp<std::int64_t>(bin, 0, 63))];
      if (!f.empty()) {
        const double d = f[static_cast<std::size_t>(c * plane + i)] - v;
        dd += d * d, rr += v * v;
      }
    }
    const double mean = sum / static_cast<double>(plane);
    t->stats[static_cast<std::size_t>(c)] = {mn, mx, mean, std::sqrt(std::max(0.0, sq / plane - mean * mean))};
    if (!f.empty()) t->channel_rel_l2[static_cast<std::size_t>(c)] = rr > 0 ? std::sqrt(dd / rr) : std::sqrt(dd);
  }

  // Which channels the pictures show.
  t->channel = r.channel >= 0 && r.channel < channels ? r.channel : -1;
  t->channel_begin = t->channel >= 0 ? t->channel : std::clamp<std::int64_t>(r.channel_begin, 0, channels - 1);
  t->channel_count = t->channel >= 0 ? 1 : std::min(kMaxGridChannels, channels - t->channel_begin);
  t->grid_columns = t->channel >= 0 ? 1
                                    : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(std::sqrt(
                                                                    static_cast<double>(t->channel_count)))));
  t->gap = t->channel >= 0 || t->channel_count == 1 ? 0 : 1;
  t->tile_height = height, t->tile_width = width;

  auto picture = [&](const ops::Tensor& a, const ops::Tensor* b, ops::ColormapSource source, ops::ColorMap map,
                     double plo, double phi, bool nhwc) {
    ops::ColormapParams p;
    p.map = map;
    p.source = source;
    p.lo = static_cast<float>(plo);
    p.hi = static_cast<float>(phi);
    p.channels = channels, p.height = height, p.width = width;
    p.channel_begin = t->channel_begin;
    p.channel_count = t->channel_count;
    p.grid_columns = t->grid_columns;
    p.gap = t->gap;
    p.nhwc = nhwc;
    p.dtype = a.dtype;
    const ops::ColormapImage size = ops::colormap_image_size(p);
    Picture pic;
    pic.width = static_cast<int>(size.width);
    pic.height = static_cast<int>(size.height);
    pic.params = p;
    pic.rgba = std::make_shared<gpu::Buffer>(
        device_.allocate(static_cast<std::uint64_t>(size.width * size.height) * 4, "picture " + r.value));
    const gpu::BufferView bv = b ? b->buffer : gpu::BufferView{};
    ops::run_colormap(device_, a.buffer, b ? &bv : nullptr, p, pic.rgba->view());
    pic.id = next_picture_id_++;
    return pic;
  };
  const bool ref_nhwc = ref.stored_layout(r.value) == graph::Layout::nhwc;
  const ops::Tensor& ua = ref.device_tensor(r.value);
  t->reference = picture(ua, nullptr, ops::ColormapSource::value, t->map, lo, hi, ref_nhwc);
  if (t->candidate_ready) {
    const bool cand_nhwc = cand.stored_layout(r.value) == graph::Layout::nhwc;
    const ops::Tensor& fa = cand.device_tensor(r.value);
    t->candidate = picture(fa, nullptr, ops::ColormapSource::value, t->map, lo, hi, cand_nhwc);
    const double dmax = diff_max > 0 ? diff_max : 1.0;
    if (fa.dtype == ua.dtype && cand_nhwc == ref_nhwc) {
      t->difference = picture(fa, &ua, ops::ColormapSource::abs_difference, ops::ColorMap::sequential, 0, dmax,
                              ref_nhwc);
    } else {
      // Different storage (an fp16 candidate against the fp32 reference): the kernel reads one
      // dtype, so the |difference| goes up as an fp32 tensor and is coloured from there.
      std::vector<float> d(u.size());
      for (std::size_t i = 0; i < d.size(); ++i) d[i] = std::fabs(f[i] - u[i]);
      const ops::Tensor dt = ops::upload_tensor(device_, {1, channels, height, width}, d, "difference " + r.value);
      t->difference = picture(dt, nullptr, ops::ColormapSource::value, ops::ColorMap::sequential, 0, dmax, false);
    }
  }
  t->reference_values = std::move(u);
  t->candidate_values = std::move(f);
  publish([&](Snapshot& s) {
    s.tensor = t;
    s.selected = r.value;
  });
}

void Session::show_repvgg_block(const std::string& candidate_node) {
  const auto it = std::find_if(repvgg_.begin(), repvgg_.end(),
                               [&](const fusion::RepvggBlockKernels& b) { return b.node == candidate_node; });
  if (it == repvgg_.end()) {
    publish([](Snapshot& s) { s.repvgg.reset(); });
    return;
  }
  const fusion::RepvggBlockKernels& b = *it;
  auto r = std::make_shared<RepvggSnapshot>();
  r->node = b.node;
  r->out_channels = b.out_channels;
  r->in_channels_per_group = b.in_channels_per_group;
  r->shown_out = std::min<std::int64_t>(8, b.out_channels);
  r->shown_in = std::min<std::int64_t>(8, b.in_channels_per_group);
  // The shown kernels of each branch, and of their sum (the merged conv, before its one rounding).
  std::vector<std::vector<float>> kernels;
  std::vector<double> merged(b.branches.front().kernel.size(), 0.0);
  for (const auto& br : b.branches) {
    r->labels.push_back(br.label);
    for (std::size_t i = 0; i < merged.size(); ++i) merged[i] += br.kernel[i];
  }
  r->labels.push_back("merged (their sum)");
  auto shown = [&](const std::vector<double>& k) {
    std::vector<float> out;
    for (std::int64_t o = 0; o < r->shown_out; ++o)
      for (std::int64_t i = 0; i < r->shown_in; ++i)
        for (std::int64_t e = 0; e < 9; ++e)
          out.push_back(static_cast<float>(k[static_cast<std::size_t>((o * b.in_channels_per_group + i) * 9 + e)]));
    return out;
  };
  for (const auto& br : b.branches) kernels.push_back(shown(br.kernel));
  kernels.push_back(shown(merged));
  double m = 0;
  for (const auto& k : kernels)
    for (float v : k)
      if (std::isfinite(v)) m = std::max(m, static_cast<double>(std::fabs(v)));
  r->scale = m > 0 ? m : 1.0;
  const std::int64_t tiles = r->shown_out * r->shown_in;
  for (const auto& k : kernels) {
    ops::ColormapParams p;
    p.map = ops::ColorMap::diverging;
    p.lo = static_cast<float>(-r->scale);
    p.hi = static_cast<float>(r->scale);
    p.channels = tiles, p.height = 3, p.width = 3;
    p.channel_count = tiles;
    p.grid_columns = r->shown_in;  // a row per output channel, a column per input channel
    p.gap = 1;
    const ops::ColormapImage size = ops::colormap_image_size(p);
    const ops::Tensor t = ops::upload_tensor(device_, {1, tiles, 3, 3}, k, "repvgg " + b.node);
    Picture pic;
    pic.width = static_cast<int>(size.width);
    pic.height = static_cast<int>(size.height);
    pic.params = p;
    pic.rgba = std::make_shared<gpu::Buffer>(device_.allocate(static_cast<std::uint64_t>(size.pixels()) * 4, "repvgg picture"));
    ops::run_colormap(device_, t.buffer, nullptr, p, pic.rgba->view());
    pic.id = next_picture_id_++;
    r->pictures.push_back(std::move(pic));
  }
  publish([&](Snapshot& s) { s.repvgg = r; });
}

}  // namespace fusescope::app
