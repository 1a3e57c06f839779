#include "vision/frame_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include <glm/common.hpp>
#include <glm/geometric.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "io/image.hpp"
#include "io/safetensors.hpp"  // FormatError

namespace fusescope::vision {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

void report(const FrameSourceOptions& o, const std::string& message) {
  if (o.on_message) {
    o.on_message(message);
  } else {
    std::fprintf(stderr, "%s\n", message.c_str());
  }
}

// A decoded OpenCV picture as a packed BGR Frame.
Frame to_frame(const cv::Mat& mat, const std::string& what) {
  if (mat.empty() || mat.type() != CV_8UC3) {
    throw SourceError(fmt::format("{}: decoded picture is not 8-bit 3-channel (OpenCV type {})", what, mat.type()));
  }
  Frame f;
  f.width = mat.cols;
  f.height = mat.rows;
  f.order = ops::PixelOrder::bgr;
  f.stride = f.width * 3;
  f.pixels.resize(static_cast<std::size_t>(f.stride * f.height));
  for (int y = 0; y < mat.rows; ++y) {
    std::copy_n(mat.ptr<std::uint8_t>(y), f.stride, f.pixels.data() + static_cast<std::size_t>(y) * f.stride);
  }
  return f;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_image_path(const fs::path& p) {
  static const char* const kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
                                            ".webp", ".pgm", ".ppm", ".pnm", ".pbm"};
  const std::string ext = lower(p.extension().string());
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

// ---- synthetic ----

double bounce(double x, double range) {
  if (range <= 0) return 0;
  double m = std::fmod(x, 2 * range);
  if (m < 0) m += 2 * range;
  return m <= range ? m : 2 * range - m;
}

struct ShapeMotion {
  SyntheticShapeKind kind;
  glm::dvec2 size, start, velocity;  // pixels, pixels per frame
  std::uint8_t bgr[3];
};

std::vector<ShapeMotion> synthetic_motions(const FrameSourceOptions& o) {
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const glm::dvec2 frame(static_cast<double>(o.width), static_cast<double>(o.height));
  const double small = std::min(frame.x, frame.y);
  std::vector<ShapeMotion> shapes(4);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    ShapeMotion& s = shapes[i];
    s.kind = static_cast<SyntheticShapeKind>(i % 3);
    s.size = glm::max(glm::dvec2(1.0), glm::dvec2(small * (0.15 + 0.15 * unit(rng)), small * (0.15 + 0.15 * unit(rng))));
    s.size = glm::min(s.size, frame);
    s.start = glm::dvec2(unit(rng), unit(rng)) * (frame - s.size);
    // 0.5..2% of the frame per frame in each direction, either sign: visible motion at any size.
    auto speed = [&](double len) { return (unit(rng) < 0.5 ? -1 : 1) * len * (0.005 + 0.015 * unit(rng)); };
    s.velocity = {speed(frame.x) + 0.5, speed(frame.y) + 0.5};
    // Saturated colours far from the dark background: one channel high, one low, one anywhere.
    std::uint8_t c[3] = {static_cast<std::uint8_t>(200 + 55 * unit(rng)), static_cast<std::uint8_t>(40 * unit(rng)),
                         static_cast<std::uint8_t>(255 * unit(rng))};
    std::shuffle(std::begin(c), std::end(c), rng);
    std::copy(std::begin(c), std::end(c), s.bgr);
  }
  return shapes;
}

void check_synthetic(const FrameSourceOptions& o) {
  if (o.width < 1 || o.height < 1 || o.width > 16384 || o.height > 16384) {
    throw SourceError(fmt::format("synthetic: frame size {}x{}, expected 1..16384 per side", o.width, o.height));
  }
  if (!(o.fps > 0) || !std::isfinite(o.fps)) {
    throw SourceError(fmt::format("synthetic: fps = {}, expected a positive number", o.fps));
  }
}

class SyntheticSource final : public FrameSource {
 public:
  explicit SyntheticSource(const FrameSourceOptions& o) : options_(o), opened_(Clock::now()) { check_synthetic(o); }

