#include "app/camera_session.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>

#include "fusion/passes.hpp"
#include "gpu/device.hpp"
#include "io/safetensors.hpp"
#include "vision/detector.hpp"
#include "vision/frame_source.hpp"
#include "vision/detector_model.hpp"

namespace fusescope::app {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Medians over the last kWindow frames: steady numbers a user can read while frames flow.
constexpr std::size_t kWindow = 30;

double median(std::deque<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void push(std::deque<double>& d, double v) {
  d.push_back(v);
  if (d.size() > kWindow) d.pop_front();
}

// The frame as packed RGBA words for a texture.
std::vector<std::uint8_t> rgba_of(const vision::Frame& f) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(f.width * f.height * 4));
  const bool bgr = f.order == ops::PixelOrder::bgr;
  for (std::int64_t y = 0; y < f.height; ++y) {
    const std::uint8_t* row = f.pixels.data() + y * f.stride;
    std::uint8_t* o = out.data() + y * f.width * 4;
    for (std::int64_t x = 0; x < f.width; ++x, row += 3, o += 4) {
      o[0] = bgr ? row[2] : row[0];
      o[1] = row[1];
      o[2] = bgr ? row[0] : row[2];
      o[3] = 255;
    }
  }
  return out;
}

}  // namespace

struct CameraSession::Worker {
  CameraOpenRequest request;
  std::unique_ptr<vision::FrameSource> source;
  std::unique_ptr<vision::FrameDetector> unfused, fused;
  std::string input_name;
  ops::Shape input_shape;
  std::int64_t delivered = 0;  // frames from the source since it was (re)opened
  std::deque<double> capture, preprocess, inference_unfused, inference_fused, decode, total, frame_starts;
  std::uint64_t next_picture_id = 1;
  int freezes = 0;
  std::optional<vision::Frame> last_frame;  // the one shown: thresholds moved while paused re-detect it
};

CameraSession::CameraSession(gpu::Device& device) : device_(device), worker_(std::make_unique<Worker>()) {
  thread_ = std::thread([this] { loop(); });
}

CameraSession::~CameraSession() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CameraSession::open(CameraOpenRequest request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_request_ = std::move(request);
    snapshot_.opening = true;
  }
  wake_.notify_all();
}

void CameraSession::set_paused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = paused;
    snapshot_.paused = paused;
    // A frame in hand finishes; none starts after it (its publish sees paused_ too).
    if (paused) snapshot_.running = false;
    ++snapshot_.version;
  }
  progress_.notify_all();
  wake_.notify_all();
}

void CameraSession::set_thresholds(double score, double iou) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    thresholds_ = {score, iou};
  }
  wake_.notify_all();
}

void CameraSession::freeze() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    freeze_ = true;
  }
  wake_.notify_all();
}

void CameraSession::resume() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    resume_ = true;
    paused_ = false;
  }
  wake_.notify_all();
}

CameraSnapshot CameraSession::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

bool CameraSession::wait_frames(std::int64_t frames, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return progress_.wait_for(lock, timeout, [&] {
    return !snapshot_.opening && (snapshot_.frames_done >= frames || snapshot_.ended || (!snapshot_.open && !snapshot_.error.empty()));
  });
}

