// conv2d: direct convolution with a fused epilogue.
//   y[n,oc,oy,ox] = act( bn( sum_{ic,ky,kx} x[n, g*ICg+ic, oy*SH-PT+ky*DH, ox*SW-PL+kx*DW]
//                                          * w[oc, ic, ky, kx] + bias[oc] ) + residual[n,oc,oy,ox] )
// Layout: x, residual and y NCHW, or NHWC when the NHWC constant is set (the executor's
// --layout nhwc); w OIHW ([OC, C/groups, KH, KW]) in both; bn stats [4, OC] rows gamma, beta,
// mean, var. Bias, BN, residual and activation are switched by specialization constants, so the
// plain conv, the run-time fused conv+BN+act and the folded conv+bias(+residual)+act are one
// source and three pipelines.
// One invocation computes OCB (1, 4 or 8) output channels of PXB (1, 2, 4 or 8) horizontally
// adjacent pixels: each weight it loads serves PXB pixels and each input value OCB channels.
// Out-of-bounds taps (padding) contribute zero.
// A dispatch may cover a slice of the work indices only, [first, end): the encoder splits a
// big convolution into several dispatches so that a queue shared with a window never runs one
// for long. Each output is computed by the same invocation code either way, so the result is
// the same bit for bit.
// Accumulation in ARITH_T, in (ic, ky, kx) order (three-level, see main) in both layouts, so an NHWC run sums the same
// products in the same order as an NCHW run and the two agree bit for bit (an NHWC-friendly
// (ky, kx, ic) order would read memory more contiguously but change every rounding); BN is applied as (acc - mean) * (gamma /
// sqrt(var + eps)) + beta, the same arithmetic as the standalone BN kernel.
// variants: f16s f16 texel texel_f16s texel_f16
// The texel variants (FS_TEXEL_READS; the depthwise algorithm runs them) read x and w as uniform
// texel buffers (R32F, or R16F where they are stored in fp16): lavapipe fetches a texel for all
// lanes with one gather, where it loads a storage buffer lane by lane. The same values reach the
// same arithmetic, so they give the storage variants' bits.
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
// Output pixels per invocation along a row (1, 2, 4 or 8); the last block of a row may be partial.
layout(constant_id = 7) const uint PXB = 1u;
// The kernel's height and width when the encoder fixes them (up to 5x5: depthwise 3x3 and 5x5
// live here), 0 to read them from the push constants: fixed, the tap loops unroll.
layout(constant_id = 8) const uint FIXED_KH = 0u;
layout(constant_id = 9) const uint FIXED_KW = 0u;
// The horizontal stride S (1 or 2), set with FIXED_KW when the horizontal dilation is 1 (the
// encoder checks); 0 otherwise. Then the (PXB - 1) * S + FIXED_KW inputs a row of taps reads are
// loaded once, each serving every tap that reads it, instead of PXB loads per tap (a 5x5
// depthwise conv at PXB 8: 12 loads per row at stride 1, 19 at stride 2, not 40). The same
// products are summed in the same order, so the result is the same bit for bit.
layout(constant_id = 10) const uint ROW_WINDOW_STRIDE = 0u;
// The three above compute the same outputs faster, so a sandbox edit need not declare them (its
// other constants it must: gpu/spirv_interface.hpp).
// an edit may omit: FIXED_KH FIXED_KW ROW_WINDOW_STRIDE

#ifdef FS_TEXEL_READS
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
// x's element i where `inside`, else 0. The fetch's index is clamped as well: a compiler may
// fetch before it selects, and a texel fetch past the buffer's end is undefined.
#define X_IF(inside, i) ((inside) ? ARITH_T(texelFetch(x, int((inside) ? (i) : 0u)).r) : ARITH_T(0.0))
#define W_AT(i) ARITH_T(texelFetch(w, int(i)).r)
#else
layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
#define X_IF(inside, i) ((inside) ? LOAD(x[i]) : ARITH_T(0.0))
#define W_AT(i) LOAD(w[i])
#endif
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
  uint first, end;    // the work indices this dispatch covers
} pc;

