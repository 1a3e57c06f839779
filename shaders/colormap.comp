// colormap: one RGBA8 pixel of a picture of batch item n of a 4-D tensor a (logical NCHW):
// a grid of channel tiles, `gap` background pixels between them, cells past the last channel
// background (ops/colormap.hpp has the whole contract and the oracle's twin of every rule).
// Layout: a (and b) hold elements NCHW or NHWC (pc.nhwc), element index counted from pc.base =
// n * C * H * W; out is one uint per pixel, row-major, R | G << 8 | B << 16 | A << 24.
// One invocation per output pixel; it reads at most one element of a and one of b.
// Numerics: v (a, or |a - b| computed in fp32) -> t = clamp((v - lo) / (hi - lo), 0, 1) in fp32;
// the colour is linear between the host's control points (pc.stops, sRGB bytes) and rounds by
// floor(c + 0.5), so it differs from the float64 oracle only where fp32's rounding of t moves a
// channel across a .5 boundary (one byte). NaN is the fixed magenta, +-inf the end colours, and
// lo == hi is a step (0 below, 0.5 at, 1 above lo) instead of a division by zero.
// variants: f16s
// The f16s variant reads fp16-stored tensors; the arithmetic is fp32 in every variant (the
// picture's 8-bit output needs no more, and fp16's 11-bit t would cost a byte near hi).
#version 450
#include "common.glsl"

layout(std430, binding = 0) readonly buffer InputA { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer InputB { STORE_T b[]; };  // abs_difference only
layout(std430, binding = 2) writeonly buffer Output { uint rgba[]; };

const uint kMaxStops = 9u;  // ops::kMaxColorStops

layout(push_constant) uniform Push {
  uint count;          // pixels
  uint image_width;
  uint channels, height, width;
  uint base;           // n * C * H * W
  uint channel_begin, channel_count, grid_columns, gap;
  uint nhwc;           // 0 NCHW, 1 NHWC
  uint abs_difference; // 0: v = a, 1: v = |a - b|
  float lo, hi;
  uint stop_count;     // 2..kMaxStops
  uint nan_word, background_word;
  uint stops[kMaxStops];  // R | G << 8 | B << 16
} pc;

vec3 stop_rgb(uint i) {
  uint w = pc.stops[i];
  return vec3(float(w & 0xFFu), float((w >> 8) & 0xFFu), float((w >> 16) & 0xFFu));
}

uint color_word(float t) {
  float x = t * float(pc.stop_count - 1u);
  uint i = min(uint(floor(x)), pc.stop_count - 2u);
  float f = x - float(i);
  vec3 c0 = stop_rgb(i);
  vec3 c = c0 + (stop_rgb(i + 1u) - c0) * f;
  uvec3 byte_ = uvec3(clamp(floor(c + 0.5), 0.0, 255.0));
  return byte_.r | (byte_.g << 8) | (byte_.b << 16) | (0xFFu << 24);
}

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;
  uint px = idx % pc.image_width;
  uint py = idx / pc.image_width;
  uint tile_w = pc.width + pc.gap, tile_h = pc.height + pc.gap;
  uint x = px % tile_w, y = py % tile_h;
  uint k = (py / tile_h) * pc.grid_columns + px / tile_w;  // tile number
  if (x >= pc.width || y >= pc.height || k >= pc.channel_count) {
    rgba[idx] = pc.background_word;
    return;
  }
  uint c = pc.channel_begin + k;
  uint e = pc.nhwc != 0u ? pc.base + (y * pc.width + x) * pc.channels + c
                         : pc.base + (c * pc.height + y) * pc.width + x;
  float v = LOAD_F32(a[e]);
  if (pc.abs_difference != 0u) v = abs(v - LOAD_F32(b[e]));

  uint word;
  if (isnan(v)) {
    word = pc.nan_word;
  } else if (isinf(v)) {
    word = color_word(v > 0.0 ? 1.0 : 0.0);
  } else if (pc.hi > pc.lo) {
    // v - lo may overflow to +-inf for finite v: the clamp then gives the right end.
    word = color_word(clamp((v - pc.lo) / (pc.hi - pc.lo), 0.0, 1.0));
  } else {
    word = color_word(v < pc.lo ? 0.0 : (v > pc.lo ? 1.0 : 0.5));
  }
  rgba[idx] = word;
}
