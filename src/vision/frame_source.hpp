// Frame sources: where camera frames, video frames and images come from, one interface for all
// (OpenCV's videoio and imgcodecs underneath; no OpenCV type in this header).
//
//   spec                          source
//   camera:N, /dev/videoN         a V4L2 camera (live)
//   rtsp://..., http(s)://...     a network stream (live; FFmpeg backend)
//   synthetic                     seeded moving coloured shapes, options.width x options.height
//   a directory                   its image files, sorted by name (byte-wise), one frame each
//   an image file                 one frame (by extension: png jpg jpeg bmp tif tiff webp pgm ppm pnm)
//   any other file                a video file, every frame in order
//
// Live sources (camera, stream, and synthetic with options.realtime) capture on their own pace:
// next() returns the newest frame not yet delivered, and frames the consumer was too slow for are
// dropped, not queued (dropped() counts them; frame indices jump over them). File sources
// deliver every frame in order and never drop.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/image.hpp"
#include "ops/preprocess.hpp"
#include "ops/shape.hpp"

namespace fusescope::vision {

struct Frame {
  std::int64_t width = 0, height = 0;
  ops::PixelOrder order = ops::PixelOrder::bgr;  // 3 bytes per pixel in this order (OpenCV's BGR)
  std::int64_t stride = 0;                       // bytes per row (width * 3: rows are packed)
  std::vector<std::uint8_t> pixels;              // row-major: y * stride + x * 3 + channel
  std::int64_t index = 0;     // position in the source: file frame number, or capture count (live)
  double timestamp_s = 0.0;   // file: the frame's presentation time (video) or index / fps (images);
                              // live: seconds since the source opened, at capture
};

// A decoded picture (packed RGB rows) as a frame: index 0, timestamp 0, RGB order.
Frame frame_of(io::Image image);

// A source that cannot be opened (bad spec, no such file, not a video, no camera): bad input.
class SourceError : public ops::InvalidArgument {
 public:
  using ops::InvalidArgument::InvalidArgument;
};

// A live source that stopped delivering and did not come back within the retry budget.
class SourceLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FrameSourceOptions {
  // synthetic: frame size, seed, and the frame rate its timestamps (and realtime pace) follow;
  // images in a folder get timestamps index / fps.
  std::int64_t width = 640, height = 480;
  std::uint32_t seed = 1;
  double fps = 30.0;
  std::int64_t max_frames = -1;  // synthetic: frames before the end (-1: endless)
  bool realtime = false;         // synthetic: behave like a camera (frames on the clock, dropped if late)
  // Live sources: how long opening may take, and how long a stalled or vanished source is retried
  // (reopened) before next() throws SourceLost. Neither ever blocks longer than stated.
  std::chrono::milliseconds open_timeout{5000};
  std::chrono::milliseconds retry_timeout{3000};
  // Where live sources report a stall or a reconnect; stderr when empty.
  std::function<void(const std::string&)> on_message;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame, or nullopt at the end of a file, folder or finite synthetic source. Live
  // sources wait for a new frame at most retry_timeout, retrying, then throw SourceLost.
  virtual std::optional<Frame> next() = 0;
  // Frames skipped because the consumer was slower than a live source (0 for files).
  virtual std::int64_t dropped() const { return 0; }
  virtual bool live() const = 0;
  virtual std::string describe() const = 0;  // "video file X (640x480, 25 fps)", "camera 0", ...
};

// Opens `spec` (see above). Throws SourceError naming the spec and why: no such file or
// directory, a file OpenCV cannot decode as video or image, a folder without images, no camera at
// index N, a stream that cannot be opened within options.open_timeout.
std::unique_ptr<FrameSource> open_frame_source(const std::string& spec, const FrameSourceOptions& options = {});

// The synthetic source's scene at frame `index`: what it draws, for tests and (later) detector
// ground truth. Each shape is a filled rectangle, ellipse or triangle inside `box` (source
// pixels), in `bgr` colour; shapes bounce off the frame's edges.
enum class SyntheticShapeKind : std::uint32_t { rectangle = 0, ellipse = 1, triangle = 2 };
struct SyntheticShape {
  SyntheticShapeKind kind = SyntheticShapeKind::rectangle;
  ops::PixelBox box;
  std::uint8_t bgr[3] = {0, 0, 0};
};
std::vector<SyntheticShape> synthetic_scene(const FrameSourceOptions& options, std::int64_t index);
// The frame the synthetic source delivers at `index` (deterministic in seed, size and index).
Frame synthetic_frame(const FrameSourceOptions& options, std::int64_t index);

}  // namespace fusescope::vision
