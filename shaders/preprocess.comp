// preprocess: an 8-bit frame (packed bytes, BGR or RGB, 3 or 4 bytes per pixel, rows pc.stride
// bytes apart) becomes a network input, 3 channels of out_height x out_width floats, NCHW or NHWC
// (ops/preprocess.hpp has the whole contract; reference/preprocess.cpp is its float64 twin).
// Layout: src is the frame's bytes read as little-endian uints (byte o = src[o / 4] >> 8 (o % 4));
// out is [3, H, W] (pc.nhwc = 0) or [H, W, 3] elements of STORE_T.
// One invocation per output pixel: it finds its 2x2 source taps once and writes all 3 channels.
// Numerics: the source coordinate is exact integer arithmetic, sx = n / (2 content) with
// n = (2 x + 1) src - content, so only the fraction wx = (n mod 2 content) / (2 content) is rounded
// (once, fp32); the bilinear blend and (p * scale - mean) / std are fp32, so the result is within a
// few fp32 ulps of the float64 oracle. Letterbox padding is pad_value normalised the same way.
// variants: f16s
// The f16s variant stores the output as fp16 (one rounding at the end); arithmetic stays fp32.
#version 450
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Source { uint src[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T dst[]; };

layout(push_constant) uniform Push {
  uint count;                   // out_width * out_height pixels
  uint src_width, src_height;
  uint stride, channels;        // bytes per row, bytes per pixel (3 or 4)
  uint swap;                    // 1: output channel c reads byte 2 - c (BGR <-> RGB)
  uint out_width, out_height;
  uint content_x, content_y;    // letterbox offset (whole pixels)
  uint content_width, content_height;
  uint nhwc;
  float scale;                  // 1/255 or 1
  float pad;                    // 0..255 units
  float mean0, mean1, mean2;
  float std0, std1, std2;
} pc;

float byte_at(uint o) { return float((src[o >> 2] >> ((o & 3u) * 8u)) & 0xFFu); }

// Integer taps of output coordinate x (content-relative) on a source axis of `len` mapped onto
// `content` pixels: i0, i1 and the weight of i1.
void taps(uint x, uint len, uint content, out uint i0, out uint i1, out float w) {
  uint n = (2u * x + 1u) * len;
  if (n <= content) {  // max(0, ...): the first half pixel clamps to the edge
    i0 = 0u;
    w = 0.0;
  } else {
    n -= content;
    uint d = 2u * content;
    i0 = n / d;
    w = float(n - i0 * d) / float(d);
  }
  i0 = min(i0, len - 1u);
  i1 = min(i0 + 1u, len - 1u);
}

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;
  uint x = idx % pc.out_width;
  uint y = idx / pc.out_width;
  float mean[3] = float[3](pc.mean0, pc.mean1, pc.mean2);
  float sd[3] = float[3](pc.std0, pc.std1, pc.std2);
  float p[3];
  bool inside = x >= pc.content_x && x - pc.content_x < pc.content_width && y >= pc.content_y &&
                y - pc.content_y < pc.content_height;
  if (inside) {
    uint x0, x1, y0, y1;
    float wx, wy;
    taps(x - pc.content_x, pc.src_width, pc.content_width, x0, x1, wx);
    taps(y - pc.content_y, pc.src_height, pc.content_height, y0, y1, wy);
    uint r0 = y0 * pc.stride, r1 = y1 * pc.stride;
    uint c0 = x0 * pc.channels, c1 = x1 * pc.channels;
    for (uint c = 0u; c < 3u; ++c) {
      uint k = pc.swap != 0u ? 2u - c : c;
      float top = mix(byte_at(r0 + c0 + k), byte_at(r0 + c1 + k), wx);
      float bottom = mix(byte_at(r1 + c0 + k), byte_at(r1 + c1 + k), wx);
      p[c] = mix(top, bottom, wy);
    }
  } else {
    p[0] = pc.pad;
    p[1] = pc.pad;
    p[2] = pc.pad;
  }
  uint plane = pc.out_width * pc.out_height;
  for (uint c = 0u; c < 3u; ++c) {
    float v = (p[c] * pc.scale - mean[c]) / sd[c];
    uint e = pc.nhwc != 0u ? idx * 3u + c : c * plane + idx;
    dst[e] = STORE_T(v);
  }
}
