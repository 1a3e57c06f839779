// conv_transpose: 2-D transposed convolution (ONNX ConvTranspose, PyTorch ConvTranspose2d),
// computed in gather form:
//   y[n,oc,oy,ox] = bias[oc] + sum over ic in oc's group, ky, kx with
//       oy + PT - ky*DH = iy*SH and ox + PL - kx*DW = ix*SW for some input pixel (iy, ix)
//     of x[n, g*ICg+ic, iy, ix] * w[g*ICg+ic, oc - g*OCg, ky, kx]
// i.e. every input pixel scatters its kernel-weighted value to the output, read here from the
// output's side so each invocation owns one output element and no atomics are needed.
// Layout: x and y NCHW, or NHWC when the NHWC constant is set; w [C, OC/groups, KH, KW] in
// both; bias [OC] fp32.
// One invocation per output element; taps that fall between input pixels (stride) or outside
// the input contribute nothing.
// Accumulation in ARITH_T, in (ic, ky, kx) order, summed in two levels — the taps of one input
// channel, then blocks of 16 channels, then the total — as conv2d does, so rounding grows
// like sqrt(taps) + sqrt(16) + sqrt(C/16) rather than sqrt(C * taps).
// variants: f16s f16
// f16s: fp16 x, w, y; fp32 arithmetic. f16: products and sums in fp16; the bias is added in fp16.
#version 450
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool NHWC = false;  // x, y NHWC instead of NCHW

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // N * OC * OH * OW
  uint C, H, W;
  uint OC, OH, OW;
  uint KH, KW;
  uint SH, SW;
  int PT, PL;
  uint DH, DW;
  uint groups;
} pc;

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;

  uint ox, oy, oc, n;
  if (NHWC) {
    oc = idx % pc.OC;
    uint t = idx / pc.OC;
    ox = t % pc.OW;
    t /= pc.OW;
    oy = t % pc.OH;
    n = t / pc.OH;
  } else {
    ox = idx % pc.OW;
    uint t = idx / pc.OW;
    oy = t % pc.OH;
    t /= pc.OH;
    oc = t % pc.OC;
    n = t / pc.OC;
  }
  uint icg = pc.C / pc.groups;
  uint ocg = pc.OC / pc.groups;
  uint g = oc / ocg;
  uint ocl = oc - g * ocg;

  uint y_step = NHWC ? pc.W * pc.C : pc.W;
  uint x_step = NHWC ? pc.C : 1u;
  int oy_p = int(oy) + pc.PT;  // the output row in the unpadded (full) output
  int ox_p = int(ox) + pc.PL;

  ARITH_T acc = ARITH_T(0.0);
  ARITH_T block = ARITH_T(0.0);
  for (uint ic = 0u; ic < icg; ++ic) {
    if ((ic & 15u) == 0u) {
      acc += block;
      block = ARITH_T(0.0);
    }
    ARITH_T part = ARITH_T(0.0);
    uint c = g * icg + ic;
    uint x_base = NHWC ? n * pc.H * pc.W * pc.C + c : ((n * pc.C + c) * pc.H) * pc.W;
    uint w_base = ((c * ocg + ocl) * pc.KH) * pc.KW;
    for (uint ky = 0u; ky < pc.KH; ++ky) {
      int ty = oy_p - int(ky * pc.DH);
      if (ty < 0 || ty % int(pc.SH) != 0) continue;
      uint iy = uint(ty) / pc.SH;
      if (iy >= pc.H) continue;
      for (uint kx = 0u; kx < pc.KW; ++kx) {
        int tx = ox_p - int(kx * pc.DW);
        if (tx < 0 || tx % int(pc.SW) != 0) continue;
        uint ix = uint(tx) / pc.SW;
        if (ix >= pc.W) continue;
        part += LOAD(x[x_base + iy * y_step + ix * x_step]) * LOAD(w[w_base + ky * pc.KW + kx]);
      }
    }
    block += part;
  }
  ARITH_T v = acc + block;
  if (HAS_BIAS) v += ARITH_T(bias[oc]);
  y[idx] = STORE(v);
}
