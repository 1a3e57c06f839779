// conv2d: direct convolution with a fused epilogue.
//   y[n,oc,oy,ox] = act( bn( sum_{ic,ky,kx} x[n, g*ICg+ic, oy*SH-PT+ky*DH, ox*SW-PL+kx*DW]
//                                          * w[oc, ic, ky, kx] + bias[oc] ) + residual[n,oc,oy,ox] )
// Layout: x NCHW, w OIHW ([OC, C/groups, KH, KW]), y NCHW; bn stats [4, OC] rows gamma, beta,
// mean, var. Bias, BN, residual and activation are switched by specialization constants, so the
// plain conv, the run-time fused conv+BN+act and the folded conv+bias(+residual)+act are one
// source and three pipelines.
// One invocation computes one output element; out-of-bounds taps (padding) contribute zero.
// Accumulation in fp32, in (ic, ky, kx) order; BN is applied as (acc - mean) * (gamma /
// sqrt(var + eps)) + beta, the same arithmetic as the standalone BN kernel.
#version 450
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool HAS_BN = false;
layout(constant_id = 3) const bool HAS_RESIDUAL = false;
layout(constant_id = 4) const uint ACT = 0u;

layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer BnStats { float bn[]; };
layout(std430, binding = 4) readonly buffer Residual { float res[]; };
layout(std430, binding = 5) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint N, C, H, W;
  uint OC, OH, OW;
  uint KH, KW;
  uint SH, SW;
  int PT, PL;
  uint DH, DW;
  uint groups;
  float alpha, beta;  // activation parameters
  float eps;          // BN epsilon
} pc;

void main() {
  uint idx = flat_invocation_index();
  uint total = pc.N * pc.OC * pc.OH * pc.OW;
  if (idx >= total) return;

  uint ox = idx % pc.OW;
  uint t = idx / pc.OW;
  uint oy = t % pc.OH;
  t /= pc.OH;
  uint oc = t % pc.OC;
  uint n = t / pc.OC;

  uint icg = pc.C / pc.groups;   // input channels per group
  uint ocg = pc.OC / pc.groups;  // output channels per group
  uint g = oc / ocg;

  int iy0 = int(oy * pc.SH) - pc.PT;
  int ix0 = int(ox * pc.SW) - pc.PL;

  float acc = 0.0;
  for (uint ic = 0u; ic < icg; ++ic) {
    uint x_base = ((n * pc.C + g * icg + ic) * pc.H) * pc.W;
    uint w_base = ((oc * icg + ic) * pc.KH) * pc.KW;
    for (uint ky = 0u; ky < pc.KH; ++ky) {
      int iy = iy0 + int(ky * pc.DH);
      if (iy < 0 || iy >= int(pc.H)) continue;
      for (uint kx = 0u; kx < pc.KW; ++kx) {
        int ix = ix0 + int(kx * pc.DW);
        if (ix < 0 || ix >= int(pc.W)) continue;
        acc += x[x_base + uint(iy) * pc.W + uint(ix)] * w[w_base + ky * pc.KW + kx];
      }
    }
  }

  if (HAS_BIAS) acc += bias[oc];
  if (HAS_BN) {
    float gamma = bn[oc];
    float beta_ = bn[pc.OC + oc];
    float mean = bn[2u * pc.OC + oc];
    float var = bn[3u * pc.OC + oc];
    acc = (acc - mean) * (gamma / sqrt(var + pc.eps)) + beta_;
  }
  if (HAS_RESIDUAL) acc += res[idx];
  y[idx] = apply_activation(acc, ACT, pc.alpha, pc.beta);
}