  std::optional<Frame> next() override {
    std::int64_t index = next_index_;
    if (options_.realtime) {
      // The frame the clock is at; wait for the next one if the consumer is early.
      const double elapsed = std::chrono::duration<double>(Clock::now() - opened_).count();
      const auto now_index = static_cast<std::int64_t>(std::floor(elapsed * options_.fps));
      if (now_index < index) {
        std::this_thread::sleep_until(opened_ + std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(index / options_.fps)));
      } else {
        dropped_ += now_index - index;
        index = now_index;
      }
    }
    if (options_.max_frames >= 0 && index >= options_.max_frames) return std::nullopt;
    next_index_ = index + 1;
    return synthetic_frame(options_, index);
  }
  std::int64_t dropped() const override { return dropped_; }
  bool live() const override { return options_.realtime; }
  std::string describe() const override {
    return fmt::format("synthetic {}x{} seed {} at {} fps{}", options_.width, options_.height, options_.seed,
                       options_.fps, options_.realtime ? " (real time)" : "");
  }

 private:
  FrameSourceOptions options_;
  Clock::time_point opened_;
  std::int64_t next_index_ = 0, dropped_ = 0;
};

// ---- files ----

class VideoFileSource final : public FrameSource {
 public:
  VideoFileSource(const std::string& path, const FrameSourceOptions& o) : path_(path) {
    (void)o;
    if (!capture_.open(path, cv::CAP_FFMPEG) || !capture_.isOpened()) {
      throw SourceError(fmt::format("{}: not a video or image file OpenCV can read (FFmpeg could not open it; "
                                    "images are recognised by extension)",
                                    path));
    }
    fps_ = capture_.get(cv::CAP_PROP_FPS);
    // Decode the first frame now, so a file FFmpeg opens but cannot decode fails here, not later.
    pending_ = read_one();
    if (!pending_) throw SourceError(fmt::format("{}: opened as a video, but no frame could be decoded", path));
  }

  std::optional<Frame> next() override {
    if (pending_) {
      std::optional<Frame> f = std::move(pending_);
      pending_.reset();
      return f;
    }
    return read_one();
  }
  bool live() const override { return false; }
  std::string describe() const override {
    return fmt::format("video file {} ({} fps)", path_, fps_);
  }

 private:
  std::optional<Frame> read_one() {
    cv::Mat mat;
    if (!capture_.read(mat) || mat.empty()) return std::nullopt;
    Frame f = to_frame(mat, path_);
    f.index = index_++;
    // The decoder's presentation time; where a container gives none (or not increasing), the
    // nominal index / fps.
    const double pos_ms = capture_.get(cv::CAP_PROP_POS_MSEC);
    const double nominal = fps_ > 0 ? static_cast<double>(f.index) / fps_ : static_cast<double>(f.index);
    f.timestamp_s = pos_ms >= 0 && (f.index == 0 || pos_ms / 1000.0 > last_ts_) ? pos_ms / 1000.0 : nominal;
    last_ts_ = f.timestamp_s;
    return f;
  }

  std::string path_;
  cv::VideoCapture capture_;
  double fps_ = 0;
  double last_ts_ = -1;
  std::int64_t index_ = 0;
  std::optional<Frame> pending_;
};

class ImageListSource final : public FrameSource {
 public:
  ImageListSource(std::vector<fs::path> files, std::string what, const FrameSourceOptions& o)
      : files_(std::move(files)), what_(std::move(what)), fps_(o.fps > 0 ? o.fps : 30.0) {
    // The first image is decoded now, so an undecodable single image fails at open.
    if (!files_.empty()) pending_ = load(0);
  }
  std::optional<Frame> next() override {
    if (pending_) {
      std::optional<Frame> f = std::move(pending_);
      pending_.reset();
      next_ = 1;
      return f;
    }
    if (next_ >= files_.size()) return std::nullopt;
    return load(next_++);
  }
  bool live() const override { return false; }
  std::string describe() const override { return what_; }

