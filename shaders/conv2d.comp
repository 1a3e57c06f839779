// conv2d: direct convolution with a fused epilogue.
//   y[n,oc,oy,ox] = act( bn( sum_{ic,ky,kx} x[n, g*ICg+ic, oy*SH-PT+ky*DH, ox*SW-PL+kx*DW]
//                                          * w[oc, ic, ky, kx] + bias[oc] ) + residual[n,oc,oy,ox] )
// Layout: x, residual and y NCHW, or NHWC when the NHWC constant is set (the executor's
// --layout nhwc); w OIHW ([OC, C/groups, KH, KW]) in both; bn stats [4, OC] rows gamma, beta,
// mean, var. Bias, BN, residual and activation are switched by specialization constants, so the
// plain conv, the run-time fused conv+BN+act and the folded conv+bias(+residual)+act are one
// source and three pipelines.
// One invocation computes OCB (1, 4 or 8) output channels of one pixel; out-of-bounds taps
// (padding) contribute zero.
// Accumulation in ARITH_T, in (ic, ky, kx) order (three-level, see main) in both layouts, so an NHWC run sums the same
// products in the same order as an NCHW run and the two agree bit for bit (an NHWC-friendly
// (ky, kx, ic) order would read memory more contiguously but change every rounding); BN is applied as (acc - mean) * (gamma /
// sqrt(var + eps)) + beta, the same arithmetic as the standalone BN kernel.
// variants: f16s f16
// Numerics per variant: fp32 and f16s (fp16 x, w, residual, y; fp32 arithmetic) accumulate in
// fp32, so f16s differs from fp32 only by the roundings of the stored tensors. f16 multiplies
// and accumulates in fp16, like ncnn's fp16 arithmetic: the sum's rounding grows like
// sqrt(K) * 2^-11 relative for K = C/groups*KH*KW terms (about 1.6e-2 at K = 1152), which is
// the deployment drift users want to see. The BN scale gamma / sqrt(var + eps) is a
// per-channel parameter, not tensor arithmetic: it is computed in fp32 from the fp32 statistics
// (var + eps with eps = 1e-5 sits at fp16's subnormal edge) and rounded to fp16 once, as ncnn
// precomputes its BN a/b on the host; the per-element affine, residual add and activation are
// fp16. Bias and statistics are fp32 in memory in every variant.
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool HAS_BN = false;
layout(constant_id = 3) const bool HAS_RESIDUAL = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool NHWC = false;  // x, residual, y NHWC instead of NCHW
// Output channels per invocation (1, 4 or 8; the encoder picks the largest that divides the
// output channels per group).
layout(constant_id = 6) const uint OCB = 1u;

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
  float alpha, beta;  // activation parameters
  float eps;          // BN epsilon
} pc;

void main() {
  // One invocation computes OCB consecutive output channels of one output pixel: each input
  // value is loaded once for OCB weights. The work index enumerates (pixel, channel block) in
  // y's physical order with the block in place of the channel.
  uint idx = flat_invocation_index();
  uint blocks = pc.OC / OCB;
  uint total = pc.N * blocks * pc.OH * pc.OW;
  if (idx >= total) return;

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
  uint oc0 = ob * OCB;

  uint icg = pc.C / pc.groups;   // input channels per group
  uint ocg = pc.OC / pc.groups;  // output channels per group (a multiple of OCB)
  uint g = oc0 / ocg;

  int iy0 = int(oy * pc.SH) - pc.PT;
  int ix0 = int(ox * pc.SW) - pc.PL;

  // x[n, c, iy, ix] sits at x_base(c) + iy * y_step + ix * x_step.
  uint y_step = NHWC ? pc.W * pc.C : pc.W;
  uint x_step = NHWC ? pc.C : 1u;
  uint w_oc_stride = icg * pc.KH * pc.KW;  // from one output channel's weights to the next

  // Summed in three levels — taps of one input channel, blocks of 16 channels, the total —
  // so rounding error grows like sqrt(KH*KW) + sqrt(16) + sqrt(C/16) instead of sqrt(K): about
  // 3x less for a 1x1 conv over 2048 channels, which keeps a folded conv within 1e-6 of the
  // unfused chain it replaces. Every output channel's sum has the same order whatever OCB is.
  ARITH_T acc[OCB];
  ARITH_T block[OCB];
  ARITH_T part[OCB];
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
    [[unroll]] for (uint j = 0u; j < OCB; ++j) part[j] = ARITH_T(0.0);
    uint c = g * icg + ic;
    uint x_base = NHWC ? n * pc.H * pc.W * pc.C + c : ((n * pc.C + c) * pc.H) * pc.W;
    uint w_base = ((oc0 * icg + ic) * pc.KH) * pc.KW;
    for (uint ky = 0u; ky < pc.KH; ++ky) {
      int iy = iy0 + int(ky * pc.DH);
      if (iy < 0 || iy >= int(pc.H)) continue;
      for (uint kx = 0u; kx < pc.KW; ++kx) {
        int ix = ix0 + int(kx * pc.DW);
        if (ix < 0 || ix >= int(pc.W)) continue;
        ARITH_T xv = LOAD(x[x_base + uint(iy) * y_step + uint(ix) * x_step]);
        uint wi = w_base + ky * pc.KW + kx;
        [[unroll]] for (uint j = 0u; j < OCB; ++j) part[j] += xv * LOAD(w[wi + j * w_oc_stride]);
      }
    }
    [[unroll]] for (uint j = 0u; j < OCB; ++j) block[j] += part[j];
  }

  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    uint oc = oc0 + j;
    ARITH_T v = acc[j] + block[j];
    if (HAS_BIAS) v += ARITH_T(bias[oc]);
    if (HAS_BN) {
      float gamma = bn[oc];
      float beta_ = bn[pc.OC + oc];
      float mean = bn[2u * pc.OC + oc];
      float var = bn[3u * pc.OC + oc];
      v = (v - ARITH_T(mean)) * ARITH_T(gamma / sqrt(var + pc.eps)) + ARITH_T(beta_);
    }
    uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc
                    : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
    if (HAS_RESIDUAL) v += LOAD(res[o]);
    y[o] = STORE(apply_activation(v, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
  }
}
