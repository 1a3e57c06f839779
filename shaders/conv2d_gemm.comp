// conv2d_gemm: the convolution of conv2d.comp, with the same fused epilogue, computed as an
// implicit GEMM per group g:
//   Y_g[oc, p] = sum_k W_g[oc, k] * X_g[k, p],   k = (ic, ky, kx), p = (n, oy, ox)
// where W_g is the OIHW weight read as an [OC/groups, C/groups*KH*KW] matrix (its natural row
// order, so no repacking) and X_g is the im2col matrix of the input, never stored: each tile of
// it is gathered from x when it is staged. A 1x1 conv is a plain GEMM on the same tiles (its k is
// the input channel and its p the pixel).
// Layout: as conv2d.comp (x, residual, y NCHW, or NHWC with the NHWC constant; w OIHW; bn stats
// [4, OC]; bias and stats fp32 in every variant).
// Work: one workgroup computes a BM x BN tile of Y_g (BM output channels of one group x BN
// output pixels, batch included in the pixels). Per step of BK along k it stages the BM x BK
// weight tile and the BK x BN input tile in shared memory, then each invocation multiplies
// them into its register tile of TM channels x TN pixels. The invocations form WM x WN: an
// invocation's channels are TM consecutive rows, its pixels TN columns WN apart, so within one
// SIMD batch of invocations (lavapipe runs 8 at a time along gl_LocalInvocationIndex) the weight
// values read are the same for every invocation (one broadcast load) and the input values are
// neighbours.
// A dispatch may cover a slice of the tiles only, [first, end) (the encoder splits a big
// convolution so a queue shared with a window never runs one dispatch for long); each tile is
// computed by the same code either way, so the result is the same bit for bit.
// Numerics: accumulation in ARITH_T in two levels — the BK products of one k-step in k order,
// then the steps' sums in k order — so rounding grows like sqrt(BK) + sqrt(K/BK) rather than
// sqrt(K) for K = C/groups*KH*KW (as conv2d.comp's three levels do; the order differs from
// conv2d.comp's, so the two agree to rounding, not bit for bit). Padding taps and the tile's
// rows past K are zeros, whose products add +-0 and leave every sum as it was. The epilogue
// (bias, BN as (acc - mean) * (gamma / sqrt(var + eps)) + beta, residual, activation) is
// conv2d.comp's, in the same arithmetic.
// variants: f16s f16
// f16s stores x, w, residual and y in fp16 and computes in fp32 (the shared tiles hold fp32);
// f16 multiplies and accumulates in fp16 as conv2d_f16 does (see conv2d.comp for the BN scale).
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool HAS_BN = false;
layout(constant_id = 3) const bool HAS_RESIDUAL = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool NHWC = false;
// The register tile (channels x pixels per invocation), the invocations along the pixels (the
// rest, LOCAL_SIZE / WN, go along the channels) and the depth of one staged k-step. The encoder
// checks the tile shapes fit the loaders below (ops/conv2d_gpu.cpp).
layout(constant_id = 6) const uint TM = 4u;
layout(constant_id = 7) const uint TN = 4u;
layout(constant_id = 8) const uint WN = 16u;
layout(constant_id = 9) const uint BK = 16u;

const uint WM = LOCAL_SIZE / WN;
const uint BM = WM * TM;
const uint BN = WN * TN;
// The input tile is loaded column-wise: each invocation owns B_COLS pixel columns (their
// (n, oy, ox) is worked out once, not per k-step) and B_ROWS of the k rows, B_ROW_STEP apart.
const uint B_COLS = BN >= LOCAL_SIZE ? BN / LOCAL_SIZE : 1u;
const uint B_ROW_STEP = BN >= LOCAL_SIZE ? 1u : LOCAL_SIZE / BN;
const uint B_ROWS = BK / B_ROW_STEP;
const uint A_LOADS = BM * BK / LOCAL_SIZE;

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
  uint first, end;    // the tiles this dispatch covers
} pc;

shared ARITH_T a_tile[BM * BK];  // [m][k]: weights, rows of one output channel
shared ARITH_T b_tile[BK * BN];  // [k][p]: im2col rows

