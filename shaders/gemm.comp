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
// variants: f16s f16
// f16s: X, W, Y fp16 in memory, staged into fp32 shared memory, all arithmetic fp32.
// f16: tiles staged as fp16 (half the shared memory), each product X*W computed in fp16, but
// the sum over k is kept in fp32 on purpose (fp16 products, fp32 accumulation, as tensor-core
// HGEMMs do): GEMM's K is the classifier's flattened feature count (512..4096, 25088 for VGG's
// fc6), where an fp16 running sum would err by ~sqrt(K/6) * 2^-11 (3% at K = 25088) and drop
// terms below half its ulp outright; a wrong logit changes the class, unlike one pixel of a
// feature map. With fp32 accumulation the error stays ~2^-11, independent of K. The sum is
// rounded to fp16 once; bias add and activation are fp16.
#version 450
#include "common.glsl"

layout(constant_id = 1) const bool TRANSPOSE_WEIGHT = true;
layout(constant_id = 2) const bool HAS_BIAS = false;
layout(constant_id = 3) const uint ACT = 0u;

const uint TILE = 16u;
// The encoder sets specialization constant 0 (the workgroup size) to exactly this.
const uint THREADS = TILE * TILE / 2u;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint M, N, K;
  uint tiles_n;  // ceil(N / TILE)
  uint tiles;    // ceil(M / TILE) * tiles_n
  float alpha, beta;  // activation parameters
} pc;

shared ARITH_T xs[TILE][TILE];      // [m][k]
shared ARITH_T ws[TILE][TILE + 1u]; // [k][n]; +1 keeps the transposed stores off one bank

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
      xs[r][c] = (m < pc.M && k < pc.K) ? LOAD(x[m * pc.K + k]) : ARITH_T(0.0);
      if (TRANSPOSE_WEIGHT) {
        uint n = n0 + r;  // W[n, k]: k contiguous
        ws[c][r] = (n < pc.N && k < pc.K) ? LOAD(w[n * pc.K + k]) : ARITH_T(0.0);
      } else {
        uint kk = k0 + r, n = n0 + c;  // W[k, n]: n contiguous
        ws[r][c] = (kk < pc.K && n < pc.N) ? LOAD(w[kk * pc.N + n]) : ARITH_T(0.0);
      }
    }
    barrier();
    for (uint k = 0u; k < TILE; ++k) {
      ARITH_T wv = ws[k][tx];
      // float(): in the f16 variant the product is fp16 and the sum fp32 (see the header).
      acc0 += float(xs[ty][k] * wv);
      acc1 += float(xs[ty + TILE / 2u][k] * wv);
    }
    barrier();
  }

  uint n = n0 + tx;
  if (n >= pc.N) return;
  ARITH_T b = HAS_BIAS ? ARITH_T(bias[n]) : ARITH_T(0.0);
  ARITH_T alpha = ARITH_T(pc.alpha), beta = ARITH_T(pc.beta);
  uint m = m0 + ty;
  if (m < pc.M) y[m * pc.N + n] = STORE(apply_activation(ARITH_T(acc0) + b, ACT, alpha, beta));
  m += TILE / 2u;
  if (m < pc.M) y[m * pc.N + n] = STORE(apply_activation(ARITH_T(acc1) + b, ACT, alpha, beta));
}
