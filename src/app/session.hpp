// Session: what the window knows, as plain data, and the one worker thread that computes it.
//
// Panels never block and never call Vulkan: they read a Snapshot (copied under a lock once per
// frame) and post Requests. The worker owns every executor, the study and the oracle; it takes
// requests one at a time, and after each publishes a new Snapshot (shared_ptrs to immutable
// parts, so a copy is cheap). A request that fails leaves the previous model loaded and puts its
// message in the log. One that finds the device lost also marks it lost (gpu::Device::lost());
// the window then rebuilds the device and a new session on it (gui.cpp).
//
//   UI thread:  snapshot() → panels → post(Request)
//   worker:     Request → workbench::Study / Executor step / colormap dispatch → publish()
//
// Pictures of tensors are made on the device by the colormap kernel into device buffers; the
// renderer copies those into textures (no trip through the host for pixels).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gpu/buffer.hpp"
#include "gpu/glsl_compiler.hpp"
#include "gpu/recorder.hpp"
#include "fusion/passes.hpp"
#include "ops/colormap.hpp"
#include "workbench/candidate.hpp"
#include "workbench/kernel_override_check.hpp"
#include "workbench/model_source.hpp"
#include "workbench/study.hpp"

namespace fusescope::gpu {
class Device;
class ShaderOverride;
}

