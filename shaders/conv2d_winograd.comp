// conv2d_winograd: Winograd F(2x2, 3x3) and F(4x4, 3x3) (M, the output tile's edge: 2 or 4) for
// 3x3 convolutions of stride 1 and dilation 1, with the same fused epilogue, bindings and push
// constants as conv2d.comp:
//   y[n,oc,oy,ox] = act( bn( sum_{ic,ky,kx} x[n, g*ICg+ic, oy-PT+ky, ox-PL+kx] * w[oc, ic, ky, kx]
//                            + bias[oc] ) + residual[n,oc,oy,ox] )
// An MxM output tile is A^T [ sum_ic U[oc,ic] (.) V[ic] ] A with V = B^T d B (d: the tile's TxT
// input patch, T = M+2) and U = G g G^T, the 3x3 kernel g transformed once at load on the host
// (ops::winograd_weights, in float64; binding 1 holds U as [OC, C/groups, T, T]):
//   M = 2: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
//   M = 4: B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
//                 0 4 0 -5 0 1]
//          A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// T*T multiply-adds per input channel make M*M outputs, where the direct kernel spends 9*M*M:
// 2.25x fewer for M = 2, 4x for M = 4, paid for with the transforms (adds) and with rounding:
// U's and V's entries are weighted sums of weights and inputs, and the inverse transform sums
// the T*T per-element sums over the channels with coefficients up to 1 (M = 2) or 8 (M = 4), so
// an output carries more roundings than a direct sum of the same products (the shader suite
// measures by how much against the float64 oracle: workbench::kConv2dWinogradRelL2).
// Lanes as in conv2d_subgroup.comp: the SG lanes of a subgroup share a block of OCT output
// channels; each lane computes those OCT channels for TL consecutive tiles (tiles in row-major
// order over the tile grid, so a subgroup's tiles may span rows). Lane l loads U of channels
// l, l+SG, ... and hands every value to the other lanes with subgroupShuffle (a register permute
// on lavapipe, where a buffer load costs one load per lane); x and U are uniform texel buffers,
// which lavapipe fetches with one gather.
// One sum per transformed element over the input channels (no 16-channel blocks as in the
// direct kernels: their second accumulator set would double T*T*OCT*TL registers).
// variants: f16s f16
// f16s stores x, U, residual and y in fp16 (U rounded once from the float64 transform) and
// computes in fp32; f16 computes the transforms and sums in fp16 too.
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"

layout(constant_id = 1) const bool HAS_BIAS = false;
layout(constant_id = 2) const bool HAS_BN = false;
layout(constant_id = 3) const bool HAS_RESIDUAL = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool NHWC = false;
// Output channels per subgroup (and per lane): a multiple of the subgroup size.
layout(constant_id = 6) const uint OCT = 8u;
// Consecutive 2x2 tiles per lane.
layout(constant_id = 7) const uint TL = 2u;
// The subgroup size the encoder planned with; the shader checks it against gl_SubgroupSize.
layout(constant_id = 8) const uint SG = 8u;
// The output tile's edge: 2 (F(2x2,3x3)) or 4 (F(4x4,3x3)).
layout(constant_id = 9) const uint M = 2u;

layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer u;  // U = G g G^T, [OC, C/groups, T, T]
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer BnStats { float bn[]; };
layout(std430, binding = 4) readonly buffer Residual { STORE_T res[]; };
layout(std430, binding = 5) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint N, C, H, W;
  uint OC, OH, OW;
  uint KH, KW;  // 3, 3
  uint SH, SW;  // 1, 1
  int PT, PL;
  uint DH, DW;  // 1, 1
  uint groups;
  float alpha, beta;
  float eps;
  uint first, end;  // the work items (subgroup tiles) this dispatch covers
} pc;

const uint UPL = OCT / SG;  // output channels whose U each lane loads
const uint T = M + 2u;      // the input patch's (and U's) edge
const uint E = T * T;       // transformed elements per tile
const uint E_MAX = 36u;     // E for M = 4: the arrays' size (only the first E are used)

ARITH_T m[OCT][TL][E_MAX];  // the transformed sums, per channel, tile and element

