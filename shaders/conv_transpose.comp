// conv_transpose: 2-D transposed convolution (ONNX ConvTranspose, PyTorch ConvTranspose2d),
// computed in gather form:
//   y[n,oc,oy,ox] = bias[oc] + sum over ic in oc's group, ky, kx with
//       oy + PT - ky*DH = iy*SH and ox + PL - kx*DW = ix*SW for some input pixel (iy, ix)
//     of x[n, g*ICg+ic, iy, ix] * w[g*ICg+ic, oc - g*OCg, ky, kx]
// i.e. every input pixel scatters its kernel-weighted value to the output, read here from the
// output's side so each invocation owns one output element and no atomics are needed.
// Layout: x and y NCHW, or NHWC when the NHWC constant is set; w [C, OC/groups, KH, KW] in
// both; bias [OC] fp32.
// One invocation computes OCB (1, 4 or 8) output channels of one output pixel: the taps that
// reach a pixel do not depend on the channel, so each input value it loads serves OCB outputs.
// Taps that fall between input pixels (stride) or outside the input contribute nothing.
// Accumulation in ARITH_T, in (ky, kx, ic) order: for each valid tap, the input channels in
// blocks of 16, then the blocks, then the taps — so rounding grows like sqrt(16) + sqrt(C/16)
// + sqrt(taps) rather than sqrt(C * taps). Each output's order is the same whatever OCB is.
// variants: f16s f16
// f16s: fp16 x, w, y; fp32 arithmetic. f16: products and sums in fp16; the bias is added in fp16.
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool NHWC = false;  // x, y NHWC instead of NCHW
// Output channels per invocation (1, 4 or 8; the encoder picks the largest dividing OC/groups).
layout(constant_id = 3) const uint OCB = 1u;
// K (2, 3 or 4) when the kernel is K x K with stride K, no padding or dilation, and the output
// exactly H*K x W*K (the encoder checks): the upsampling form (PP-OCR's DB head: 2x2 stride 2).
// Each output is then reached by one tap of one input pixel, so one invocation takes an input
// pixel and writes its K*K outputs of OCB channels, each input load serving K*K*OCB products;
// the gather form below had each invocation find its one valid tap among four with lanes
// diverging on it. Every output sums the same products in the same order as there.
layout(constant_id = 4) const uint TILE = 0u;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;  // invocations: N * (OC / OCB) * OH * OW, or N * (OC / OCB) * H * W with TILE
  uint C, H, W;
  uint OC, OH, OW;
  uint KH, KW;
  uint SH, SW;
  int PT, PL;
  uint DH, DW;
  uint groups;
} pc;

// The TILE form: one input pixel's K x K outputs for OCB channels.
void upsampling_form(uint idx) {
  uint blocks = pc.OC / OCB;
  uint ix, iy, ob, n;
  if (NHWC) {
    ob = idx % blocks;
    uint t = idx / blocks;
    ix = t % pc.W;
    t /= pc.W;
    iy = t % pc.H;
    n = t / pc.H;
  } else {
    ix = idx % pc.W;
    uint t = idx / pc.W;
    iy = t % pc.H;
    t /= pc.H;
    ob = t % blocks;
    n = t / blocks;
  }
  uint oc = ob * OCB;
  uint icg = pc.C / pc.groups;
  uint ocg = pc.OC / pc.groups;
  uint g = oc / ocg;
  uint ocl = oc - g * ocg;
  uint x_c_step = NHWC ? 1u : pc.H * pc.W;
  uint w_c_step = ocg * TILE * TILE;
  uint w_oc_step = TILE * TILE;
  uint xi = (NHWC ? n * pc.H * pc.W * pc.C + g * icg : (n * pc.C + g * icg) * pc.H * pc.W) +
            iy * (NHWC ? pc.W * pc.C : pc.W) + ix * (NHWC ? pc.C : 1u);
  uint wi = ((g * icg) * ocg + ocl) * TILE * TILE;
  const uint taps = TILE * TILE;
  // One spare element each: TILE * TILE is 0, no array size, where the form is off.
  ARITH_T acc[OCB][TILE * TILE + 1u];
  ARITH_T block[OCB][TILE * TILE + 1u];
  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    [[unroll]] for (uint t = 0u; t < taps; ++t) {
      acc[j][t] = ARITH_T(0.0);
      block[j][t] = ARITH_T(0.0);
    }
  }
  for (uint ic = 0u; ic < icg; ++ic) {
    if ((ic & 15u) == 0u) {
      [[unroll]] for (uint j = 0u; j < OCB; ++j) {
        [[unroll]] for (uint t = 0u; t < taps; ++t) {
          acc[j][t] += block[j][t];
          block[j][t] = ARITH_T(0.0);
        }
      }
    }
    ARITH_T xv = LOAD(x[xi]);
    [[unroll]] for (uint j = 0u; j < OCB; ++j) {
      [[unroll]] for (uint t = 0u; t < taps; ++t) block[j][t] += xv * LOAD(w[wi + j * w_oc_step + t]);
    }
    xi += x_c_step;
    wi += w_c_step;
  }
  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    [[unroll]] for (uint t = 0u; t < taps; ++t) {
      uint oy = iy * TILE + t / TILE, ox = ix * TILE + t % TILE;
      ARITH_T v = acc[j][t] + block[j][t];
      if (HAS_BIAS) v += ARITH_T(bias[oc + j]);
      uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc + j
                    : ((n * pc.OC + oc + j) * pc.OH + oy) * pc.OW + ox;
      y[o] = STORE(v);
    }
  }
}

