// conv2d_subgroup: direct convolution in which the lanes of a subgroup share one block of OCT
// output channels, with the same fused epilogue and the same bindings and push constants as
// conv2d.comp:
//   y[n,oc,oy,ox] = act( bn( sum_{ic,ky,kx} x[n, g*ICg+ic, oy*SH-PT+ky*DH, ox*SW-PL+kx*DW]
//                                          * w[oc, ic, ky, kx] + bias[oc] ) + residual[n,oc,oy,ox] )
// Why: on a CPU driver (lavapipe) every buffer load of a subgroup costs one scalar load per
// lane plus the bookkeeping around it, while an fp32 multiply-add costs one vector instruction
// for all lanes; conv2d.comp spends most of its time loading. Here each lane computes OCT
// channels x PX consecutive pixels (row-major), and the SG lanes of a subgroup cover SG*PX
// consecutive pixels for the same channels. A weight w[oc, ic, ky, kx] is the same for every
// lane, so it is loaded once per subgroup (lane l loads channels l, l+SG, ...) and handed to all
// lanes with subgroupShuffle, which lavapipe compiles to a register permute. Per (ic, tap) a
// lane does PX input loads and OCT/SG weight loads for OCT*PX multiply-adds: 128 per 8 loads at
// OCT = 32, PX = 4, SG = 8, against conv2d.comp's 64 per 16.
// OCT must be a multiple of the subgroup size SG (the encoder checks); output channels of a
// group past its last one (OCG not a multiple of OCT) are computed from zero weights and not
// stored. Every lane runs the whole loop, also those past the row's end, because a shuffle needs
// its source lane.
// Layout: x, residual and y NCHW, or NHWC when the NHWC constant is set; w OIHW; bn [4, OC].
// Sums in two levels: the products of 16 input channels (all their taps) in `block`, then the
// blocks in `acc`; rounding grows like (sqrt(16*KH*KW) + sqrt(C/16)) * 2^-24 relative, the order
// of conv2d.comp's three-level sum.
// A dispatch may cover a slice of the work items [first, end) (one item = one subgroup's tile),
// so a big convolution can be split; each output is computed by the same code either way.
// variants: f16s f16
// f16s stores x, w, residual, y in fp16 and computes in fp32; f16 computes in fp16 as
// conv2d.comp does. Weights travel between lanes as fp32 in every variant (a 16-bit shuffle is
// a further extension), which is exact.
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
// Output channels per lane (and per subgroup): a multiple of the subgroup size.
layout(constant_id = 6) const uint OCT = 32u;
// Adjacent output pixels per lane along a row.
layout(constant_id = 7) const uint PX = 4u;
// The subgroup size the encoder planned with; the shader checks it against gl_SubgroupSize.
layout(constant_id = 8) const uint SG = 8u;
// A 1x1 kernel without padding (the encoder decides): no tap loops and no padding checks, and
// the channel loop unrolled by 4. Same products in the same order as the general path (the
// 16-channel blocks start at the same channels), so the same bits. Why: on lavapipe a 1x1 conv
// paid more for its three loops' bookkeeping per channel than for its 8 fetches and 128 fmas,
// and every loop iteration also counts against the driver's shared loop limit.
layout(constant_id = 9) const bool POINTWISE = false;
// The kernel's height and width when the encoder fixes them (small kernels: 3x3, 1x3, ...), 0 to
// read them from the push constants: fixed, the tap loops unroll and their bookkeeping goes.
layout(constant_id = 10) const uint FIXED_KH = 0u;
layout(constant_id = 11) const uint FIXED_KW = 0u;
// an edit may omit: FIXED_KH FIXED_KW

// x and w are read as uniform texel buffers (R32F, or R16F in the 16-bit variants): lavapipe
// fetches a texel for all lanes with one gather, where a storage-buffer load goes lane by lane.
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
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
  uint first, end;  // the work items (subgroup tiles) this dispatch covers
} pc;

const uint WPL = OCT / SG;  // weights each lane loads per tap

ARITH_T acc[OCT][PX];    // sums of the finished 16-channel blocks
ARITH_T block[OCT][PX];  // the current block's sum