// B^T times one line (a column, then a row) of the T inputs d[0..T).
void input_transform(const ARITH_T d[6], out ARITH_T b[6]) {
  if (M == 2u) {
    b[0] = d[0] - d[2];
    b[1] = d[1] + d[2];
    b[2] = d[2] - d[1];
    b[3] = d[1] - d[3];
    b[4] = b[5] = ARITH_T(0.0);
  } else {
    const ARITH_T s12 = d[1] + d[2], d12 = d[1] - d[2], d31 = d[3] - d[1], d42 = d[4] - d[2];
    b[0] = ARITH_T(4.0) * d[0] - ARITH_T(5.0) * d[2] + d[4];
    b[1] = (d[3] + d[4]) - ARITH_T(4.0) * s12;
    b[2] = (d[4] - d[3]) + ARITH_T(4.0) * d12;
    b[3] = d42 + ARITH_T(2.0) * d31;
    b[4] = d42 - ARITH_T(2.0) * d31;
    b[5] = ARITH_T(4.0) * d[1] - ARITH_T(5.0) * d[3] + d[5];
  }
}

// A^T times one line of T sums: the line's M outputs.
void output_transform(const ARITH_T s[6], out ARITH_T o[4]) {
  if (M == 2u) {
    o[0] = s[0] + s[1] + s[2];
    o[1] = s[1] - s[2] - s[3];
    o[2] = o[3] = ARITH_T(0.0);
  } else {
    const ARITH_T s12 = s[1] + s[2], d12 = s[1] - s[2], s34 = s[3] + s[4], d34 = s[3] - s[4];
    o[0] = s[0] + s12 + s34;
    o[1] = d12 + ARITH_T(2.0) * d34;
    o[2] = s12 + ARITH_T(4.0) * s34;
    o[3] = d12 + ARITH_T(8.0) * d34 + s[5];
  }
}