void main() {
  uint icg = pc.C / pc.groups;
  uint ocg = pc.OC / pc.groups;
  uint khw = pc.KH * pc.KW;
  uint K = icg * khw;
  uint P = pc.N * pc.OH * pc.OW;
  uint tiles_n = (P + BN - 1u) / BN;
  uint tiles_m = (ocg + BM - 1u) / BM;
  uint total = pc.groups * tiles_m * tiles_n;
  // The whole workgroup leaves together (before any barrier): past the last tile of the slice.
  uint tile = pc.first + gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (tile >= min(total, pc.end)) return;
  // Pixel tiles fastest: neighbouring workgroups share a weight tile.
  uint nt = tile % tiles_n;
  uint t = tile / tiles_n;
  uint mt = t % tiles_m;
  uint g = t / tiles_m;
  uint m0 = mt * BM;
  uint p0 = nt * BN;

  uint lid = gl_LocalInvocationID.x;
  uint tn = lid % WN;
  uint tm = lid / WN;

  // This invocation's input-tile columns: where their receptive fields start.
  uint x_step_c = NHWC ? 1u : pc.H * pc.W;   // from one input channel to the next
  uint x_step_y = NHWC ? pc.W * pc.C : pc.W;
  uint x_step_x = NHWC ? pc.C : 1u;
  uint col_base[B_COLS];
  int col_iy[B_COLS], col_ix[B_COLS];
  bool col_valid[B_COLS];
  [[unroll]] for (uint c = 0u; c < B_COLS; ++c) {
    uint p = p0 + lid % BN + c * LOCAL_SIZE;
    col_valid[c] = p < P;
    uint ox = p % pc.OW;
    uint r = p / pc.OW;
    uint oy = r % pc.OH;
    uint n = r / pc.OH;
    col_iy[c] = int(oy * pc.SH) - pc.PT;
    col_ix[c] = int(ox * pc.SW) - pc.PL;
    col_base[c] = n * pc.C * pc.H * pc.W + g * icg * x_step_c;
  }
  uint row0 = BN >= LOCAL_SIZE ? 0u : lid / BN;

  ARITH_T acc[TM][TN];
  ARITH_T part[TM][TN];
  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    [[unroll]] for (uint j = 0u; j < TN; ++j) acc[i][j] = ARITH_T(0.0);
  }

  uint w_row0 = (g * ocg + m0) * K;  // the weight tile's first row in w
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    // Stage the weight tile: consecutive invocations read consecutive k of one row.
    [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {
      uint e = lid + l * LOCAL_SIZE;
      uint m = e / BK;
      uint kk = e % BK;
      bool inside = m0 + m < ocg && k0 + kk < K;
      a_tile[e] = inside ? LOAD(w[w_row0 + m * K + k0 + kk]) : ARITH_T(0.0);
    }
    // Stage the input tile: row k = (ic, ky, kx) of the im2col matrix for this invocation's
    // columns; taps in the padding, and rows past K, are zeros.
    [[unroll]] for (uint r = 0u; r < B_ROWS; ++r) {
      uint kk = row0 + r * B_ROW_STEP;
      uint k = k0 + kk;
      uint ic = k / khw;
      uint rest = k - ic * khw;
      uint ky = rest / pc.KW;
      uint kx = rest - ky * pc.KW;
      int dy = int(ky * pc.DH);
      int dx = int(kx * pc.DW);
      [[unroll]] for (uint c = 0u; c < B_COLS; ++c) {
        int iy = col_iy[c] + dy;
        int ix = col_ix[c] + dx;
        bool inside = col_valid[c] && k < K && iy >= 0 && iy < int(pc.H) && ix >= 0 && ix < int(pc.W);
        uint src = col_base[c] + ic * x_step_c + uint(iy) * x_step_y + uint(ix) * x_step_x;
        b_tile[kk * BN + lid % BN + c * LOCAL_SIZE] = inside ? LOAD(x[src]) : ARITH_T(0.0);
      }
    }
    barrier();

    [[unroll]] for (uint i = 0u; i < TM; ++i) {
      [[unroll]] for (uint j = 0u; j < TN; ++j) part[i][j] = ARITH_T(0.0);
    }
    [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
      ARITH_T b[TN];
      [[unroll]] for (uint j = 0u; j < TN; ++j) b[j] = b_tile[kk * BN + tn + j * WN];
      [[unroll]] for (uint i = 0u; i < TM; ++i) {
        ARITH_T a = a_tile[(tm * TM + i) * BK + kk];
        [[unroll]] for (uint j = 0u; j < TN; ++j) part[i][j] += a * b[j];
      }
    }
    [[unroll]] for (uint i = 0u; i < TM; ++i) {
      [[unroll]] for (uint j = 0u; j < TN; ++j) acc[i][j] += part[i][j];
    }
    barrier();  // the next step overwrites the tiles
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint ocl = m0 + tm * TM + i;
    if (ocl >= ocg) break;
    uint oc = g * ocg + ocl;
    ARITH_T scale = ARITH_T(1.0), shift = ARITH_T(0.0), mean = ARITH_T(0.0);
    if (HAS_BN) {
      float var = bn[3u * pc.OC + oc];
      scale = ARITH_T(bn[oc] / sqrt(var + pc.eps));
      shift = ARITH_T(bn[pc.OC + oc]);
      mean = ARITH_T(bn[2u * pc.OC + oc]);
    }
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint p = p0 + tn + j * WN;
      if (p >= P) break;
      uint ox = p % pc.OW;
      uint r = p / pc.OW;
      uint oy = r % pc.OH;
      uint n = r / pc.OH;
      ARITH_T v = acc[i][j];
      if (HAS_BIAS) v += ARITH_T(bias[oc]);
      if (HAS_BN) v = (v - mean) * scale + shift;
      uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc
                    : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
      if (HAS_RESIDUAL) v += LOAD(res[o]);
      y[o] = STORE(apply_activation(v, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
    }
  }
}
