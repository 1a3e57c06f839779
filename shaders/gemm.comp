// gemm: Y[m, n] = act( sum_k X[m, k] * op(W)[k, n] + bias[n] )
// Layout: X [M, K] row-major; W [N, K] when TRANSPOSE_WEIGHT (PyTorch Linear, ONNX transB=1),
// else [K, N]; bias [N]; Y [M, N].
// Tiled: one workgroup of 128 invocations owns a 16x16 tile of Y and walks K in steps of 16,
// staging a 16x16 block of X and of op(W) in shared memory per step, so a tile reads each
// global element it needs once instead of 16 times. Invocation (tx, ty) with tx < 16, ty < 8
// computes Y[m0 + ty, n0 + tx] and Y[m0 + ty + 8, n0 + tx]: 128 is the largest workgroup every
// Vulkan device must accept, and the two outputs share each W value read from shared memory.
// Tiles are flattened into one index (folded into y by groups_for), column tiles fastest.
// Edges: out-of-range rows, columns and k are staged as zero, so M, N, K need not be
// multiples of 16. Accumulation in fp32 in ascending k; bias and activation after the sum.
#version 450
#include "common.glsl"

layout(constant_id = 1) const bool TRANSPOSE_WEIGHT = true;
layout(constant_id = 2) const bool HAS_BIAS = false;
layout(constant_id = 3) const uint ACT = 0u;

const uint TILE = 16u;
// The encoder sets specialization constant 0 (the workgroup size) to exactly this.
const uint THREADS = TILE * TILE / 2u;

layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint M, N, K;
  uint tiles_n;  // ceil(N / TILE)
  uint tiles;    // ceil(M / TILE) * tiles_n
  float alpha, beta;  // activation parameters
} pc;

shared float xs[TILE][TILE];      // [m][k]
shared float ws[TILE][TILE + 1u]; // [k][n]; +1 keeps the transposed stores off one bank

void main() {
  uint tile = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  // Uniform per workgroup, so returning before the barriers below is allowed.
  if (tile >= pc.tiles) return;
  uint m0 = (tile / pc.tiles_n) * TILE;
  uint n0 = (tile % pc.tiles_n) * TILE;
  uint lid = gl_LocalInvocationID.x;
  uint tx = lid % TILE;
  uint ty = lid / TILE;

  float acc0 = 0.0;
  float acc1 = 0.0;
  for (uint k0 = 0u; k0 < pc.K; k0 += TILE) {
    // Each invocation stages two elements of each block; consecutive lids read consecutive
    // addresses of whichever matrix dimension is contiguous in memory.
    for (uint e = lid; e < TILE * TILE; e += THREADS) {
      uint r = e / TILE;
      uint c = e % TILE;
      uint m = m0 + r, k = k0 + c;
      xs[r][c] = (m < pc.M && k < pc.K) ? x[m * pc.K + k] : 0.0;
      if (TRANSPOSE_WEIGHT) {
        uint n = n0 + r;  // W[n, k]: k contiguous
        ws[c][r] = (n < pc.N && k < pc.K) ? w[n * pc.K + k] : 0.0;
      } else {
        uint kk = k0 + r, n = n0 + c;  // W[k, n]: n contiguous
        ws[r][c] = (kk < pc.K && n < pc.N) ? w[kk * pc.N + n] : 0.0;
      }
    }
    barrier();
    for (uint k = 0u; k < TILE; ++k) {
      float wv = ws[k][tx];
      acc0 += xs[ty][k] * wv;
      acc1 += xs[ty + TILE / 2u][k] * wv;
    }
    barrier();
  }

  uint n = n0 + tx;
  if (n >= pc.N) return;
  float b = HAS_BIAS ? bias[n] : 0.0;
  uint m = m0 + ty;
  if (m < pc.M) y[m * pc.N + n] = apply_activation(acc0 + b, ACT, pc.alpha, pc.beta);
  m += TILE / 2u;
  if (m < pc.M) y[m * pc.N + n] = apply_activation(acc1 + b, ACT, pc.alpha, pc.beta);
}