namespace fusescope::app {

struct LogLine {
  // error: a failed request; bad_input: one failed because of what it was given (a malformed or
  // missing file, a wrong shape, an unknown name) rather than the device or a bug.
  enum class Level { info, error, bad_input } level = Level::info;
  std::string text;
  double seconds = 0;  // since the session started
};

// One node of a graph as the model panel lists it.
struct NodeRow {
  std::string name, scope, op, output, shape, params;
  std::int64_t flops = 0, weight_bytes = 0;
  std::string fused_as;  // reference nodes: the candidate node computing it ("" if none)
  int candidate_node = -1;  // index into the candidate's rows, -1: fused away
  std::vector<std::string> provenance;  // candidate nodes: the reference nodes it computes
};

// A BatchNorm of the reference and what folding does to it, per channel.
struct BatchNormInfo {
  std::string name, conv;  // conv: the conv it follows ("" when none)
  double epsilon = 0;
  std::vector<double> gamma, beta, mean, var, scale;  // scale = gamma / sqrt(var + eps)
};

struct ModelSnapshot {
  std::string name, description;  // description: source, input shape, candidate
  std::string input_shape;
  std::int64_t parameters = 0, flops = 0;
  std::vector<NodeRow> reference, candidate;
  workbench::ModelSource source;
  std::string candidate_name;
  workbench::Candidate candidate_choice;
  std::uint64_t activation_bytes_reference = 0, activation_bytes_candidate = 0;
  std::vector<BatchNormInfo> batchnorms;
};

// A picture made by the colormap kernel, living in device memory until the renderer copies it.
struct Picture {
  std::shared_ptr<gpu::Buffer> rgba;  // width*height packed RGBA8 words
  int width = 0, height = 0;
  ops::ColormapParams params;
  std::uint64_t id = 0;  // unique per picture: the renderer re-uploads when it changes
};

struct ChannelStats {
  double min = 0, max = 0, mean = 0, std = 0;
};

// The selected tensor: reference and candidate values (for hovering, stats and plots) and
// their pictures, on one shared scale.
struct TensorSnapshot {
  std::string layer;
  ops::Shape shape;
  std::string note;  // why something is missing ("not computed yet: step to it")
  bool reference_ready = false, candidate_ready = false, candidate_exists = false;
  std::vector<float> reference_values, candidate_values;  // NCHW, batch item 0 .. all
  std::vector<ChannelStats> stats;          // reference, per channel
  std::vector<double> channel_rel_l2;       // candidate vs reference, per channel
  std::vector<std::int64_t> histogram;      // reference values over [lo, hi]
  double lo = 0, hi = 0;                    // the shared colour scale
  ops::ColorMap map = ops::ColorMap::sequential;
  double diff_max = 0;                      // scale of the |difference| picture
  // The grid: channels [channel_begin, channel_begin + channel_count) in grid_columns columns;
  // channel >= 0: that channel alone, enlarged.
  std::int64_t channel_begin = 0, channel_count = 0, grid_columns = 1, channel = -1;
  std::int64_t tile_height = 1, tile_width = 1, gap = 1;  // in picture pixels
  Picture reference, candidate, difference;
  std::optional<workbench::LayerDetail> detail;
};

// A RepVGG block the candidate merged: each branch's BN-folded kernel and their merged sum as
// small pictures (the first 8 output x 8 input channels, 3x3 each), on one diverging scale.
struct RepvggSnapshot {
  std::string node;                 // the candidate conv the block became
  std::int64_t out_channels = 0, in_channels_per_group = 0;
  std::int64_t shown_out = 0, shown_in = 0;
  double scale = 1;                 // the pictures map [-scale, scale]
  std::vector<std::string> labels;  // the branches, then "merged"
  std::vector<Picture> pictures;
};

// The shader sandbox: the kernel behind the selected tensor's candidate node, and the user's edit
// of it. Edits run in the candidate only (the reference keeps the built-in kernels), so every
// panel's candidate numbers are the edit's.
struct KernelSnapshot {
  std::string value;  // the selected reference value
  std::string node;   // the candidate node computing it; "" when there is none (note says why)
  std::string note;
  std::vector<gpu::DispatchRecord> dispatches;  // what the node dispatches, in order
  std::string shader;          // the built-in kernel (variant) its dispatches run: "conv2d_subgroup_f16s"
  std::string builtin_source;  // that kernel's GLSL, as the binary embeds it
  std::string edit_source, edit_file;  // the edit running on this node ("": the built-in kernel)
  // The last attempt on this node that failed (compile, interface or pipeline error): its
  // message and compiler diagnostics. The kernel that ran before it is still running.
  std::string failure;
  std::vector<gpu::GlslDiagnostic> errors;
  std::optional<workbench::KernelOverrideCheck> verdict;  // of the edit running
  // Bumped whenever the source running on a node changes (an edit applied, a revert): the
  // editor then shows what runs.
  std::uint64_t generation = 0;
  std::size_t edits = 0;  // nodes running an edit, in the whole network
};

struct TimingSnapshot {
  std::vector<double> reference_ms, candidate_ms;  // per node, from the last run
  double reference_total_ms = 0, candidate_total_ms = 0;
  std::size_t reference_dispatches = 0, candidate_dispatches = 0;
};

// Requests (what the UI asks for) start here: the load first, because a Snapshot can offer one.
struct LoadRequest {
  workbench::ModelSource source;
  std::string candidate = "folded-float64";  // workbench::standard_candidates() name
  graph::Layout layout = graph::Layout::nchw;
  ops::Precision reference_precision = ops::Precision::fp32;
  // --algorithm and --autotune, as run and compare take them: every conv of both networks (a
  // candidate that names its own algorithm keeps it).
  ops::ConvAlgorithm conv_algorithm = ops::ConvAlgorithm::automatic;
  bool autotune = false;
  bool oracle = true;
};

// A load the device may have room for, offered after one ran out of device memory: the same
// request with a smaller input or 16-bit storage. `label` is the button's text ("input 16x64").
struct LoadOffer {
  std::string label;
  LoadRequest request;
};

struct Snapshot {
  std::uint64_t version = 0;
  bool busy = false;
  std::string stage;        // what the worker is doing
  double progress = 0;      // 0..1 of the current request
  double busy_seconds = 0;  // how long the current request has been running
  std::size_t pending = 0;  // requests waiting
  std::vector<LogLine> log;
  std::string device;
  std::shared_ptr<const ModelSnapshot> model;                 // null: nothing loaded yet
  std::shared_ptr<const workbench::StudyReport> report;       // the study of the loaded model
  std::shared_ptr<const TensorSnapshot> tensor;               // the selected tensor
  std::shared_ptr<const TimingSnapshot> timing;
  std::shared_ptr<const RepvggSnapshot> repvgg;               // the selected layer's block, if any
  std::shared_ptr<const KernelSnapshot> kernel;               // the selected layer's kernel
  std::size_t position = 0;            // reference nodes executed since reset
  std::size_t candidate_position = 0;  // candidate nodes executed
  std::string selected;                // the selected reference value ("" none)
  std::uint64_t requests_done = 0;     // requests finished (ok or failed) since the start
  std::uint64_t requests_failed = 0;
  std::uint64_t requests_bad_input = 0;  // of those failed, how many for bad input
  // The last load ran out of device memory (the previous model, if any, stays loaded): what to
  // try instead, each the failed request made smaller. Empty otherwise; the next load clears
  // it as it starts (an offer taken, or any other).
  std::string out_of_memory;          // the failed model, as the user named it
  std::vector<LoadOffer> smaller_loads;
};

// What the UI asks for.
struct ResetRequest {};
struct StepRequest {
  std::size_t nodes = 1;
};
struct BlockRequest {};
struct RunToRequest {
  std::string node;  // reference node name
};
struct RunAllRequest {};
struct SelectRequest {
  std::string value;         // reference value name
  std::int64_t channel = -1;  // >= 0: that channel enlarged
  std::int64_t channel_begin = 0;
};
struct CandidateRequest {
  std::string candidate;
};
// Run `source` in place of candidate node `node`'s built-in kernel (the shader sandbox): compiled,
// checked against the kernel's interface, its pipeline made, the network run through and the
// edit judged against the float64 oracle. On any error the previous kernel stays in use.
// file_name names it in messages; includes resolve beside it.
struct KernelEditRequest {
  std::string node, source, file_name;
};
// Back to the built-in kernel on `node`.
struct KernelRevertRequest {
  std::string node;
};
using Request = std::variant<LoadRequest, ResetRequest, StepRequest, BlockRequest, RunToRequest, RunAllRequest,
                             SelectRequest, CandidateRequest, KernelEditRequest, KernelRevertRequest>;

class Session {
 public:
  explicit Session(gpu::Device& device);
  ~Session();  // cancels the running request at its next node, drops the rest, joins the worker
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void post(Request request);
  // Called on the worker each time a request is done (ok or failed): the window wakes from its
  // wait for events to draw the result (Window::wake).
  void set_on_done(std::function<void()> on_done);
  // A line in the log from outside a request (the window saying it recreated a lost device).
  void note(LogLine::Level level, const std::string& text) { log(level, text); }
  Snapshot snapshot() const;
  // Called by the UI thread before it takes a frame's snapshot: when the worker is answering a
  // selection now, or will next with nothing else ahead of it, waits for that answer at most
  // `budget`, so the picture is on the very frame after the click (making a picture takes the
  // worker ~10-20 ms on lavapipe, about one frame). Never waits behind a load or a run: then the
  // picture comes when the worker gets to it.
  void await_selection(std::chrono::milliseconds budget = std::chrono::milliseconds(40));
  // Blocks until every posted request is done (scripted mode and tests); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout = std::chrono::minutes(30));