 private:
  Frame load(std::size_t i) {
    const std::string path = files_[i].string();
    try {
      io::check_image_dimensions(path);  // before OpenCV allocates what the header declares
    } catch (const io::FormatError& e) {
      throw SourceError(e.what());
    }
    const cv::Mat mat = cv::imread(path, cv::IMREAD_COLOR);
    if (mat.empty()) throw SourceError(fmt::format("{}: not an image OpenCV can decode", path));
    Frame f = to_frame(mat, path);
    f.index = static_cast<std::int64_t>(i);
    f.timestamp_s = static_cast<double>(i) / fps_;
    return f;
  }
  std::vector<fs::path> files_;
  std::string what_;
  double fps_;
  std::size_t next_ = 0;
  std::optional<Frame> pending_;
};

// ---- live: cameras and streams ----

// What the capture thread and the consumer share. The thread owns its VideoCapture; if it is
// ever stuck inside OpenCV past the deadlines, the consumer detaches it and this state outlives
// both.
struct LiveState {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Frame> latest;  // newest undelivered frame
  std::int64_t captured = 0, dropped = 0, reopens = 0;
  bool opened = false, open_failed = false, stop = false, exited = false;
};

class LiveSource final : public FrameSource {
 public:
  // open() runs on the capture thread and returns false when the source cannot be opened.
  using Opener = std::function<bool(cv::VideoCapture&)>;

  LiveSource(std::string what, Opener open, const FrameSourceOptions& o, const std::string& open_failure)
      : what_(std::move(what)), options_(o), state_(std::make_shared<LiveState>()) {
    const auto state = state_;
    const std::string name = what_;
    const FrameSourceOptions options = options_;
    thread_ = std::thread([state, open, name, options] { capture_loop(*state, open, name, options); });
    std::unique_lock lock(state_->m);
    const bool answered = state_->cv.wait_for(lock, options_.open_timeout,
                                              [&] { return state_->opened || state_->open_failed; });
    if (!answered || state_->open_failed) {
      state_->stop = true;
      lock.unlock();
      // Still inside OpenCV's open: do not wait for it (it keeps its own share of the state).
      if (!answered) thread_.detach(); else finish_thread();
      if (!answered) {
        throw SourceError(fmt::format("{}: did not open within {:.1f} s ({})", what_, seconds(options_.open_timeout),
                                      open_failure));
      }
      throw SourceError(fmt::format("{}: {}", what_, open_failure));
    }
  }
  ~LiveSource() override {
    {
      std::lock_guard lock(state_->m);
      state_->stop = true;
    }
    state_->cv.notify_all();
    finish_thread();
  }

  std::optional<Frame> next() override {
    std::unique_lock lock(state_->m);
    if (!state_->cv.wait_for(lock, options_.retry_timeout, [&] { return state_->latest.has_value(); })) {
      throw SourceLost(fmt::format("{}: no frame for {:.1f} s (the camera disappeared or the stream stalled; "
                                   "reopened {} times); giving up",
                                   what_, seconds(options_.retry_timeout), state_->reopens));
    }
    std::optional<Frame> f = std::move(state_->latest);
    state_->latest.reset();
    return f;
  }
  std::int64_t dropped() const override {
    std::lock_guard lock(state_->m);
    return state_->dropped;
  }
  bool live() const override { return true; }
  std::string describe() const override { return what_; }

 private:
  static void capture_loop(LiveState& s, const Opener& open, const std::string& name, const FrameSourceOptions& o) {
    cv::VideoCapture capture;
    const bool ok = open(capture) && capture.isOpened();
    {
      std::lock_guard lock(s.m);
      (ok ? s.opened : s.open_failed) = true;
    }
    s.cv.notify_all();
    const Clock::time_point start = Clock::now();
    cv::Mat mat;
    bool reported = false;
    while (ok) {
      {
        std::lock_guard lock(s.m);
        if (s.stop) break;
      }
      if (capture.isOpened() && capture.read(mat) && !mat.empty() && mat.type() == CV_8UC3) {
        Frame f = to_frame(mat, name);
        f.timestamp_s = std::chrono::duration<double>(Clock::now() - start).count();
        std::lock_guard lock(s.m);
        f.index = s.captured++;
        if (s.latest) ++s.dropped;  // the consumer never took the previous one: it is stale now
        s.latest = std::move(f);
        s.cv.notify_all();
        if (reported) report(o, fmt::format("{}: frames again", name));
        reported = false;
        continue;
      }
      // Lost: say so once per attempt and reopen after a short pause (next() gives up on its own
      // deadline; this loop only stops when told to).
      if (!reported) report(o, fmt::format("{}: no frame (disconnected or stalled); reopening", name));
      reported = true;
      capture.release();
      {
        std::unique_lock lock(s.m);
        ++s.reopens;
        if (s.cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return s.stop; })) break;
      }
      open(capture);
    }
    std::lock_guard lock(s.m);
    s.exited = true;
    s.cv.notify_all();
  }

  void finish_thread() {
    if (!thread_.joinable()) return;
    std::unique_lock lock(state_->m);
    const bool exited = state_->cv.wait_for(lock, std::chrono::seconds(2), [&] { return state_->exited; });
    lock.unlock();
    // A thread stuck inside OpenCV (a stream without a read timeout) is left to finish on its own:
    // it holds its own share of the state.
    if (exited) {
      thread_.join();
    } else {
      thread_.detach();
    }
  }

  std::string what_;
  FrameSourceOptions options_;
  std::shared_ptr<LiveState> state_;
  std::thread thread_;
};

