#include "reference/preprocess.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace fusescope::reference {

namespace {

struct Tap {
  std::int64_t i0, i1;
  double w1;
};

Tap tap(std::int64_t x, std::int64_t src, std::int64_t content) {
  const double s = std::max(0.0, (static_cast<double>(x) + 0.5) * static_cast<double>(src) /
                                     static_cast<double>(content) - 0.5);
  const std::int64_t i0 = std::min(static_cast<std::int64_t>(std::floor(s)), src - 1);
  return {i0, std::min(i0 + 1, src - 1), s - static_cast<double>(i0)};
}

}  // namespace

HostTensor preprocess(const ops::PreprocessParams& p, std::span<const std::uint8_t> frame) {
  const ops::Shape shape = ops::preprocess_output_shape(p, "preprocess");
  const ops::LetterboxGeometry g = ops::letterbox_geometry(p, "preprocess");
  if (static_cast<std::int64_t>(frame.size()) < ops::preprocess_source_bytes(p)) {
    throw ops::InvalidArgument(fmt::format("preprocess: frame has {} bytes, the params need {}", frame.size(),
                                           ops::preprocess_source_bytes(p)));
  }
  HostTensor out;
  out.shape = shape;
  out.data.assign(static_cast<std::size_t>(ops::numel(shape)), 0.0);
  const double scale = p.scale_255 ? 1.0 : 1.0 / 255.0;
  const auto ox = static_cast<std::int64_t>(g.offset.x), oy = static_cast<std::int64_t>(g.offset.y);
  const std::int64_t stride = p.stride();
  auto byte = [&](std::int64_t x, std::int64_t y, std::int64_t k) {
    return static_cast<double>(frame[static_cast<std::size_t>(y * stride + x * p.src_channels + k)]);
  };
  for (std::int64_t y = 0; y < p.out_height; ++y) {
    for (std::int64_t x = 0; x < p.out_width; ++x) {
      const std::int64_t cx = x - ox, cy = y - oy;
      const bool inside = cx >= 0 && cx < g.content_width && cy >= 0 && cy < g.content_height;
      for (std::int64_t c = 0; c < 3; ++c) {
        double v = p.pad_value;
        if (inside) {
          const Tap tx = tap(cx, p.src_width, g.content_width), ty = tap(cy, p.src_height, g.content_height);
          const std::int64_t k = p.src_order == p.out_order ? c : 2 - c;
          const double top = (1 - tx.w1) * byte(tx.i0, ty.i0, k) + tx.w1 * byte(tx.i1, ty.i0, k);
          const double bottom = (1 - tx.w1) * byte(tx.i0, ty.i1, k) + tx.w1 * byte(tx.i1, ty.i1, k);
          v = (1 - ty.w1) * top + ty.w1 * bottom;
        }
        const double value = (v * scale - static_cast<double>(p.mean[static_cast<std::size_t>(c)])) /
                             static_cast<double>(p.std[static_cast<std::size_t>(c)]);
        const std::int64_t e = p.nhwc ? (y * p.out_width + x) * 3 + c : (c * p.out_height + y) * p.out_width + x;
        out.data[static_cast<std::size_t>(e)] = value;
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
