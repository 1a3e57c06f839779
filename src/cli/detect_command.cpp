// `fusescope detect`: frames from a source (camera, stream, video, image, folder, synthetic)
// through the GPU preprocess, the detector network (unfused or fused) and its decoder + NMS;
// one JSON line per frame (index, timestamp, per-stage latency, detections in source-frame
// pixels) to --out, written atomically at the end, and annotated PNGs with --save-frames.
// Ctrl-C (SIGINT) or SIGTERM ends the run after the frame in hand: a camera never ends by itself,
// and the lines so far are still written, whole.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "io/atomic_file.hpp"
#include "vision/annotate.hpp"
#include "vision/detector.hpp"
#include "vision/frame_source.hpp"
#include "vision/detector_model.hpp"

namespace fusescope::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted = true; }

// SIGINT and SIGTERM set g_interrupted while it lives, and are restored after.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = false;
    previous_int_ = std::signal(SIGINT, on_interrupt);
    previous_term_ = std::signal(SIGTERM, on_interrupt);
  }
  ~InterruptGuard() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

struct DetectOptions {
  std::string source;
  std::string model;
  std::string shape;
  std::string decoder;
  std::string fuse = "none";
  std::string fold = "float64";
  ExecutionOptions execution;
  std::int64_t frames = 0;
  std::optional<double> score, iou;
  std::string out;
  std::string save_frames;
};

// The directory a file will be written into must exist before any slow work.
void require_parent_dir(const std::string& path, const char* flag) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw ops::InvalidArgument(fmt::format("{} {}: directory {} does not exist", flag, path, parent.string()));
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

nlohmann::json detection_json(const vision::Detection& d) {
  nlohmann::json kps = nlohmann::json::array();
  for (const auto& k : d.keypoints) kps.push_back({k.x, k.y});
  return {{"x", d.x},        {"y", d.y},         {"w", d.w},
          {"h", d.h},        {"cx", d.cx()},     {"cy", d.cy()},
          {"class_id", d.class_id}, {"class", d.class_name}, {"score", d.score},
          {"keypoints", kps}};
}

