#include "ops/preprocess.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <glm/common.hpp>

namespace fusescope::ops {

const char* to_string(PixelOrder order) {
  switch (order) {
    case PixelOrder::bgr: return "bgr";
    case PixelOrder::rgb: return "rgb";
  }
  return "unknown";
}

const char* to_string(ResizeFit fit) {
  switch (fit) {
    case ResizeFit::stretch: return "stretch";
    case ResizeFit::letterbox: return "letterbox";
  }
  return "unknown";
}

namespace {

constexpr std::int64_t kMax32 = std::numeric_limits<std::int32_t>::max();

void expect_order(const std::string& name, const char* what, PixelOrder o) {
  if (o != PixelOrder::bgr && o != PixelOrder::rgb) {
    throw InvalidArgument(fmt::format("{}: {} {}, expected 0 (bgr) or 1 (rgb)", name, what,
                                      static_cast<std::uint32_t>(o)));
  }
}

}  // namespace

LetterboxGeometry letterbox_geometry(ResizeFit fit, std::int64_t src_width, std::int64_t src_height,
                                     std::int64_t out_width, std::int64_t out_height, const std::string& name) {
  if (src_width < 1 || src_height < 1) {
    throw InvalidArgument(fmt::format("{}: source frame {}x{}, expected width and height >= 1", name, src_width,
                                      src_height));
  }
  if (out_width < 1 || out_height < 1) {
    throw InvalidArgument(fmt::format("{}: network input {}x{}, expected width and height >= 1", name, out_width,
                                      out_height));
  }
  if (src_width > kMax32 || src_height > kMax32 || out_width > kMax32 || out_height > kMax32) {
    throw InvalidArgument(fmt::format("{}: source {}x{} or input {}x{} exceeds 2^31 - 1 pixels per side", name,
                                      src_width, src_height, out_width, out_height));
  }
  LetterboxGeometry g;
  g.src_width = src_width;
  g.src_height = src_height;
  g.out_width = out_width;
  g.out_height = out_height;
  switch (fit) {
    case ResizeFit::stretch:
      g.content_width = out_width;
      g.content_height = out_height;
      break;
    case ResizeFit::letterbox: {
      const double s = std::min(static_cast<double>(out_width) / static_cast<double>(src_width),
                                static_cast<double>(out_height) / static_cast<double>(src_height));
      auto fit_axis = [&](std::int64_t src, std::int64_t out) {
        return std::clamp(static_cast<std::int64_t>(std::llround(static_cast<double>(src) * s)), std::int64_t{1},
                          out);
      };
      g.content_width = fit_axis(src_width, out_width);
      g.content_height = fit_axis(src_height, out_height);
      g.offset = {static_cast<double>((out_width - g.content_width) / 2),
                  static_cast<double>((out_height - g.content_height) / 2)};
      break;
    }
    default:
      throw InvalidArgument(fmt::format("{}: fit {}, expected 0 (stretch) or 1 (letterbox)", name,
                                        static_cast<std::uint32_t>(fit)));
  }
  g.scale = {static_cast<double>(g.content_width) / static_cast<double>(src_width),
             static_cast<double>(g.content_height) / static_cast<double>(src_height)};
  return g;
}

LetterboxGeometry letterbox_geometry(const PreprocessParams& p, const std::string& name) {
  return letterbox_geometry(p.fit, p.src_width, p.src_height, p.out_width, p.out_height, name);
}

PixelBox map_box_to_source(const PixelBox& box, const LetterboxGeometry& g) {
  return {(box.origin - g.offset) / g.scale, box.size / g.scale};
}

PixelBox map_box_to_input(const PixelBox& box, const LetterboxGeometry& g) {
  return {box.origin * g.scale + g.offset, box.size * g.scale};
}

PixelBox clip_box(const PixelBox& box, double width, double height) {
  const glm::dvec2 lo = glm::clamp(box.origin, glm::dvec2(0.0), glm::dvec2(width, height));
  const glm::dvec2 hi = glm::clamp(box.origin + box.size, glm::dvec2(0.0), glm::dvec2(width, height));
  return {lo, glm::max(hi - lo, glm::dvec2(0.0))};
}

std::int64_t preprocess_source_bytes(const PreprocessParams& p) {
  return p.stride() * (p.src_height - 1) + p.src_width * p.src_channels;
}

Shape preprocess_output_shape(const PreprocessParams& p, const std::string& name) {
  const LetterboxGeometry g = letterbox_geometry(p, name);
  if (p.src_channels != 3 && p.src_channels != 4) {
    throw InvalidArgument(fmt::format("{}: source has {} bytes per pixel, expected 3 (BGR or RGB) or 4 (BGRA or "
                                      "RGBA, the 4th byte unread)",
                                      name, p.src_channels));
  }
  if (p.src_stride < 0 || (p.src_stride != 0 && p.src_stride < p.src_width * p.src_channels)) {
    throw InvalidArgument(fmt::format("{}: row stride {} bytes is shorter than a row of {} pixels x {} bytes = {}",
                                      name, p.src_stride, p.src_width, p.src_channels,
                                      p.src_width * p.src_channels));
  }
  // Checked factor by factor, so the products below do not overflow 64 bits.
  if (p.stride() > kMax32 || preprocess_source_bytes(p) > kMax32) {
    throw InvalidArgument(fmt::format("{}: source frame {}x{} with stride {} spans more than 2^31 - 1 bytes", name,
                                      p.src_width, p.src_height, p.stride()));
  }
  // The shader maps coordinates with exact integers: (2 x + 1) * src - content < 2^31.
  if (2 * g.content_width * p.src_width > kMax32 || 2 * g.content_height * p.src_height > kMax32) {
    throw InvalidArgument(fmt::format("{}: resizing {}x{} to {}x{} overflows the kernel's 32-bit coordinate "
                                      "arithmetic (2 * content * source must stay below 2^31)",
                                      name, p.src_width, p.src_height, g.content_width, g.content_height));
  }
  if (p.out_width * p.out_height * 3 > kMax32) {
    throw InvalidArgument(fmt::format("{}: network input {}x{}x3 has more than 2^31 - 1 elements", name,
                                      p.out_width, p.out_height));
  }
  expect_order(name, "src_order", p.src_order);
  expect_order(name, "out_order", p.out_order);
  if (p.dtype != DType::f32 && p.dtype != DType::f16) {
    throw InvalidArgument(fmt::format("{}: dtype {}, expected f32 or f16", name, static_cast<std::uint32_t>(p.dtype)));
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(p.std[c]) || p.std[c] == 0.0f) {
      throw InvalidArgument(fmt::format("{}: std[{}] = {}, expected a finite non-zero number (it divides)", name, c,
                                        p.std[c]));
    }
    if (!std::isfinite(p.mean[c])) {
      throw InvalidArgument(fmt::format("{}: mean[{}] = {}, expected a finite number", name, c, p.mean[c]));
    }
  }
  if (!std::isfinite(p.pad_value)) {
    throw InvalidArgument(fmt::format("{}: pad_value = {}, expected a finite number (0..255 pixel units)", name,
                                      p.pad_value));
  }
  return p.nhwc ? Shape{1, p.out_height, p.out_width, 3} : Shape{1, 3, p.out_height, p.out_width};
}

}  // namespace fusescope::ops