void main() {
  // A wrong subgroup size would hand lanes the wrong weights: write nothing instead.
  if (gl_SubgroupSize != SG) return;
  const uint lane = gl_SubgroupInvocationID;
  const uint item = pc.first +
      (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * (LOCAL_SIZE / SG) + gl_SubgroupID;

  const uint icg = pc.C / pc.groups;
  const uint ocg = pc.OC / pc.groups;
  const uint blocks_per_group = (ocg + OCT - 1u) / OCT;
  const uint tiles_y = (pc.OH + M - 1u) / M, tiles_x = (pc.OW + M - 1u) / M;
  const uint plane_tiles = tiles_y * tiles_x;
  const uint item_tiles = SG * TL;
  const uint plane_items = (plane_tiles + item_tiles - 1u) / item_tiles;
  const uint total = pc.N * pc.groups * blocks_per_group * plane_items;
  // `item` is the same for every lane, so the whole subgroup leaves together.
  if (item >= min(total, pc.end)) return;

  uint t = item;
  const uint tile_item = t % plane_items;
  t /= plane_items;
  const uint ob = t % blocks_per_group;
  t /= blocks_per_group;
  const uint g = t % pc.groups;
  const uint n = t / pc.groups;

  const uint oc0 = g * ocg + ob * OCT;
  const uint valid_oc = min(OCT, ocg - ob * OCT);
  const uint tile0 = tile_item * item_tiles + lane * TL;  // this lane's first tile

  // Each tile's top-left input (the patch is TxT from there); a tile past the plane's end
  // reads the last tile again (the lane still runs, for the shuffles) and stores nothing.
  int iy0[TL], ix0[TL];
  [[unroll]] for (uint i = 0u; i < TL; ++i) {
    const uint tile = min(tile0 + i, plane_tiles - 1u);
    iy0[i] = int(M * (tile / tiles_x)) - pc.PT;
    ix0[i] = int(M * (tile % tiles_x)) - pc.PL;
  }
  const uint y_step = NHWC ? pc.W * pc.C : pc.W;
  const uint x_step = NHWC ? pc.C : 1u;
  const uint c_step = NHWC ? 1u : pc.H * pc.W;

  uint u_lane[UPL];
  bool u_valid[UPL];
  [[unroll]] for (uint k = 0u; k < UPL; ++k) {
    const uint j = lane + SG * k;
    u_valid[k] = j < valid_oc;
    u_lane[k] = (oc0 + (u_valid[k] ? j : 0u)) * icg * E;
  }

  [[unroll]] for (uint j = 0u; j < OCT; ++j)
    [[unroll]] for (uint i = 0u; i < TL; ++i)
      [[unroll]] for (uint e = 0u; e < E; ++e) m[j][i][e] = ARITH_T(0.0);

  uint xc = NHWC ? n * pc.H * pc.W * pc.C + g * icg : (n * pc.C + g * icg) * pc.H * pc.W;
  for (uint ic = 0u; ic < icg; ++ic) {
    ARITH_T v[TL][E_MAX];
    [[unroll]] for (uint i = 0u; i < TL; ++i) {
      ARITH_T d[6][6];
      [[unroll]] for (uint r = 0u; r < T; ++r) {
        const int iy = iy0[i] + int(r);
        [[unroll]] for (uint c = 0u; c < T; ++c) {
          const int ix = ix0[i] + int(c);
          const bool inside = iy >= 0 && iy < int(pc.H) && ix >= 0 && ix < int(pc.W);
          const ARITH_T val = ARITH_T(texelFetch(x, int(inside ? xc + uint(iy) * y_step + uint(ix) * x_step : 0u)).r);
          d[r][c] = inside ? val : ARITH_T(0.0);
        }
      }
      // V = B^T d B: columns first, then rows.
      ARITH_T b[6][6];
      [[unroll]] for (uint c = 0u; c < T; ++c) {
        ARITH_T line[6], tl[6];
        [[unroll]] for (uint r = 0u; r < 6u; ++r) line[r] = r < T ? d[r][c] : ARITH_T(0.0);
        input_transform(line, tl);
        [[unroll]] for (uint r = 0u; r < T; ++r) b[r][c] = tl[r];
      }
      [[unroll]] for (uint r = 0u; r < T; ++r) {
        ARITH_T line[6], tl[6];
        [[unroll]] for (uint c = 0u; c < 6u; ++c) line[c] = c < T ? b[r][c] : ARITH_T(0.0);
        input_transform(line, tl);
        [[unroll]] for (uint c = 0u; c < T; ++c) v[i][r * T + c] = tl[c];
      }
    }
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      float ul[UPL];
      [[unroll]] for (uint k = 0u; k < UPL; ++k) {
        const float val = texelFetch(u, int(u_lane[k] + ic * E + e)).r;
        ul[k] = u_valid[k] ? val : 0.0;
      }
      [[unroll]] for (uint j = 0u; j < OCT; ++j) {
        const ARITH_T uj = ARITH_T(subgroupShuffle(ul[j / SG], j % SG));
        [[unroll]] for (uint i = 0u; i < TL; ++i) m[j][i][e] += v[i][e] * uj;
      }
    }
    xc += c_step;
  }

  [[unroll]] for (uint j = 0u; j < OCT; ++j) {
    if (j >= valid_oc) break;
    const uint oc = oc0 + j;
    ARITH_T scale = ARITH_T(1.0), shift = ARITH_T(0.0), mean = ARITH_T(0.0);
    if (HAS_BN) {
      const float var = bn[3u * pc.OC + oc];
      scale = ARITH_T(bn[oc] / sqrt(var + pc.eps));
      shift = ARITH_T(bn[pc.OC + oc]);
      mean = ARITH_T(bn[2u * pc.OC + oc]);
    }
    [[unroll]] for (uint i = 0u; i < TL; ++i) {
      const uint tile = tile0 + i;
      if (tile >= plane_tiles) break;
      // Y = A^T M A: columns first, then rows.
      ARITH_T s[4][6];
      [[unroll]] for (uint c = 0u; c < T; ++c) {
        ARITH_T line[6], ol[4];
        [[unroll]] for (uint r = 0u; r < 6u; ++r) line[r] = r < T ? m[j][i][r * T + c] : ARITH_T(0.0);
        output_transform(line, ol);
        [[unroll]] for (uint r = 0u; r < M; ++r) s[r][c] = ol[r];
      }
      const uint oy0 = M * (tile / tiles_x), ox0 = M * (tile % tiles_x);
      [[unroll]] for (uint r = 0u; r < M; ++r) {
        ARITH_T line[6], row[4];
        [[unroll]] for (uint c = 0u; c < 6u; ++c) line[c] = c < T ? s[r][c] : ARITH_T(0.0);
        output_transform(line, row);
        [[unroll]] for (uint c = 0u; c < M; ++c) {
          const uint oy = oy0 + r, ox = ox0 + c;
          if (oy >= pc.OH || ox >= pc.OW) continue;
          ARITH_T val = row[c];
          if (HAS_BIAS) val += ARITH_T(bias[oc]);
          if (HAS_BN) val = (val - mean) * scale + shift;
          const uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc
                              : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
          if (HAS_RESIDUAL) val += LOAD(res[o]);
          y[o] = STORE(apply_activation(val, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
        }
      }
    }
  }
}