std::unique_ptr<FrameSource> open_camera(const std::string& spec, const std::string& device, int index,
                                         const FrameSourceOptions& o) {
  if (!fs::exists(device)) {
    throw SourceError(fmt::format("{}: no camera at index {} ({} does not exist)", spec, index, device));
  }
  auto open = [device](cv::VideoCapture& c) { return c.open(device, cv::CAP_V4L2); };
  return std::make_unique<LiveSource>(fmt::format("camera {} ({})", index, device), open, o,
                                      fmt::format("{} exists but could not be opened as a V4L2 capture device (busy, "
                                                  "no permission, or not a camera)",
                                                  device));
}

std::unique_ptr<FrameSource> open_stream(const std::string& url, const FrameSourceOptions& o) {
  const int open_ms = static_cast<int>(o.open_timeout.count());
  const int read_ms = static_cast<int>(o.retry_timeout.count());
  auto open = [url, open_ms, read_ms](cv::VideoCapture& c) {
    return c.open(url, cv::CAP_FFMPEG,
                  std::vector<int>{cv::CAP_PROP_OPEN_TIMEOUT_MSEC, open_ms, cv::CAP_PROP_READ_TIMEOUT_MSEC, read_ms});
  };
  return std::make_unique<LiveSource>(fmt::format("stream {}", url), open, o,
                                      "OpenCV's FFmpeg backend could not open it (host unreachable, connection "
                                      "refused, no such stream, or a format FFmpeg cannot read)");
}

}  // namespace

std::vector<SyntheticShape> synthetic_scene(const FrameSourceOptions& o, std::int64_t index) {
  check_synthetic(o);
  const glm::dvec2 frame(static_cast<double>(o.width), static_cast<double>(o.height));
  std::vector<SyntheticShape> scene;
  for (const ShapeMotion& m : synthetic_motions(o)) {
    SyntheticShape s;
    s.kind = m.kind;
    const glm::dvec2 p = m.start + m.velocity * static_cast<double>(index);
    s.box.origin = {bounce(p.x, frame.x - m.size.x), bounce(p.y, frame.y - m.size.y)};
    s.box.size = m.size;
    std::copy(std::begin(m.bgr), std::end(m.bgr), s.bgr);
    scene.push_back(s);
  }
  return scene;
}

