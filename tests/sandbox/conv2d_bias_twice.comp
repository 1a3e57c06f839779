// A deliberately broken edit for the shader sandbox's tests: conv2d_loop_order.comp that adds
// the bias twice (a slip an edit makes). Every case with a bias is off by the bias, O(1):
// kernel-check must fail exactly those, and a conv node with a bias (or a folded BN shift) must
// exceed its tolerance in `run` and `compare`. (An edit that ignores HAS_BIAS altogether,
// conv2d_no_bias.comp, is refused before it runs: it does not use a constant the kernel does.)
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool HAS_BN = false;
layout(constant_id = 3) const bool HAS_RESIDUAL = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool NHWC = false;
layout(constant_id = 6) const uint OCB = 1u;
layout(constant_id = 7) const uint PXB = 1u;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer BnStats { float bn[]; };
layout(std430, binding = 4) readonly buffer Residual { STORE_T res[]; };
layout(std430, binding = 5) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint N, C, H, W;
  uint OC, OH, OW;
  uint KH, KW;
  uint SH, SW;
  int PT, PL;
  uint DH, DW;
  uint groups;
  float alpha, beta;
  float eps;
  uint first, end;
} pc;

void main() {
  uint idx = pc.first + flat_invocation_index();
  uint blocks = pc.OC / OCB;
  uint row_blocks = (pc.OW + PXB - 1u) / PXB;
  if (idx >= min(pc.N * blocks * pc.OH * row_blocks, pc.end)) return;

  uint oxb, oy, ob, n;
  if (NHWC) {
    ob = idx % blocks;
    uint t = idx / blocks;
    oxb = t % row_blocks;
    t /= row_blocks;
    oy = t % pc.OH;
    n = t / pc.OH;
  } else {
    oxb = idx % row_blocks;
    uint t = idx / row_blocks;
    oy = t % pc.OH;
    t /= pc.OH;
    ob = t % blocks;
    n = t / blocks;
  }
  uint oc0 = ob * OCB;
  uint ox0 = oxb * PXB;
  uint pixels = min(PXB, pc.OW - ox0);
  uint icg = pc.C / pc.groups;
  uint g = oc0 / (pc.OC / pc.groups);

  float acc[OCB][PXB];
  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    [[unroll]] for (uint q = 0u; q < PXB; ++q) acc[j][q] = 0.0;
  }
  for (uint ky = 0u; ky < pc.KH; ++ky) {
    int iy = int(oy * pc.SH) - pc.PT + int(ky * pc.DH);
    if (iy < 0 || iy >= int(pc.H)) continue;
    for (uint kx = 0u; kx < pc.KW; ++kx) {
      for (uint ic = 0u; ic < icg; ++ic) {
        uint c = g * icg + ic;
        float xv[PXB];
        [[unroll]] for (uint q = 0u; q < PXB; ++q) {
          int ix = int((ox0 + q) * pc.SW) - pc.PL + int(kx * pc.DW);
          bool inside = q < pixels && ix >= 0 && ix < int(pc.W);
          uint xi = NHWC ? ((n * pc.H + uint(iy)) * pc.W + uint(ix)) * pc.C + c
                         : ((n * pc.C + c) * pc.H + uint(iy)) * pc.W + uint(ix);
          xv[q] = inside ? float(x[xi]) : 0.0;
        }
        [[unroll]] for (uint j = 0u; j < OCB; ++j) {
          float wv = float(w[(((oc0 + j) * icg + ic) * pc.KH + ky) * pc.KW + kx]);
          [[unroll]] for (uint q = 0u; q < PXB; ++q) acc[j][q] += xv[q] * wv;
        }
      }
    }
  }

  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    uint oc = oc0 + j;
    [[unroll]] for (uint q = 0u; q < PXB; ++q) {
      if (q >= pixels) break;
      uint ox = ox0 + q;
      float v = acc[j][q];
      if (HAS_BIAS) v += 2.0 * bias[oc];
      if (HAS_BN) v = (v - bn[2u * pc.OC + oc]) * (bn[oc] / sqrt(bn[3u * pc.OC + oc] + pc.eps)) + bn[pc.OC + oc];
      uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
      if (HAS_RESIDUAL) v += float(res[o]);
      y[o] = STORE(apply_activation(ARITH_T(v), ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
    }
  }
}
