#include "vision/annotate.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "io/image.hpp"

namespace fusescope::vision {

namespace {

using Rgb = std::array<std::uint8_t, 3>;

void put(Frame& f, std::int64_t x, std::int64_t y, const Rgb& c) {
  if (x < 0 || y < 0 || x >= f.width || y >= f.height) return;
  std::uint8_t* p = f.pixels.data() + y * f.stride + x * 3;
  const bool bgr = f.order == ops::PixelOrder::bgr;
  p[0] = bgr ? c[2] : c[0];
  p[1] = c[1];
  p[2] = bgr ? c[0] : c[2];
}

void fill(Frame& f, std::int64_t x0, std::int64_t y0, std::int64_t x1, std::int64_t y1, const Rgb& c) {
  for (std::int64_t y = std::max<std::int64_t>(y0, 0); y < std::min(y1, f.height); ++y)
    for (std::int64_t x = std::max<std::int64_t>(x0, 0); x < std::min(x1, f.width); ++x) put(f, x, y, c);
}

}  // namespace

Frame draw_detections(const Frame& frame, const std::vector<Detection>& detections) {
  Frame f = frame;
  const Rgb box{40, 220, 60}, keypoint{255, 60, 60};
  constexpr std::int64_t t = 2;  // outline thickness
  for (const Detection& d : detections) {
    const auto x0 = static_cast<std::int64_t>(std::floor(d.x)), y0 = static_cast<std::int64_t>(std::floor(d.y));
    const auto x1 = static_cast<std::int64_t>(std::ceil(d.x + d.w)), y1 = static_cast<std::int64_t>(std::ceil(d.y + d.h));
    fill(f, x0, y0, x1, y0 + t, box);
    fill(f, x0, y1 - t, x1, y1, box);
    fill(f, x0, y0, x0 + t, y1, box);
    fill(f, x1 - t, y0, x1, y1, box);
    for (const auto& k : d.keypoints) {
      const auto kx = static_cast<std::int64_t>(std::floor(k.x)), ky = static_cast<std::int64_t>(std::floor(k.y));
      fill(f, kx - 2, ky - 2, kx + 3, ky + 3, keypoint);
    }
  }
  return f;
}

std::vector<std::uint8_t> frame_png(const Frame& frame) {
  io::Image img;
  img.width = static_cast<int>(frame.width);
  img.height = static_cast<int>(frame.height);
  img.channels = 3;
  img.pixels.resize(static_cast<std::size_t>(frame.width * frame.height * 3));
  const bool bgr = frame.order == ops::PixelOrder::bgr;
  for (std::int64_t y = 0; y < frame.height; ++y)
    for (std::int64_t x = 0; x < frame.width; ++x) {
      const std::uint8_t* s = frame.pixels.data() + y * frame.stride + x * 3;
      std::uint8_t* o = img.pixels.data() + (y * frame.width + x) * 3;
      o[0] = bgr ? s[2] : s[0];
      o[1] = s[1];
      o[2] = bgr ? s[0] : s[2];
    }
  return io::encode_png(img);
}

}  // namespace fusescope::vision