void CameraSession::loop() {
  Worker& w = *worker_;
  const auto started = Clock::now();
  auto log = [&](CameraSnapshot& s, LogLine::Level level, const std::string& text) {
    s.log.push_back({level, text, std::chrono::duration<double>(Clock::now() - started).count()});
    if (s.log.size() > 200) s.log.erase(s.log.begin());
  };
  auto publish = [&](const std::function<void(CameraSnapshot&)>& change) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      change(snapshot_);
      ++snapshot_.version;
    }
    progress_.notify_all();
  };

  for (;;) {
    std::optional<CameraOpenRequest> open_request;
    std::optional<std::pair<double, double>> thresholds;
    bool freeze = false, resume = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const auto has_work = [&] {
        const CameraSnapshot& s = snapshot_;
        return stop_ || open_request_ || thresholds_ || freeze_ || resume_ ||
               (s.open && !paused_ && !s.frozen && !s.ended);
      };
      wake_.wait(lock, has_work);
      if (stop_) return;
      std::swap(open_request, open_request_);
      std::swap(thresholds, thresholds_);
      std::swap(freeze, freeze_);
      std::swap(resume, resume_);
    }

    if (open_request) {
      // A failed open leaves nothing half-open: the previous source and detectors are dropped
      // first (a camera cannot be held twice), and the error says what and why.
      w.source.reset();
      w.unfused.reset();
      w.fused.reset();
      w.last_frame.reset();
      publish([&](CameraSnapshot& s) {
        s.open = s.running = s.frozen = s.ended = false;
        s.error.clear();
        s.source = open_request->source;
        s.model = open_request->model;
        s.frames_done = 0;
        s.frame_index = -1;
        s.unfused.clear();
        s.fused.clear();
        s.match = {};
      });
      try {
        w.request = *open_request;
        vision::DetectorModel dm = vision::load_detector(w.request.model);
        if (w.request.score) dm.spec.score_threshold = *w.request.score;
        if (w.request.iou) dm.spec.iou_threshold = *w.request.iou;
        graph::Graph fused_graph = dm.graph;
        fusion::fuse_all(fused_graph);
        w.input_name = dm.graph.value(dm.graph.inputs().at(0)).name;
        w.input_shape = dm.graph.value(dm.graph.inputs().at(0)).shape;
        const std::size_t nodes_before = dm.graph.nodes().size(), nodes_after = fused_graph.nodes().size();
        w.unfused = std::make_unique<vision::FrameDetector>(device_, std::move(dm.graph), dm.spec);
        w.fused = std::make_unique<vision::FrameDetector>(device_, std::move(fused_graph), dm.spec);
        vision::FrameSourceOptions so;
        so.on_message = [&](const std::string& m) { publish([&](CameraSnapshot& s) { log(s, LogLine::Level::info, m); }); };
        w.source = vision::open_frame_source(w.request.source, so);
        w.delivered = 0;
        for (auto* d : {&w.capture, &w.preprocess, &w.inference_unfused, &w.inference_fused, &w.decode, &w.total, &w.frame_starts})
          d->clear();
        publish([&](CameraSnapshot& s) {
          s.open = true;
          s.opening = open_request_.has_value();  // another open may be waiting already
          s.source_description = w.source->describe();
          s.model_path = dm.path;
          s.model_kind = dm.kind;
          s.score_threshold = dm.spec.score_threshold;
          s.iou_threshold = dm.spec.iou_threshold;
          log(s, LogLine::Level::info,
              fmt::format("camera: {} on {}; unfused {} nodes, fused {} nodes", w.request.model, s.source_description,
                          nodes_before, nodes_after));
        });
      } catch (const std::exception& e) {
        w.source.reset();
        w.unfused.reset();
        w.fused.reset();
        const bool bad_input = dynamic_cast<const ops::InvalidArgument*>(&e) != nullptr;
        publish([&](CameraSnapshot& s) {
          s.opening = open_request_.has_value();
          s.error = e.what();
          log(s, bad_input ? LogLine::Level::bad_input : LogLine::Level::error, e.what());
        });
      }
      continue;  // commands first, then frames
    }
    if (thresholds && w.unfused) {
      for (auto* d : {w.unfused.get(), w.fused.get()}) {
        d->spec().score_threshold = thresholds->first;
        d->spec().iou_threshold = thresholds->second;
      }
      // No frame will come while paused, frozen or ended: the shown one is decoded again, so the
      // sliders act on the picture the user is looking at.
      std::optional<std::pair<vision::FrameDetections, vision::FrameDetections>> again;
      if (w.last_frame && !snapshot().running) {
        try {
          again.emplace(w.unfused->detect(*w.last_frame), w.fused->detect(*w.last_frame));
        } catch (const std::exception& e) {
          publish([&](CameraSnapshot& s) { log(s, LogLine::Level::error, e.what()); });
        }
      }
      publish([&](CameraSnapshot& s) {
        s.score_threshold = thresholds->first;
        s.iou_threshold = thresholds->second;
        if (again) {
          s.unfused = again->first.detections;
          s.fused = again->second.detections;
          s.match = vision::match_detections(s.unfused, s.fused, 0.5);
        }
      });
    }
    if (freeze && w.unfused && snapshot().frame_index >= 0) {
      try {
        // The input the preprocess kernel made of the shown frame, as the executor holds it.
        const std::vector<float> values = w.unfused->executor().read(w.input_name);
        const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                           fmt::format("fusescope-frame-{}-{}.safetensors", ::getpid(), ++w.freezes);
        const CameraSnapshot now = snapshot();
        io::write_safetensors(path, {{w.input_name, w.input_shape, values}},
                              {{"source", now.source_description},
                               {"frame_index", std::to_string(now.frame_index)},
                               {"model", now.model_path}});
        publish([&](CameraSnapshot& s) {
          s.frozen = true;
          s.running = false;
          s.frozen_input = path.string();
          ++s.frozen_version;
          log(s, LogLine::Level::info, fmt::format("frozen frame {}: its input is {}", s.frame_index, path.string()));
        });
      } catch (const std::exception& e) {
        publish([&](CameraSnapshot& s) { log(s, LogLine::Level::error, fmt::format("freeze: {}", e.what())); });
      }
    }
    if (resume) {
      // After the end of a source it starts over (opened outside the lock: a stream may take
      // its open timeout).
      std::string error;
      if (snapshot().ended && w.unfused) {
        try {
          w.source = vision::open_frame_source(w.request.source);
          w.delivered = 0;
        } catch (const std::exception& e) {
          error = e.what();
        }
      }
      publish([&](CameraSnapshot& s) {
        s.frozen = false;
        s.paused = false;
        s.ended = !error.empty();
        if (!error.empty()) {
          s.error = error;
          log(s, LogLine::Level::error, error);
        }
      });
    }
    bool go = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      go = snapshot_.open && !paused_ && !snapshot_.frozen && !snapshot_.ended && w.source;
    }
    if (!go) {
      publish([&](CameraSnapshot& s) { s.running = false; });
      continue;
    }

    // One frame through both detectors.
    try {
      const auto t0 = Clock::now();
      std::optional<vision::Frame> frame = w.source->next();
      const double capture_ms = ms_since(t0);
      if (!frame) {
        if (w.request.loop && w.delivered > 1 && !w.source->live()) {
          w.source = vision::open_frame_source(w.request.source);  // a video starts over
          w.delivered = 0;
          continue;
        }
        publish([&](CameraSnapshot& s) {
          s.ended = true;
          s.running = false;
          log(s, LogLine::Level::info, fmt::format("camera: {} ended after {} frame(s)", s.source_description, w.delivered));
        });
        continue;
      }
      ++w.delivered;
      w.last_frame = frame;
      const vision::FrameDetections a = w.unfused->detect(*frame);
      const vision::FrameDetections b = w.fused->detect(*frame);
      vision::DetectionMatch match = vision::match_detections(a.detections, b.detections, 0.5);
      const std::vector<std::uint8_t> rgba = rgba_of(*frame);
      auto buffer = std::make_shared<gpu::Buffer>(device_.allocate(rgba.size(), "camera frame"));
      device_.upload(buffer->view(), std::as_bytes(std::span<const std::uint8_t>(rgba)));
      const double total_ms = ms_since(t0);
      push(w.capture, capture_ms);
      push(w.preprocess, a.preprocess_ms);
      push(w.inference_unfused, a.inference_ms);
      push(w.inference_fused, b.inference_ms);
      push(w.decode, a.decode_ms);
      push(w.total, total_ms);
      push(w.frame_starts, std::chrono::duration<double>(t0 - started).count());
      const double span = w.frame_starts.size() > 1 ? w.frame_starts.back() - w.frame_starts.front() : 0;
      publish([&](CameraSnapshot& s) {
        s.running = !paused_;
        s.frame.rgba = buffer;
        s.frame.width = static_cast<int>(frame->width);
        s.frame.height = static_cast<int>(frame->height);
        s.frame.id = w.next_picture_id++;
        s.frame_index = frame->index;
        s.timestamp_s = frame->timestamp_s;
        s.unfused = a.detections;
        s.fused = b.detections;
        s.match = std::move(match);
        ++s.frames_done;
        s.dropped = w.source->dropped();
        s.fps = span > 0 ? static_cast<double>(w.frame_starts.size() - 1) / span : 0;
        s.latency = {median(w.capture), median(w.preprocess), median(w.inference_unfused),
                     median(w.inference_fused), median(w.decode), median(w.total)};
      });
    } catch (const std::exception& e) {
      // A vanished camera (SourceLost), a device error: the panel says so; the last frame stays.
      publish([&](CameraSnapshot& s) {
        s.ended = true;
        s.running = false;
        s.error = e.what();
        log(s, LogLine::Level::error, e.what());
      });
    }
  }
}

}  // namespace fusescope::app
