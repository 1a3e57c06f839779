// resize: nearest or bilinear resizing of H and W, as ONNX Resize (opsets 10-17) defines it.
//   Each output coordinate maps back onto the input by the coordinate transform
//   (TRANSFORM = ops::CoordinateTransform): half_pixel (x+0.5)/s-0.5, pytorch_half_pixel (the
//   same, 0 when length_resized <= 1), align_corners x*(in-1)/(length_resized-1), asymmetric
//   x/s, tf_half_pixel_for_nearest (x+0.5)/s. length_resized is ONNX's: in*s when the model
//   gave scales (SCALED_LENGTH; 4 * 0.6 = 2.4, not the output's 2), out when it gave sizes.
//   Nearest (MODE 0) rounds that coordinate (ROUNDING = ops::NearestRounding:
//   round_prefer_floor ceil(v-0.5), round_prefer_ceil floor(v+0.5), floor, ceil) and clamps the
//   index to [0, len-1]. Linear (MODE 1) interpolates between floor(v) and floor(v)+1, both
//   clamped to [0, len-1] (so a coordinate outside the input reads the edge, as ONNX Runtime's
//   clamp of the coordinate does), along W first, then along H.
// Layout: x and y NCHW, or both NHWC when the NHWC constant is set; the same arithmetic in both.
// One invocation per output element.
// Numerics: the coordinates and the interpolation weights are computed in fp32 in every variant
// (as ONNX Runtime does): they are positions, not tensor values, and fp16 could not even hold
// a coordinate past 2048 exactly. Nearest copies one stored element: exact in every variant.
// variants: f16s f16 texel texel_f16s texel_f16
// The texel variants (FS_TEXEL_READS) read x as a uniform texel buffer (one gather for all lanes
// on lavapipe, where a storage buffer loads lane by lane): the same values, the same results.
// The index is split into (n, c, oy, ox) by fast_div (common.glsl): no integer division.
// f16s: fp16 in memory, fp32 interpolation. f16: the three lerps in fp16 (weights rounded to
// fp16 once).
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0u;       // ops::ResizeMode: 0 nearest, 1 linear
layout(constant_id = 2) const uint ROUNDING = 0u;   // ops::NearestRounding
layout(constant_id = 3) const uint TRANSFORM = 0u;  // ops::CoordinateTransform
layout(constant_id = 4) const bool NHWC = false;    // x and y NHWC instead of NCHW
layout(constant_id = 5) const bool SCALED_LENGTH = false;  // ops::ResizeParams::length_from_scale

#ifdef FS_TEXEL_READS
layout(binding = 0) uniform samplerBuffer x;
#define X_AT(i) ARITH_T(texelFetch(x, int(i)).r)
#define X_COPY(i) STORE_T(texelFetch(x, int(i)).r)
#else
layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
#define X_AT(i) LOAD(x[i])
#define X_COPY(i) x[i]
#endif
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // N * C * OH * OW
  uint C, H, W;
  uint OH, OW;
  float scale_h, scale_w;
  uint magic_c, magic_ow, magic_oh;  // fast_div's multipliers for C, OW, OH
  uint shifts;                       // and its shifts: C's at bit 0, OW's at 5, OH's at 10
} pc;

// The input coordinate of output index o along an axis of in_len -> out_len at scale s.
float source_coordinate(uint o, float s, uint in_len, uint out_len) {
  float v = float(o);
  float length_resized = SCALED_LENGTH ? float(in_len) * s : float(out_len);
  if (TRANSFORM == 0u) return (v + 0.5) / s - 0.5;
  if (TRANSFORM == 1u) return length_resized > 1.0 ? (v + 0.5) / s - 0.5 : 0.0;
  if (TRANSFORM == 2u) {
    // o * (in_len - 1) is an exact integer (it fits 32 bits: both factors are sizes), so with
    // sizes the coordinate is rounded once, by the division. o == 0 gives 0 (ONNX's rule for
    // length_resized == 1, the only length where o is 0 alone); o >= 1 means length_resized >= 2.
    return o == 0u ? 0.0 : float(o * (in_len - 1u)) / (length_resized - 1.0);
  }
  if (TRANSFORM == 3u) return v / s;
  return (v + 0.5) / s;
}

int nearest_index(float v, uint len) {
  float r;
  if (ROUNDING == 0u) r = ceil(v - 0.5);
  else if (ROUNDING == 1u) r = floor(v + 0.5);
  else if (ROUNDING == 2u) r = floor(v);
  else r = ceil(v);
  return clamp(int(r), 0, int(len) - 1);
}

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;

  // (n, c, oy, ox) from y's physical index; x[n, c, iy, ix] sits at base + iy * y_step + ix * x_step.
  uint ox, oy, base, y_step, x_step;
  const uint shift_c = pc.shifts & 31u, shift_ow = (pc.shifts >> 5u) & 31u, shift_oh = (pc.shifts >> 10u) & 31u;
  if (NHWC) {
    const uint pixel = fast_div(idx, pc.C, pc.magic_c, shift_c);
    const uint c = idx - pixel * pc.C;
    const uint row = fast_div(pixel, pc.OW, pc.magic_ow, shift_ow);
    ox = pixel - row * pc.OW;
    const uint n = fast_div(row, pc.OH, pc.magic_oh, shift_oh);
    oy = row - n * pc.OH;
    base = n * pc.H * pc.W * pc.C + c;
    y_step = pc.W * pc.C;
    x_step = pc.C;
  } else {
    const uint row = fast_div(idx, pc.OW, pc.magic_ow, shift_ow);
    ox = idx - row * pc.OW;
    const uint nc = fast_div(row, pc.OH, pc.magic_oh, shift_oh);
    oy = row - nc * pc.OH;
    base = nc * pc.H * pc.W;
    y_step = pc.W;
    x_step = 1u;
  }

  float sy = source_coordinate(oy, pc.scale_h, pc.H, pc.OH);
  float sx = source_coordinate(ox, pc.scale_w, pc.W, pc.OW);
  if (MODE == 0u) {
    uint iy = uint(nearest_index(sy, pc.H));
    uint ix = uint(nearest_index(sx, pc.W));
    y[idx] = X_COPY(base + iy * y_step + ix * x_step);
    return;
  }
  float fy = floor(sy);
  float fx = floor(sx);
  ARITH_T ty = ARITH_T(sy - fy);
  ARITH_T tx = ARITH_T(sx - fx);
  int last_y = int(pc.H) - 1;
  int last_x = int(pc.W) - 1;
  uint y0 = uint(clamp(int(fy), 0, last_y)) * y_step;
  uint y1 = uint(clamp(int(fy) + 1, 0, last_y)) * y_step;
  uint x0 = uint(clamp(int(fx), 0, last_x)) * x_step;
  uint x1 = uint(clamp(int(fx) + 1, 0, last_x)) * x_step;
  ARITH_T a = X_AT(base + y0 + x0);
  ARITH_T b = X_AT(base + y0 + x1);
  ARITH_T c = X_AT(base + y1 + x0);
  ARITH_T d = X_AT(base + y1 + x1);
  ARITH_T top = a + (b - a) * tx;
  ARITH_T bottom = c + (d - c) * tx;
  y[idx] = STORE(top + (bottom - top) * ty);
}