// Adds the current block to the total: at every 16th input channel, before its products.
void flush_block() {
  [[unroll]] for (uint j = 0u; j < OCT; ++j) {
    [[unroll]] for (uint q = 0u; q < PX; ++q) {
      acc[j][q] += block[j][q];
      block[j][q] = ARITH_T(0.0);
    }
  }
}

// One (input channel, tap): this lane's PX inputs times the OCT weights the SG lanes loaded
// (lane l holds channels l, l+SG, ...), each handed to every lane by a shuffle.
void multiply_add(ARITH_T xv[PX], float wl[WPL]) {
  [[unroll]] for (uint j = 0u; j < OCT; ++j) {
    const ARITH_T wv = ARITH_T(subgroupShuffle(wl[j / SG], j % SG));
    [[unroll]] for (uint q = 0u; q < PX; ++q) block[j][q] += xv[q] * wv;
  }
}

void main() {
  // A wrong subgroup size would hand lanes the wrong weights; write nothing rather than a
  // plausible wrong answer (the encoder plans with the device's reported size, so this is a
  // driver that changed its mind, e.g. varying subgroup sizes).
  if (gl_SubgroupSize != SG) return;
  const uint lane = gl_SubgroupInvocationID;
  const uint item = pc.first +
      (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * (LOCAL_SIZE / SG) + gl_SubgroupID;

  const uint icg = pc.C / pc.groups;
  const uint ocg = pc.OC / pc.groups;
  const uint blocks_per_group = (ocg + OCT - 1u) / OCT;
  // A subgroup's tile is SG*PX consecutive output pixels of one image in row-major (oy, ox)
  // order, PX consecutive ones per lane; a tile may span rows, so small maps (7x7, 14x14) fill
  // the lanes as well as large ones.
  const uint plane = pc.OH * pc.OW;
  const uint tile_px = SG * PX;
  const uint plane_tiles = (plane + tile_px - 1u) / tile_px;
  const uint total = pc.N * pc.groups * blocks_per_group * plane_tiles;
  // `item` is the same for every lane of the subgroup, so the whole subgroup leaves together.
  if (item >= min(total, pc.end)) return;

  uint t = item;
  const uint tile = t % plane_tiles;
  t /= plane_tiles;
  const uint ob = t % blocks_per_group;
  t /= blocks_per_group;
  const uint g = t % pc.groups;
  const uint n = t / pc.groups;

  const uint oc0 = g * ocg + ob * OCT;             // first channel of the block
  const uint valid_oc = min(OCT, ocg - ob * OCT);  // channels of the block that exist
  const uint p0 = tile * tile_px + lane * PX;      // this lane's first pixel in the plane
  // Per pixel: where its receptive field starts, and whether the pixel exists at all (a lane
  // past the plane's end still runs the loop, for the shuffles, and stores nothing).
  int iy0[PX], ix0[PX];
  [[unroll]] for (uint q = 0u; q < PX; ++q) {
    const uint p = min(p0 + q, plane - 1u);
    iy0[q] = int((p / pc.OW) * pc.SH) - pc.PT;
    ix0[q] = int((p % pc.OW) * pc.SW) - pc.PL;
  }

  const uint y_step = NHWC ? pc.W * pc.C : pc.W;
  const uint x_step = NHWC ? pc.C : 1u;
  const uint taps = pc.KH * pc.KW;
  const uint w_oc_stride = icg * taps;
  // This lane loads channels oc0 + lane + SG*i; a channel past the group's end reads weight 0.
  uint w_lane[WPL];
  bool w_valid[WPL];
  [[unroll]] for (uint i = 0u; i < WPL; ++i) {
    const uint j = lane + SG * i;
    w_valid[i] = j < valid_oc;
    w_lane[i] = (oc0 + (w_valid[i] ? j : 0u)) * w_oc_stride;
  }

  [[unroll]] for (uint j = 0u; j < OCT; ++j) {
    [[unroll]] for (uint q = 0u; q < PX; ++q) {
      acc[j][q] = ARITH_T(0.0);
      block[j][q] = ARITH_T(0.0);
    }
  }

  if (POINTWISE) {
    // Every pixel's input exists (no padding, stride within the map): one offset per pixel,
    // then a channel stride.
    uint x_off[PX];
    [[unroll]] for (uint q = 0u; q < PX; ++q) x_off[q] = uint(iy0[q]) * y_step + uint(ix0[q]) * x_step;
    const uint c_step = NHWC ? 1u : pc.H * pc.W;
    uint xc = NHWC ? n * pc.H * pc.W * pc.C + g * icg : (n * pc.C + g * icg) * pc.H * pc.W;
    const uint icg4 = icg & ~3u;
    for (uint ic = 0u; ic < icg4; ic += 4u) {
      if ((ic & 15u) == 0u && ic != 0u) flush_block();
      [[unroll]] for (uint u = 0u; u < 4u; ++u) {
        ARITH_T xv[PX];
        [[unroll]] for (uint q = 0u; q < PX; ++q) xv[q] = ARITH_T(texelFetch(x, int(xc + x_off[q])).r);
        float wl[WPL];
        [[unroll]] for (uint i = 0u; i < WPL; ++i) {
          const float v = texelFetch(w, int(w_lane[i] + ic + u)).r;
          wl[i] = w_valid[i] ? v : 0.0;
        }
        multiply_add(xv, wl);
        xc += c_step;
      }
    }
    for (uint ic = icg4; ic < icg; ++ic) {
      if ((ic & 15u) == 0u && ic != 0u) flush_block();
      ARITH_T xv[PX];
      [[unroll]] for (uint q = 0u; q < PX; ++q) xv[q] = ARITH_T(texelFetch(x, int(xc + x_off[q])).r);
      float wl[WPL];
      [[unroll]] for (uint i = 0u; i < WPL; ++i) {
        const float v = texelFetch(w, int(w_lane[i] + ic)).r;
        wl[i] = w_valid[i] ? v : 0.0;
      }
      multiply_add(xv, wl);
      xc += c_step;
    }
  }

  for (uint ic = 0u; ic < (POINTWISE ? 0u : icg); ++ic) {
    if ((ic & 15u) == 0u && ic != 0u) flush_block();
    const uint c = g * icg + ic;
    const uint x_base = NHWC ? n * pc.H * pc.W * pc.C + c : ((n * pc.C + c) * pc.H) * pc.W;
    const uint kh = FIXED_KH != 0u ? FIXED_KH : pc.KH;
    const uint kw = FIXED_KW != 0u ? FIXED_KW : pc.KW;
    [[unroll]] for (uint ky = 0u; ky < kh; ++ky) {
      [[unroll]] for (uint kx = 0u; kx < kw; ++kx) {
        // A padding tap reads 0 (its index clamped to 0 so the load stays in the buffer).
        ARITH_T xv[PX];
        [[unroll]] for (uint q = 0u; q < PX; ++q) {
          const int iy = iy0[q] + int(ky * pc.DH);
          const int ix = ix0[q] + int(kx * pc.DW);
          const bool inside = iy >= 0 && iy < int(pc.H) && ix >= 0 && ix < int(pc.W);
          const ARITH_T v = ARITH_T(texelFetch(x, int(inside ? x_base + uint(iy) * y_step + uint(ix) * x_step : 0u)).r);
          xv[q] = inside ? v : ARITH_T(0.0);
        }
        const uint tap = (ic * pc.KH + ky) * pc.KW + kx;
        float wl[WPL];
        [[unroll]] for (uint i = 0u; i < WPL; ++i) {
          const float v = texelFetch(w, int(w_lane[i] + tap)).r;
          wl[i] = w_valid[i] ? v : 0.0;
        }
        multiply_add(xv, wl);
      }
    }
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
    [[unroll]] for (uint q = 0u; q < PX; ++q) {
      const uint p = p0 + q;
      if (p >= plane) break;
      const uint oy = p / pc.OW, ox = p % pc.OW;
      ARITH_T v = acc[j][q] + block[j][q];
      if (HAS_BIAS) v += ARITH_T(bias[oc]);
      if (HAS_BN) v = (v - mean) * scale + shift;
      const uint o = NHWC ? ((n * pc.OH + oy) * pc.OW + ox) * pc.OC + oc
                          : ((n * pc.OC + oc) * pc.OH + oy) * pc.OW + ox;
      if (HAS_RESIDUAL) v += LOAD(res[o]);
      y[o] = STORE(apply_activation(v, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
    }
  }
}