  // Channels shown at once in the grid.
  static constexpr std::int64_t kMaxGridChannels = 64;

 private:
  void loop();
  void handle(Request& request);
  void publish(const std::function<void(Snapshot&)>& change);
  void log(LogLine::Level level, const std::string& text);
  void progress(const std::string& stage, double fraction);
  void load(const LoadRequest& r);
  void advance(graph::Executor& e, std::size_t target, const std::string& stage);
  void refresh_positions();
  void refresh_timing();
  void select(const SelectRequest& r);
  void show_repvgg_block(const std::string& candidate_node);
  void show_kernel(const std::string& value);
  void edit_kernel(const KernelEditRequest& r);
  void revert_kernel(const KernelRevertRequest& r);
  // The edits running now, by node, but `except`'s.
  std::map<std::string, std::shared_ptr<const gpu::ShaderOverride>> running_edits(const std::string& except = "") const;
  // Runs the study again with the edits in place, judges each against the oracle, republishes.
  void rerun_with_edits();

  gpu::Device& device_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  mutable std::mutex mutex_;  // guards queue_, snapshot_, request_start_, stop_
  std::condition_variable wake_, idle_;
  std::deque<Request> queue_;
  Snapshot snapshot_;
  std::chrono::steady_clock::time_point request_start_;
  bool stop_ = false;
  bool running_ = false;
  bool running_select_ = false;  // the request running is a SelectRequest
  std::function<void()> on_done_;  // guarded by mutex_

  // Worker-only state (never touched by the UI thread).
  std::unique_ptr<workbench::Study> study_;
  LoadRequest loaded_;
  std::vector<int> candidate_reach_;  // per candidate node: the last reference node it needs
  std::uint64_t next_picture_id_ = 1;
  SelectRequest selected_;
  std::vector<fusion::RepvggBlockKernels> repvgg_;  // the reference's blocks, when the candidate merges them
  // The shader sandbox, per candidate node: the edit running, its verdict, the last failure.
  struct KernelEdit {
    std::shared_ptr<const gpu::ShaderOverride> running;
    std::optional<workbench::KernelOverrideCheck> verdict;
    std::string failure;
    std::vector<gpu::GlslDiagnostic> errors;
  };
  std::map<std::string, KernelEdit> kernel_edits_;
  std::uint64_t kernel_generation_ = 0;

  std::thread thread_;
};

}  // namespace fusescope::app