void main() {
  // One invocation computes OCB consecutive output channels of PXB consecutive pixels of one
  // output row. The work index enumerates (pixel block, channel block) in y's physical order
  // with the blocks in place of the pixel and the channel.
  uint idx = pc.first + flat_invocation_index();
  uint blocks = pc.OC / OCB;
  uint row_blocks = (pc.OW + PXB - 1u) / PXB;
  uint total = pc.N * blocks * pc.OH * row_blocks;
  if (idx >= min(total, pc.end)) return;

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
  uint pixels = min(PXB, pc.OW - ox0);  // this block's pixels that exist

  uint icg = pc.C / pc.groups;   // input channels per group
  uint ocg = pc.OC / pc.groups;  // output channels per group (a multiple of OCB)
  uint g = oc0 / ocg;

  int iy0 = int(oy * pc.SH) - pc.PT;
  int ix0 = int(ox0 * pc.SW) - pc.PL;

  // x[n, c, iy, ix] sits at x_base(c) + iy * y_step + ix * x_step.
  uint y_step = NHWC ? pc.W * pc.C : pc.W;
  uint x_step = NHWC ? pc.C : 1u;
  uint w_oc_stride = icg * pc.KH * pc.KW;  // from one output channel's weights to the next

  // Summed in three levels — taps of one input channel, blocks of 16 channels, the total —
  // so rounding error grows like sqrt(KH*KW) + sqrt(16) + sqrt(C/16) instead of sqrt(K): about
  // 3x less for a 1x1 conv over 2048 channels, which keeps a folded conv within 1e-6 of the
  // unfused chain it replaces. Every output's sum has the same order whatever OCB and PXB are.
  ARITH_T acc[OCB][PXB];
  ARITH_T block[OCB][PXB];
  ARITH_T part[OCB][PXB];
  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    [[unroll]] for (uint q = 0u; q < PXB; ++q) {
      acc[j][q] = ARITH_T(0.0);
      block[j][q] = ARITH_T(0.0);
    }
  }
  for (uint ic = 0u; ic < icg; ++ic) {
    if ((ic & 15u) == 0u) {
      [[unroll]] for (uint j = 0u; j < OCB; ++j) {
        [[unroll]] for (uint q = 0u; q < PXB; ++q) {
          acc[j][q] += block[j][q];
          block[j][q] = ARITH_T(0.0);
        }
      }
    }
    [[unroll]] for (uint j = 0u; j < OCB; ++j) {
      [[unroll]] for (uint q = 0u; q < PXB; ++q) part[j][q] = ARITH_T(0.0);
    }
    uint c = g * icg + ic;
    uint x_base = NHWC ? n * pc.H * pc.W * pc.C + c : ((n * pc.C + c) * pc.H) * pc.W;
    uint w_base = ((oc0 * icg + ic) * pc.KH) * pc.KW;
    const uint kh = FIXED_KH != 0u ? FIXED_KH : pc.KH;
    const uint kw = FIXED_KW != 0u ? FIXED_KW : pc.KW;
    [[unroll]] for (uint ky = 0u; ky < kh; ++ky) {
      int iy = iy0 + int(ky * pc.DH);
      if (iy < 0 || iy >= int(pc.H)) continue;
      uint row = x_base + uint(iy) * y_step;
      if (ROW_WINDOW_STRIDE != 0u) {
        // Only q < pixels is ever stored, so the window reads the real input there too (zero
        // outside the row, as a padding tap). One spare element: the length is 0 (no valid size)
        // where the window is off and FIXED_KW is 0.
        const uint S = max(ROW_WINDOW_STRIDE, 1u);
        ARITH_T xr[(PXB - 1u) * ROW_WINDOW_STRIDE + FIXED_KW + 1u];
        [[unroll]] for (uint t = 0u; t < (PXB - 1u) * S + FIXED_KW; ++t) {
          int ix = ix0 + int(t);
          xr[t] = X_IF(ix >= 0 && ix < int(pc.W), row + uint(ix) * x_step);
        }
        [[unroll]] for (uint kx = 0u; kx < FIXED_KW; ++kx) {
          uint wi = w_base + ky * pc.KW + kx;
          [[unroll]] for (uint j = 0u; j < OCB; ++j) {
            ARITH_T wv = W_AT(wi + j * w_oc_stride);
            [[unroll]] for (uint q = 0u; q < PXB; ++q) part[j][q] += xr[q * S + kx] * wv;
          }
        }
        continue;
      }
      [[unroll]] for (uint kx = 0u; kx < kw; ++kx) {
        // A padding tap is a zero input: its products add +0 (or -0), which leaves every
        // partial sum as it was, the same as skipping the tap.
        ARITH_T xv[PXB];
        [[unroll]] for (uint q = 0u; q < PXB; ++q) {
          int ix = ix0 + int(q * pc.SW + kx * pc.DW);
          bool inside = q < pixels && ix >= 0 && ix < int(pc.W);
          xv[q] = X_IF(inside, row + uint(ix) * x_step);
        }
        uint wi = w_base + ky * pc.KW + kx;
        [[unroll]] for (uint j = 0u; j < OCB; ++j) {
          ARITH_T wv = W_AT(wi + j * w_oc_stride);
          [[unroll]] for (uint q = 0u; q < PXB; ++q) part[j][q] += xv[q] * wv;
        }
      }
    }
    [[unroll]] for (uint j = 0u; j < OCB; ++j) {
      [[unroll]] for (uint q = 0u; q < PXB; ++q) block[j][q] += part[j][q];
    }
  }

  [[unroll]] for (uint j = 0u; j < OCB; ++j) {
    uint oc = oc0 + j;
    ARITH_T scale = ARITH_T(1.0), shift = ARITH_T(0.0), mean = ARITH_T(0.0);
    if (HAS_BN) {
      float var = bn[3u * pc.OC + oc];
      scale = ARITH_T(bn[oc] / sqrt(var + pc.eps));
      shift = ARITH_T(bn[pc.OC + oc]);
      mean = ARITH_T(bn[2u * pc.OC + oc]);
    }
    [[unroll]] for (uint q = 0u; q < PXB; ++q) {
      if (q >= pixels) break;
      uint ox = ox0 + q;
      ARITH_T v = acc[j][q] + block[j][q];
      if (HAS_BIAS) v += ARITH_T(bias[oc]);
      if (HAS_BN) v = (v - mean) * scale + shift;
      uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc
                      : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
      if (HAS_RESIDUAL) v += LOAD(res[o]);
      y[o] = STORE(apply_activation(v, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
    }
  }
}
