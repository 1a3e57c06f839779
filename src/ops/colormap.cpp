#include "ops/colormap.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace fusescope::ops {

const char* to_string(ColorMap map) {
  switch (map) {
    case ColorMap::sequential: return "sequential";
    case ColorMap::diverging: return "diverging";
  }
  return "unknown";
}

const char* to_string(ColormapSource source) {
  switch (source) {
    case ColormapSource::value: return "value";
    case ColormapSource::abs_difference: return "abs_difference";
  }
  return "unknown";
}

std::span<const ColorStop> color_stops(ColorMap map) {
  switch (map) {
    case ColorMap::sequential: return kSequentialStops;
    case ColorMap::diverging: return kDivergingStops;
  }
  throw InvalidArgument(fmt::format("colormap: map {}, expected 0 (sequential) or 1 (diverging)",
                                    static_cast<std::uint32_t>(map)));
}

ColormapImage colormap_image_size(const ColormapParams& p, const std::string& name) {
  if (p.map != ColorMap::sequential && p.map != ColorMap::diverging) {
    throw InvalidArgument(fmt::format("{}: map {}, expected 0 (sequential) or 1 (diverging)", name,
                                      static_cast<std::uint32_t>(p.map)));
  }
  if (p.source != ColormapSource::value && p.source != ColormapSource::abs_difference) {
    throw InvalidArgument(fmt::format("{}: source {}, expected 0 (value) or 1 (abs_difference)", name,
                                      static_cast<std::uint32_t>(p.source)));
  }
  if (p.dtype != DType::f32 && p.dtype != DType::f16) {
    throw InvalidArgument(fmt::format("{}: dtype {}, expected f32 or f16", name,
                                      static_cast<std::uint32_t>(p.dtype)));
  }
  if (p.channels < 1 || p.height < 1 || p.width < 1) {
    throw InvalidArgument(fmt::format("{}: tensor channels x height x width is {}x{}x{}, expected every "
                                      "dimension >= 1",
                                      name, p.channels, p.height, p.width));
  }
  if (p.n < 0) throw InvalidArgument(fmt::format("{}: batch item n = {}, expected >= 0", name, p.n));
  if (p.channel_count < 1) {
    throw InvalidArgument(fmt::format("{}: channel_count = {}, expected at least 1 channel to show", name,
                                      p.channel_count));
  }
  if (p.channel_begin < 0 || p.channel_begin >= p.channels || p.channel_count > p.channels - p.channel_begin) {
    throw InvalidArgument(fmt::format("{}: channels [{}, {}) do not lie inside the tensor's {} channels "
                                      "(channel_begin {}, channel_count {})",
                                      name, p.channel_begin, p.channel_begin + p.channel_count, p.channels,
                                      p.channel_begin, p.channel_count));
  }
  if (p.grid_columns < 1 || p.grid_columns > p.channel_count) {
    throw InvalidArgument(fmt::format("{}: grid_columns = {}, expected 1 to channel_count = {} (more "
                                      "columns than tiles would only add empty cells)",
                                      name, p.grid_columns, p.channel_count));
  }
  if (p.gap < 0) throw InvalidArgument(fmt::format("{}: gap = {}, expected >= 0 pixels", name, p.gap));
  if (!std::isfinite(p.lo) || !std::isfinite(p.hi)) {
    throw InvalidArgument(fmt::format("{}: range lo = {}, hi = {}, expected finite numbers", name, p.lo, p.hi));
  }
  if (p.lo > p.hi) {
    throw InvalidArgument(fmt::format("{}: range lo = {} is above hi = {}; swap them (lo maps to the "
                                      "first colour, hi to the last)",
                                      name, p.lo, p.hi));
  }
  // The kernel divides by hi - lo in fp32.
  if (!std::isfinite(p.hi - p.lo)) {
    throw InvalidArgument(fmt::format("{}: range hi - lo = {} - ({}) overflows fp32, which the kernel "
                                      "computes in; narrow the range",
                                      name, p.hi, p.lo));
  }
  if (p.map == ColorMap::diverging && p.lo != -p.hi) {
    throw InvalidArgument(fmt::format("{}: the diverging map is centred on zero and needs lo = -hi, got lo = "
                                      "{}, hi = {}; pass lo = -m, hi = m with m = max(|lo|, |hi|)",
                                      name, p.lo, p.hi));
  }
  const std::int64_t rows = (p.channel_count + p.grid_columns - 1) / p.grid_columns;
  constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
  // Each factor is checked before it is multiplied, so nothing below overflows 64 bits.
  if (p.channels > kMax || p.width > kMax || p.height > kMax || p.gap > kMax) {
    throw InvalidArgument(fmt::format("{}: channels {}, tile {}x{} or gap {} exceeds 2^31 - 1", name,
                                      p.channels, p.height, p.width, p.gap));
  }
  ColormapImage image;
  image.width = p.grid_columns * p.width + (p.grid_columns - 1) * p.gap;
  image.height = rows * p.height + (rows - 1) * p.gap;
  if (image.width > kMax || image.height > kMax || image.width > kMax / image.height) {
    throw InvalidArgument(fmt::format("{}: image {}x{} ({} columns x {} rows of {}x{} tiles, gap {}) has "
                                      "more than 2^31 - 1 pixels; show fewer channels",
                                      name, image.width, image.height, p.grid_columns, rows, p.width,
                                      p.height, p.gap));
  }
  return image;
}

std::int64_t square_grid_columns(std::int64_t channel_count) {
  if (channel_count < 1) return 1;
  std::int64_t c = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(channel_count))));
  while (c * c < channel_count) ++c;
  while (c > 1 && (c - 1) * (c - 1) >= channel_count) --c;
  return c;
}

}  // namespace fusescope::ops
