// Frame sources (src/vision/frame_source.hpp): the synthetic source's determinism and motion, a
// real-time synthetic source dropping frames for a slow consumer, a real video from opencv-doc,
// a folder of PNGs in name order, a single image, and clear, bounded errors for a missing file, a
// file that is not a video, a camera that is not there and an unreachable stream.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <glm/geometric.hpp>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include "io/image.hpp"
#include "vision/frame_source.hpp"

using namespace fusescope;
using Catch::Contains;

namespace {

const std::filesystem::path kData = "/usr/share/doc/opencv-doc/examples/data";

std::filesystem::path temp_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("fusescope-{}-{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A w x h RGB PNG whose every pixel is (r, g, b).
void write_png(const std::filesystem::path& path, int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * 3));
  for (std::size_t i = 0; i < px.size(); i += 3) {
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
  }
  REQUIRE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3) != 0);
}

template <class F>
double seconds_for(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("synthetic source: deterministic, any size, shapes move", "[vision]") {
  vision::FrameSourceOptions o;
  o.width = 97;
  o.height = 61;
  o.seed = 5;
  o.max_frames = 12;
  auto a = vision::open_frame_source("synthetic", o);
  auto b = vision::open_frame_source("synthetic", o);
  CHECK_FALSE(a->live());
  std::vector<vision::Frame> frames;
  while (auto f = a->next()) {
    const auto g = b->next();
    REQUIRE(g);
    CHECK(f->pixels == g->pixels);  // same seed, same frames
    CHECK(f->index == static_cast<std::int64_t>(frames.size()));
    CHECK(f->timestamp_s == Approx(static_cast<double>(f->index) / o.fps));
    CHECK((f->width == 97 && f->height == 61 && f->stride == 97 * 3));
    CHECK(f->pixels.size() == static_cast<std::size_t>(97 * 61 * 3));
    CHECK(f->order == ops::PixelOrder::bgr);
    frames.push_back(std::move(*f));
  }
  CHECK(frames.size() == 12);
  CHECK_FALSE(b->next());
  CHECK(a->dropped() == 0);

  // Motion: the picture changes, and every shape's box moves between frame 0 and frame 10; the
  // pixel at each box's centre (rectangles and ellipses cover it) has the shape's colour unless
  // a later shape covers it.
  CHECK(frames[0].pixels != frames[10].pixels);
  const auto s0 = vision::synthetic_scene(o, 0), s10 = vision::synthetic_scene(o, 10);
  REQUIRE(s0.size() == s10.size());
  for (std::size_t i = 0; i < s0.size(); ++i) {
    INFO("shape " << i);
    CHECK(glm::length(s10[i].box.origin - s0[i].box.origin) > 1.0);
    CHECK(s10[i].box.origin.x >= 0.0);
    CHECK(s10[i].box.origin.x + s10[i].box.size.x <= 97.0 + 1e-9);
  }
  const vision::SyntheticShape& top = s10.back();
  if (top.kind != vision::SyntheticShapeKind::triangle) {
    const glm::dvec2 c = top.box.origin + top.box.size * 0.5;
    const std::uint8_t* px = frames[10].pixels.data() + static_cast<std::size_t>(c.y) * frames[10].stride +
                             static_cast<std::size_t>(c.x) * 3;
    CHECK((px[0] == top.bgr[0] && px[1] == top.bgr[1] && px[2] == top.bgr[2]));
  }

  // A different seed, a different scene; any size down to 1x1.
  o.seed = 6;
  CHECK(vision::synthetic_frame(o, 3).pixels != frames[3].pixels);
  o.width = 1;
  o.height = 1;
  CHECK(vision::synthetic_frame(o, 0).pixels.size() == 3);
  o.width = 0;
  CHECK_THROWS_WITH(vision::open_frame_source("synthetic", o), Contains("synthetic: frame size 0x1"));
}

TEST_CASE("a real-time source drops stale frames for a slow consumer instead of queueing them", "[vision]") {
  vision::FrameSourceOptions o;
  o.width = 32;
  o.height = 24;
  o.fps = 200;  // a frame every 5 ms
  o.realtime = true;
  auto src = vision::open_frame_source("synthetic", o);
  CHECK(src->live());
  std::int64_t last = -1;
  for (int i = 0; i < 5; ++i) {
    const auto f = src->next();
    REQUIRE(f);
    CHECK(f->index > last);
    last = f->index;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // ~6 frames' time
  }
  // Each 30 ms pause skips about 5 frames; the delivered index is the newest, and the skipped ones
  // are counted. (Lower bound only: a loaded machine skips more, never fewer.)
  CHECK(src->dropped() >= 4 * 4);
  CHECK(last + 1 == 5 + src->dropped());
}

TEST_CASE("video file: opencv-doc's Megamind.avi, first frames in order", "[vision]") {
  const std::filesystem::path video = kData / "Megamind.avi";
  if (!std::filesystem::exists(video)) {
    WARN(video << " is absent (apt install opencv-doc); skipped");
    return;
  }
  auto src = vision::open_frame_source(video.string());
  CHECK_FALSE(src->live());
  double last_ts = -1;
  for (std::int64_t i = 0; i < 30; ++i) {
    const auto f = src->next();
    REQUIRE(f);
    INFO("frame " << i << " timestamp " << f->timestamp_s);
    CHECK(f->index == i);
    CHECK(f->timestamp_s > last_ts);
    last_ts = f->timestamp_s;
    CHECK((f->width == 720 && f->height == 528));
    CHECK(f->pixels.size() == static_cast<std::size_t>(720 * 528 * 3));
  }
  // 30 frames at Megamind's 23.98 fps: the 30th starts about 1.2 s in.
  CHECK(last_ts == Approx(29 / 23.976).epsilon(0.05));
  CHECK(src->dropped() == 0);
}

TEST_CASE("image folder: every image once, sorted by name; an image file: one frame", "[vision]") {
  const std::filesystem::path dir = temp_dir("frames");
  // Written out of order, with a non-image file among them.
  write_png(dir / "frame_010.png", 5, 4, 10, 0, 0);
  write_png(dir / "frame_002.png", 5, 4, 2, 0, 0);
  write_png(dir / "frame_001.png", 6, 3, 1, 0, 0);
  std::ofstream(dir / "notes.txt") << "not an image\n";
  vision::FrameSourceOptions o;
  o.fps = 10;
  auto src = vision::open_frame_source(dir.string(), o);
  std::vector<int> reds;
  while (auto f = src->next()) {
    CHECK(f->index == static_cast<std::int64_t>(reds.size()));
    CHECK(f->timestamp_s == Approx(static_cast<double>(f->index) / 10.0));
    REQUIRE(f->order == ops::PixelOrder::bgr);
    reds.push_back(f->pixels[2]);  // BGR: red is byte 2
  }
  CHECK(reds == std::vector<int>{1, 2, 10});

  auto one = vision::open_frame_source((dir / "frame_001.png").string());
  const auto f = one->next();
  REQUIRE(f);
  CHECK((f->width == 6 && f->height == 3));
  CHECK_FALSE(one->next());

  // A real PNG through OpenCV equals stb's decode, channels swapped (BGR vs RGB).
  const std::filesystem::path real = kData / "chicky_512.png";
  if (std::filesystem::exists(real)) {
    const auto cv_frame = vision::open_frame_source(real.string())->next();
    const io::Image stb = io::load_image(real);
    REQUIRE(cv_frame);
    REQUIRE((cv_frame->width == stb.width && cv_frame->height == stb.height));
    std::size_t differ = 0;
    for (std::size_t i = 0; i < stb.pixels.size(); i += 3) {
      differ += cv_frame->pixels[i] != stb.pixels[i + 2] || cv_frame->pixels[i + 2] != stb.pixels[i] ||
                cv_frame->pixels[i + 1] != stb.pixels[i + 1];
    }
    CHECK(differ == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("frame sources that cannot be opened say which and why, in bounded time", "[vision][bad-input]") {
  const std::filesystem::path dir = temp_dir("bad-sources");
  CHECK_THROWS_AS(vision::open_frame_source("/nonexistent/clip.mp4"), vision::SourceError);
  CHECK_THROWS_WITH(vision::open_frame_source("/nonexistent/clip.mp4"),
                    Contains("/nonexistent/clip.mp4: no such file or directory"));
  std::ofstream(dir / "notes.txt") << "this is not a video\n";
  CHECK_THROWS_WITH(vision::open_frame_source((dir / "notes.txt").string()),
                    Contains("notes.txt: not a video or image file OpenCV can read"));
  std::ofstream(dir / "broken.png") << "not a png either\n";
  CHECK_THROWS_WITH(vision::open_frame_source((dir / "broken.png").string()),
                    Contains("broken.png: not an image OpenCV can decode"));
  std::filesystem::create_directories(dir / "empty");
  CHECK_THROWS_WITH(vision::open_frame_source((dir / "empty").string()), Contains("holds no image files"));
  CHECK_THROWS_WITH(vision::open_frame_source("camera:99"),
                    Contains("camera:99: no camera at index 99 (/dev/video99 does not exist)"));
  CHECK_THROWS_WITH(vision::open_frame_source("camera:x"), Contains("expected camera:N"));
  CHECK_THROWS_WITH(vision::open_frame_source(""), Contains("empty spec"));

  // An unreachable stream fails within the open timeout (port 9 on localhost refuses at once).
  vision::FrameSourceOptions o;
  o.open_timeout = std::chrono::milliseconds(3000);
  double took = seconds_for([&] {
    CHECK_THROWS_WITH(vision::open_frame_source("rtsp://127.0.0.1:9/none", o),
                      Contains("stream rtsp://127.0.0.1:9/none") && Contains("could not open"));
  });
  INFO("rtsp took " << took << " s");
  CHECK(took < 3.0 + 2.5);
  took = seconds_for([&] {
    CHECK_THROWS_AS(vision::open_frame_source("http://127.0.0.1:9/stream.mjpg", o), vision::SourceError);
  });
  INFO("http took " << took << " s");
  CHECK(took < 3.0 + 2.5);
  std::filesystem::remove_all(dir);
}
