// CameraSession: the camera panel's worker. Frames from a vision::FrameSource go through the
// same detector twice — unfused and fused (fusion::fuse_all) — on the window's device; each
// frame's two sets of detections are matched (vision::match_detections) so the panel can show
// what fusion changed on live frames. Like Session, the UI thread only posts commands and reads
// snapshots; the worker owns the source, the detectors and every device call.
//
// Freezing keeps the current frame and writes the detector's input tensor for it (what the
// preprocess kernel made of the frame) to a safetensors file, which the window hands to the
// stepper as a LoadRequest's input: the user walks the detector layer by layer on that frame.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/session.hpp"
#include "vision/detection.hpp"
#include "vision/detection_match.hpp"

namespace fusescope::gpu {
class Device;
}

namespace fusescope::app {

// Per-stage latency, milliseconds (medians over the last frames).
struct CameraLatency {
  double capture = 0, preprocess = 0, inference_unfused = 0, inference_fused = 0, decode = 0, total = 0;
};

struct CameraSnapshot {
  std::uint64_t version = 0;
  bool open = false;      // a source and detector are loaded
  bool running = false;   // frames are flowing (not paused, frozen or ended)
  bool paused = false, frozen = false, ended = false;
  bool opening = false;   // an open was asked for and has not finished (ok or failed) yet
  std::string source, source_description;  // as asked, and as the source describes itself
  std::string model, model_path, model_kind;
  std::string error;      // the last failure (open, a lost camera), shown in the panel
  std::vector<LogLine> log;
  // The frame shown: RGBA in device memory (the renderer uploads it), and what came with it.
  Picture frame;
  std::int64_t frame_index = -1;
  double timestamp_s = 0;
  std::vector<vision::Detection> unfused, fused;  // source-frame pixels, best first
  vision::DetectionMatch match;                   // unfused = a, fused = b
  std::int64_t frames_done = 0, dropped = 0;
  double fps = 0;  // end to end, over the last frames
  CameraLatency latency;
  double score_threshold = 0, iou_threshold = 0;
  std::string frozen_input;  // the safetensors file of the frozen frame's input ("" none)
  std::uint64_t frozen_version = 0;  // bumps with each freeze, so the UI acts once
};

struct CameraOpenRequest {
  std::string source = "synthetic";  // vision::open_frame_source spec
  std::string model = "blazeface-front";  // vision::load_detector name or .onnx
  std::optional<double> score, iou;  // default: the detector's own
  bool loop = true;  // a video file starts over at its end (images and folders stop)
};

class CameraSession {
 public:
  explicit CameraSession(gpu::Device& device);
  ~CameraSession();  // stops the worker after the frame in hand
  CameraSession(const CameraSession&) = delete;
  CameraSession& operator=(const CameraSession&) = delete;

  void open(CameraOpenRequest request);
  void set_paused(bool paused);
  void set_thresholds(double score, double iou);
  // Keeps the current frame and writes its input tensor (snapshot().frozen_input).
  void freeze();
  void resume();  // after a freeze or the end of a source: frames flow again (a file restarts)
  CameraSnapshot snapshot() const;
  // Blocks until `frames` frames have been processed since the last open, the source ended, or
  // it failed; false on timeout. For scripted runs and tests.
  bool wait_frames(std::int64_t frames, std::chrono::milliseconds timeout = std::chrono::seconds(120));

 private:
  struct Worker;
  void loop();

  gpu::Device& device_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, progress_;
  // Commands, guarded by mutex_.
  std::optional<CameraOpenRequest> open_request_;
  std::optional<std::pair<double, double>> thresholds_;
  bool paused_ = false, freeze_ = false, resume_ = false, stop_ = false;
  CameraSnapshot snapshot_;
  std::unique_ptr<Worker> worker_;  // the worker thread's state
  std::thread thread_;
};

}  // namespace fusescope::app
