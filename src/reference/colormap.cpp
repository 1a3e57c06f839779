#include "reference/colormap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reference/checks.hpp"

namespace fusescope::reference {

std::array<double, 3> colormap_rgb_unrounded(const ops::ColormapParams& p, double v) {
  const double lo = p.lo, hi = p.hi;
  double t;
  if (std::isinf(v)) {
    t = v > 0 ? 1.0 : 0.0;
  } else if (hi > lo) {
    t = std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
  } else {
    t = v < lo ? 0.0 : (v > lo ? 1.0 : 0.5);
  }
  const std::span<const ops::ColorStop> stops = ops::color_stops(p.map);
  const double x = t * static_cast<double>(stops.size() - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(std::floor(x)), stops.size() - 2);
  const double f = x - static_cast<double>(i);
  auto channel = [&](std::uint8_t c0, std::uint8_t c1) { return c0 + (static_cast<double>(c1) - c0) * f; };
  const ops::ColorStop& s0 = stops[i];
  const ops::ColorStop& s1 = stops[i + 1];
  return {channel(s0.r, s1.r), channel(s0.g, s1.g), channel(s0.b, s1.b)};
}

std::uint32_t colormap_color(const ops::ColormapParams& p, double v) {
  if (std::isnan(v)) return ops::kColormapNaN;
  const std::array<double, 3> c = colormap_rgb_unrounded(p, v);
  auto byte = [](double x) { return static_cast<std::uint8_t>(std::clamp(std::floor(x + 0.5), 0.0, 255.0)); };
  return ops::rgba_word(byte(c[0]), byte(c[1]), byte(c[2]));
}

std::vector<std::uint32_t> colormap(const ops::ColormapParams& p, const HostTensor& a, const HostTensor* b) {
  const std::string op = "colormap";
  const ops::ColormapImage image = ops::colormap_image_size(p, op);
  const bool diff = p.source == ops::ColormapSource::abs_difference;
  detail::expect_consistent(op, "a", a);
  detail::expect_rank(op, "a", a, 4);
  if (a.shape[1] != p.channels || a.shape[2] != p.height || a.shape[3] != p.width || p.n >= a.shape[0]) {
    throw ops::InvalidArgument(fmt::format("colormap: a has shape {}, the params ask for batch item {} of "
                                           "[N, {}, {}, {}]",
                                           ops::to_string(a.shape), p.n, p.channels, p.height, p.width));
  }
  detail::expect_present_iff(op, "b", b, diff, "source abs_difference");
  if (diff) {
    detail::expect_consistent(op, "b", *b);
    if (b->shape != a.shape) {
      throw ops::InvalidArgument(fmt::format("colormap: b has shape {}, a has {}", ops::to_string(b->shape),
                                             ops::to_string(a.shape)));
    }
  }
  std::vector<std::uint32_t> out(static_cast<std::size_t>(image.pixels()), ops::kColormapBackground);
  for (std::int64_t k = 0; k < p.channel_count; ++k) {
    const std::int64_t tile_x = (k % p.grid_columns) * (p.width + p.gap);
    const std::int64_t tile_y = (k / p.grid_columns) * (p.height + p.gap);
    const std::int64_t c = p.channel_begin + k;
    for (std::int64_t y = 0; y < p.height; ++y) {
      for (std::int64_t x = 0; x < p.width; ++x) {
        const auto e = static_cast<std::size_t>(((p.n * p.channels + c) * p.height + y) * p.width + x);
        const double v = diff ? std::fabs(a.data[e] - b->data[e]) : a.data[e];
        out[static_cast<std::size_t>((tile_y + y) * image.width + tile_x + x)] = colormap_color(p, v);
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
