// softmax: y = exp(x - max) / sum(exp(x - max)) along one axis.
// Layout: x and y viewed [outer, axis, inner] (row-major); the axis entries of one row are
// `inner` floats apart. One invocation per (outer, inner) row walks the axis three times:
// max, then the sum of exp(x - max), then the writes (exp recomputed rather than stored, since
// y is write-only). Neighbouring invocations take neighbouring inner positions, so reads
// coalesce when inner > 1. fp32 throughout; subtracting the max keeps exp() <= 1, so the sum
// cannot overflow. A row containing NaN yields NaN, as in PyTorch.
// variants: f16s f16
// Both 16-bit variants read and write fp16 but compute in fp32, f16 deliberately included: the
// sum over a 1000-class row adds many terms far below its ulp in fp16 (an fp16 sum near 8 has an
// ulp of 2^-7, so each exp() term under 2^-8 would vanish), and the per-row cost is three passes
// of memory traffic either way. The result is rounded to fp16 once.
#version 450
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint rows;  // outer * inner
  uint axis;
  uint inner;
} pc;

void main() {
  uint row = flat_invocation_index();
  if (row >= pc.rows) return;
  uint o = row / pc.inner;
  uint i = row % pc.inner;
  uint base = o * pc.axis * pc.inner + i;

  float m = LOAD_F32(x[base]);
  for (uint a = 1u; a < pc.axis; ++a) {
    float v = LOAD_F32(x[base + a * pc.inner]);
    // max() may drop a NaN operand; keep it so the row's output shows it.
    m = (isnan(v) || isnan(m)) ? v + m : max(m, v);
  }
  float sum = 0.0;
  for (uint a = 0u; a < pc.axis; ++a) sum += exp(LOAD_F32(x[base + a * pc.inner]) - m);
  for (uint a = 0u; a < pc.axis; ++a) {
    y[base + a * pc.inner] = STORE_T(exp(LOAD_F32(x[base + a * pc.inner]) - m) / sum);
  }
}
