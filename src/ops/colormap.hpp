// Colormap: turns one batch item of a 4-D tensor (logical NCHW, stored NCHW or NHWC, f32 or f16)
// into an RGBA8 picture for the window — a grid of per-channel tiles, one channel alone, or the
// |difference| of two tensors — so pictures are made on the GPU straight from the executor's
// device buffers. The control points live here, not in the shader: the GPU encoder passes them
// to the kernel and the float64 oracle (reference/colormap.hpp) reads them from this header, so
// both map with the same numbers.
//
// Mapping of one value v (v = a, or |a - b| for abs_difference):
//   NaN                 -> kColormapNaN (magenta), whatever lo and hi are;
//   +inf / -inf         -> the map's last / first colour;
//   lo < hi             -> t = clamp((v - lo) / (hi - lo), 0, 1);
//   lo == hi            -> t = 0 below lo, 1 above, 0.5 at lo (a constant tensor shows the
//                          middle colour rather than an error: the GUI's min/max range of a
//                          constant map is exactly this case);
//   colour              -> x = t * (stops - 1), i = min(floor(x), stops - 2), f = x - i,
//                          each of R, G, B = stop[i] + (stop[i+1] - stop[i]) * f in sRGB byte
//                          units, rounded by floor(c + 0.5) (linear interpolation in sRGB, not
//                          in a perceptual space: the stops are close enough for that).
// The diverging map is centred on zero: it requires lo == -hi, so 0 lands on its near-white
// middle stop.
//
// Image: tiles of width x height pixels, grid_columns per row, ceil(channel_count / columns)
// rows, `gap` background pixels between neighbouring tiles (none around the border); tile k
// (row-major) shows channel channel_begin + k, and cells past the last channel are background.
// Output: one uint32 per pixel, row-major, top row first; bytes R, G, B, A in memory (A = 255),
// i.e. word = R | G << 8 | B << 16 | 0xFF << 24.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "ops/shape.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

enum class ColorMap : std::uint32_t {
  sequential = 0,  // magnitudes: dark violet -> blue -> teal -> green -> yellow ("viridis-like")
  diverging = 1,   // signed values: blue -> near-white at 0 -> red
};

enum class ColormapSource : std::uint32_t {
  value = 0,           // a
  abs_difference = 1,  // |a - b|, in fp32 on the GPU (float64 in the oracle)
};

const char* to_string(ColorMap map);
const char* to_string(ColormapSource source);

struct ColorStop {
  std::uint8_t r, g, b;
};

// fusescope's own control points (sRGB bytes), evenly spaced over t in [0, 1]. Sequential: the
// luma 0.2126 R + 0.7152 G + 0.0722 B rises by 24..25 per stop (25 -> 220), so equal steps in value read as
// roughly equal steps in brightness and the map survives greyscale printing. Diverging: the two
// arms mirror each other in luma (within 2 of 255) around a near-white centre, so +x and -x look equally strong.
constexpr std::size_t kMaxColorStops = 9;
constexpr std::array<ColorStop, 9> kSequentialStops{{
    {62, 8, 82},     // dark violet
    {70, 36, 120},
    {62, 70, 142},   // blue
    {48, 108, 146},
    {34, 147, 142},  // teal
    {44, 180, 126},
    {96, 202, 94},   // green
    {170, 218, 58},
    {250, 230, 40},  // yellow
}};
constexpr std::array<ColorStop, 9> kDivergingStops{{
    {40, 60, 150},    // deep blue
    {70, 110, 190},
    {130, 165, 220},
    {195, 212, 236},
    {245, 245, 245},  // near-white: zero
    {240, 202, 192},
    {225, 145, 125},
    {198, 84, 72},
    {160, 35, 45},    // deep red
}};

// The stops of `map` (throws InvalidArgument for a value outside the enum).
std::span<const ColorStop> color_stops(ColorMap map);

constexpr std::uint32_t rgba_word(std::uint8_t r, std::uint8_t g, std::uint8_t b, std::uint8_t a = 255) {
  return std::uint32_t{r} | std::uint32_t{g} << 8 | std::uint32_t{b} << 16 | std::uint32_t{a} << 24;
}
constexpr std::uint32_t kColormapNaN = rgba_word(255, 0, 255);        // magenta: no map contains it
constexpr std::uint32_t kColormapBackground = rgba_word(32, 32, 36);  // gaps and empty grid cells

struct ColormapParams {
  ColorMap map = ColorMap::sequential;
  ColormapSource source = ColormapSource::value;
  float lo = 0.0f, hi = 1.0f;  // values mapped to 0..1 by (v - lo) / (hi - lo), clamped
  std::int64_t n = 0;          // which batch item
  std::int64_t channels = 1, height = 1, width = 1;  // logical NCHW of the tensor (C, H, W)
  std::int64_t channel_begin = 0, channel_count = 1;  // which channels, one tile each
  std::int64_t grid_columns = 1;                      // tiles per row
  std::int64_t gap = 1;                               // background pixels between tiles
  bool nhwc = false;           // how the bytes lie (Executor::stored_layout)
  DType dtype = DType::f32;    // f32 or f16 storage
};

struct ColormapImage {
  std::int64_t width = 0, height = 0;
  std::int64_t pixels() const { return width * height; }
};

// The picture's size; checks every parameter (throws InvalidArgument naming `name`, the
// parameter and what was expected): map and source known; channels, height, width >= 1;
// n >= 0; 0 <= channel_begin, 1 <= channel_count, channel_begin + channel_count <= channels;
// 1 <= grid_columns <= channel_count; gap >= 0; lo and hi finite with lo <= hi and hi - lo
// finite in fp32; lo == -hi for the diverging map; the pixel count within 2^31 - 1.
ColormapImage colormap_image_size(const ColormapParams& p, const std::string& name = "colormap");

// Columns for a roughly square grid of `channel_count` tiles (ceil(sqrt(count))), for callers
// without a preference.
std::int64_t square_grid_columns(std::int64_t channel_count);

}  // namespace fusescope::ops