Frame synthetic_frame(const FrameSourceOptions& o, std::int64_t index) {
  const std::vector<SyntheticShape> scene = synthetic_scene(o, index);
  Frame f;
  f.width = o.width;
  f.height = o.height;
  f.stride = o.width * 3;
  f.index = index;
  f.timestamp_s = static_cast<double>(index) / o.fps;
  f.pixels.resize(static_cast<std::size_t>(f.stride * f.height));
  // A dark diagonal gradient, tinted by the seed, so every pixel has a known non-shape value.
  const int tint = static_cast<int>(o.seed % 24);
  for (std::int64_t y = 0; y < f.height; ++y) {
    for (std::int64_t x = 0; x < f.width; ++x) {
      std::uint8_t* px = f.pixels.data() + y * f.stride + x * 3;
      const int g = static_cast<int>(40 * (x + y) / std::max<std::int64_t>(1, f.width + f.height - 2));
      px[0] = static_cast<std::uint8_t>(20 + g);
      px[1] = static_cast<std::uint8_t>(20 + g / 2 + tint);
      px[2] = static_cast<std::uint8_t>(20 + g / 3);
    }
  }
  for (const SyntheticShape& s : scene) {
    const glm::dvec2 lo = s.box.origin, hi = s.box.origin + s.box.size, centre = lo + s.box.size * 0.5;
    const auto x0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(lo.x)));
    const auto y0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(lo.y)));
    const auto x1 = std::min<std::int64_t>(f.width, static_cast<std::int64_t>(std::ceil(hi.x)));
    const auto y1 = std::min<std::int64_t>(f.height, static_cast<std::int64_t>(std::ceil(hi.y)));
    for (std::int64_t y = y0; y < y1; ++y) {
      for (std::int64_t x = x0; x < x1; ++x) {
        const glm::dvec2 c(static_cast<double>(x) + 0.5, static_cast<double>(y) + 0.5);  // pixel centre
        if (c.x < lo.x || c.x >= hi.x || c.y < lo.y || c.y >= hi.y) continue;
        bool in = true;
        if (s.kind == SyntheticShapeKind::ellipse) {
          const glm::dvec2 d = (c - centre) / (s.box.size * 0.5);
          in = d.x * d.x + d.y * d.y <= 1.0;
        } else if (s.kind == SyntheticShapeKind::triangle) {
          // Apex at the top centre, base along the bottom edge.
          in = std::abs(c.x - centre.x) <= 0.5 * s.box.size.x * (c.y - lo.y) / s.box.size.y;
        }
        if (in) std::copy(std::begin(s.bgr), std::end(s.bgr), f.pixels.data() + y * f.stride + x * 3);
      }
    }
  }
  return f;
}

std::unique_ptr<FrameSource> open_frame_source(const std::string& spec, const FrameSourceOptions& options) {
  if (spec.empty()) {
    throw SourceError("frame source: empty spec; expected camera:N, /dev/videoN, a URL, a video or image file, a "
                      "folder of images, or synthetic");
  }
  if (spec == "synthetic") return std::make_unique<SyntheticSource>(options);
  if (spec.rfind("camera:", 0) == 0) {
    const std::string n = spec.substr(7);
    if (n.empty() || n.size() > 6 || !std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c); })) {
      throw SourceError(fmt::format("{}: expected camera:N with N a camera index (0, 1, ...)", spec));
    }
    const int index = std::stoi(n);
    return open_camera(spec, fmt::format("/dev/video{}", index), index, options);
  }
  if (spec.rfind("/dev/video", 0) == 0) {
    const std::string n = spec.substr(10);
    const bool numbered = !n.empty() && n.size() <= 6 &&
                          std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c); });
    return open_camera(spec, spec, numbered ? std::stoi(n) : -1, options);
  }
  if (spec.find("://") != std::string::npos) return open_stream(spec, options);

  std::error_code ec;
  const fs::path path(spec);
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw SourceError(fmt::format("{}: no such file or directory", spec));
  if (fs::is_directory(status)) {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file() && is_image_path(e.path())) files.push_back(e.path());
    }
    if (ec) throw SourceError(fmt::format("{}: cannot list the folder: {}", spec, ec.message()));
    if (files.empty()) {
      throw SourceError(fmt::format("{}: the folder holds no image files (png, jpg, jpeg, bmp, tif, tiff, webp, pgm, "
                                    "ppm, pnm)",
                                    spec));
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
    const std::string what = fmt::format("folder {} ({} images)", spec, files.size());
    return std::make_unique<ImageListSource>(std::move(files), what, options);
  }
  if (is_image_path(path)) {
    return std::make_unique<ImageListSource>(std::vector<fs::path>{path}, fmt::format("image {}", spec), options);
  }
  return std::make_unique<VideoFileSource>(spec, options);
}

Frame frame_of(io::Image image) {
  Frame f;
  f.width = image.width;
  f.height = image.height;
  f.order = ops::PixelOrder::rgb;
  f.stride = image.width * 3;
  f.pixels = std::move(image.pixels);
  return f;
}

}  // namespace fusescope::vision