int run_detect(const GlobalOptions& global, const DetectOptions& o) {
  // Every flag, the model and the source are checked before the device starts or a file is
  // written; a bad one is exit 2 with nothing on disk.
  const FuseMode fuse_mode = parse_fuse_mode(o.fuse);
  const fusion::FoldPrecision fold = parse_fold_precision(o.fold);
  const graph::ExecutorOptions eo = executor_options(o.execution);
  if (o.frames < 0) throw ops::InvalidArgument(fmt::format("--frames {}: expected 0 (all) or more", o.frames));
  if (o.score && (*o.score < 0 || *o.score > 1)) throw ops::InvalidArgument(fmt::format("--score {}: expected 0..1", *o.score));
  if (o.iou && (*o.iou < 0 || *o.iou > 1)) throw ops::InvalidArgument(fmt::format("--iou {}: expected 0..1", *o.iou));
  if (!o.out.empty()) require_parent_dir(o.out, "-o");
  if (!o.save_frames.empty() && !fs::is_directory(o.save_frames))
    throw ops::InvalidArgument(fmt::format("--save-frames {}: no such directory", o.save_frames));

  vision::FrameSourceOptions so;
  if (o.frames > 0) so.max_frames = o.frames;  // synthetic: finite
  std::unique_ptr<vision::FrameSource> source = vision::open_frame_source(o.source, so);

  vision::DetectorModel dm =
      vision::load_detector(o.model, o.shape.empty() ? std::nullopt : std::optional(workbench::parse_shape(o.shape)), o.decoder);
  graph::Graph& g = dm.graph;
  vision::DetectorSpec& spec = dm.spec;
  if (o.score) spec.score_threshold = *o.score;
  if (o.iou) spec.iou_threshold = *o.iou;

  fusion::FusionReport report;
  graph::Graph f = fused_copy(g, fuse_mode, fold, &report);
  gpu::Device device(device_options(global));
  vision::FrameDetector detector(device, std::move(f), spec, eo);
  fmt::print("detect: {} on {}; model {} ({}, {} nodes{}), fuse {}, precision {}, layout {}, "
             "score >= {}, IoU {}; device {}\n",
             o.model, source->describe(), dm.path, dm.kind,
             detector.executor().graph().nodes().size(),
             report.nodes_before && report.nodes_before != detector.executor().graph().nodes().size()
                 ? fmt::format(" fused from {}", report.nodes_before)
                 : "",
             o.fuse,
             o.execution.precision, o.execution.layout, spec.score_threshold, spec.iou_threshold, device.info().name);

  std::vector<double> capture, preprocess, inference, decode, total;
  std::int64_t frames = 0, detections = 0;
  const auto run_start = Clock::now();
  const InterruptGuard interrupt_guard;
  // Lines go to the temporary as they come (a camera runs for hours: held in memory they grew
  // RSS by ~1.6 KiB a frame in the soak) and the file appears whole at the end. Made after the
  // guard, so Ctrl-C stops the loop and the lines so far are committed.
  std::optional<io::AtomicFileWriter> out;
  if (!o.out.empty()) out.emplace(o.out);
  while ((o.frames == 0 || frames < o.frames) && !g_interrupted) {
    const auto t0 = Clock::now();
    std::optional<vision::Frame> frame = source->next();
    const double capture_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!frame) break;
    const vision::FrameDetections r = detector.detect(*frame);
    const double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    capture.push_back(capture_ms);
    preprocess.push_back(r.preprocess_ms);
    inference.push_back(r.inference_ms);
    decode.push_back(r.decode_ms);
    total.push_back(total_ms);
    nlohmann::json line = {{"index", frame->index},
                           {"timestamp", frame->timestamp_s},
                           {"width", frame->width},
                           {"height", frame->height},
                           {"latency_ms",
                            {{"capture", capture_ms},
                             {"upload_preprocess", r.preprocess_ms},
                             {"inference", r.inference_ms},
                             {"decode_nms", r.decode_ms},
                             {"total", total_ms}}},
                           {"dropped", source->dropped()},
                           {"detections", nlohmann::json::array()}};
    for (const auto& d : r.detections) line["detections"].push_back(detection_json(d));
    if (out) {
      const std::string text = line.dump() + "\n";
      out->write(text.data(), text.size());
    }
    detections += static_cast<std::int64_t>(r.detections.size());
    if (!o.save_frames.empty()) {
      const std::vector<std::uint8_t> png = vision::frame_png(vision::draw_detections(*frame, r.detections));
      write_file_atomically((fs::path(o.save_frames) / fmt::format("frame_{:06d}.png", frame->index)).string(), png);
    }
    ++frames;
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - run_start).count();
  if (g_interrupted) fmt::print("detect: interrupted after {} frame(s); writing what was detected\n", frames);
  // --validation: any message fails the command, and nothing is written.
  if (global.validation && !device.validation_messages().empty()) {
    for (const auto& m : device.validation_messages()) fmt::print(stderr, "{}\n", m);
    fmt::print(stderr, "detect: the validation layer reported {} message(s)\n", device.validation_messages().size());
    return 1;
  }
  if (out) out->commit();
  fmt::print("{} frames, {} detections, {} dropped, {:.1f} FPS end to end\n", frames, detections, source->dropped(),
             wall_s > 0 ? static_cast<double>(frames) / wall_s : 0.0);
  fmt::print("median ms: capture {:.2f}, upload+preprocess {:.2f}, inference {:.2f}, decode+NMS {:.2f}, total {:.2f}\n",
             median(capture), median(preprocess), median(inference), median(decode), median(total));
  if (!o.out.empty()) fmt::print("wrote {} line(s) to {}\n", frames, o.out);
  return 0;
}

}  // namespace

void add_detect_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto o = std::make_shared<DetectOptions>();
  CLI::App* cmd = app.add_subcommand("detect", "Detect objects in camera, video, image or synthetic frames");
  cmd->add_option("--source", o->source, "camera:N, /dev/videoN, an rtsp/http URL, a video or image file, a folder of images, or synthetic")
      ->required();
  cmd->add_option("--model", o->model, "blazeface-front, blazeface-back, dpn-shapes, or MODEL.onnx (BlazeFace-shaped, or any with --decoder)")
      ->required();
  cmd->add_option("--decoder", o->decoder, "A YOLO-style decoder config (JSON; see README.md) for MODEL.onnx or dpn-shapes");
  cmd->add_option("--shape", o->shape, "NxCxHxW (or NxHxWxC): an ONNX model's input shape when it has dynamic dims");
  cmd->add_option("--fuse", o->fuse, "none, bn, all or runtime (BN in conv epilogues, weights untouched)")->capture_default_str();
  cmd->add_option("--fold", o->fold, "float64 or float32 (PyTorch's order) BN folding")->capture_default_str();
  add_execution_options(cmd, o->execution);
  cmd->add_option("--frames", o->frames, "Stop after N frames (0: when the source ends)")->capture_default_str();
  cmd->add_option("--score", o->score, "Score threshold (default: the model's; BlazeFace front 0.75, back 0.65; a decoder config's)");
  cmd->add_option("--iou", o->iou, "IoU above which boxes are merged/suppressed (default: the model's; BlazeFace 0.3)");
  add_output_option(cmd, o->out, "Write one JSON line per frame to this file (docs/detect.schema.json; atomically at the end, Ctrl-C included)",
                    {"--out"});
  cmd->add_option("--save-frames", o->save_frames, "Write annotated frames as PNGs into this existing directory");
  cmd->callback([&global, &exit_code, o] { exit_code = run_detect(global, *o); });
}

}  // namespace fusescope::cli