void main() {
  uint idx = flat_invocation_index();
  if (idx >= pc.count) return;
  if (TILE != 0u) {
    upsampling_form(idx);
    return;
  }

  // The work index enumerates (pixel, channel block) in y's physical order, the block in place
  // of the channel.
  uint blocks = pc.OC / OCB;
  uint ox, oy, ob, n;
  if (NHWC) {
    ob = idx % blocks;
    uint t = idx / blocks;
    ox = t % pc.OW;
    t /= pc.OW;
    oy = t % pc.OH;
    n = t / pc.OH;
  } else {
    ox = idx % pc.OW;
    uint t = idx / pc.OW;
    oy = t % pc.OH;
    t /= pc.OH;
    ob = t % blocks;
    n = t / blocks;
  }
  uint oc = ob * OCB;  // the block's first channel; a block never straddles two groups
  uint icg = pc.C / pc.groups;
  uint ocg = pc.OC / pc.groups;
  uint g = oc / ocg;
  uint ocl = oc - g * ocg;

  uint y_step = NHWC ? pc.W * pc.C : pc.W;
  uint x_step = NHWC ? pc.C : 1u;
  int oy_p = int(oy) + pc.PT;  // the output row in the unpadded (full) output
  int ox_p = int(ox) + pc.PL;

  // Which taps reach this output depends only on the output position, not on the channel:
  // find each (ky, kx) once, then run over the group's input channels with strided pointers.
  // (With PP-OCR's 2x2 stride 2 one tap of four is valid: testing taps inside the channel loop
  // made this kernel the network's slowest on lavapipe.)
  uint x_c_step = NHWC ? 1u : pc.H * pc.W;  // from one input channel to the next
  uint w_c_step = ocg * pc.KH * pc.KW;      // from weight[c, ocl] to weight[c + 1, ocl]
  uint x_group = NHWC ? n * pc.H * pc.W * pc.C + g * icg : (n * pc.C + g * icg) * pc.H * pc.W;
  uint w_group = ((g * icg) * ocg + ocl) * pc.KH * pc.KW;
  uint w_oc_step = pc.KH * pc.KW;            // from weight[c, ocl] to weight[c, ocl + 1]
  ARITH_T total[OCB];
  [[unroll]] for (uint j = 0u; j < OCB; ++j) total[j] = ARITH_T(0.0);
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
      uint xi = x_group + iy * y_step + ix * x_step;
      uint wi = w_group + ky * pc.KW + kx;
      ARITH_T acc[OCB];
      ARITH_T block[OCB];
      [[unroll]] for (uint j = 0u; j < OCB; ++j) {
        acc[j] = ARITH_T(0.0);
        block[j] = ARITH_T(0.0);
      }
      for (uint ic = 0u; ic < icg; ++ic) {
        if ((ic & 15u) == 0u) {
          [[unroll]] for (uint j = 0u; j < OCB; ++j) {
            acc[j] += block[j];
            block[j] = ARITH_T(0.0);
          }
        }
        ARITH_T xv = LOAD(x[xi]);
        [[unroll]] for (uint j = 0u; j < OCB; ++j) block[j] += xv * LOAD(w[wi + j * w_oc_step]);
        xi += x_c_step;
        wi += w_c_step;
      }
      [[unroll]] for (uint j = 0u; j < OCB; ++j) total[j] += acc[j] + block[j];
    }
  }
  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    ARITH_T v = total[j];
    if (HAS_BIAS) v += ARITH_T(bias[oc + j]);
    uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc + j
                  : ((n * pc.OC + oc + j) * pc.OH + oy) * pc.OW + ox;
    y[o] = STORE(v);
  }
}
