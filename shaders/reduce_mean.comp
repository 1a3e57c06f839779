// reduce_mean: y[o] = mean of x over the reduced axes, for any subset of up to 6 axes.
// Layout: x contiguous row-major; the encoder (ops::encode_reduce_mean) splits x's dims into
// kept dims (they index y, row-major, so y is x's shape with the reduced dims removed) and
// reduced dims, each with x's element stride, after dropping dims of 1 and merging neighbours
// of the same kind. An output index unravelled over the kept dims gives the row's base; a
// reduction index unravelled over the reduced dims gives the offset from it.
// One workgroup per output element (folded into y past the x limit, groups_for). Each
// invocation sums a strided share of the R reduced elements (coalesced when the innermost dim
// is reduced: neighbouring lanes read neighbouring floats), then a shared-memory tree halves the
// partial sums down to one, as in global_average_pool. Any workgroup size works.
// fp32 accumulation; the mean is sum / R rounded once.
// variants: f16s f16
// Both 16-bit variants read fp16 and write fp16 but keep the sum and the division in fp32, f16
// included, for global_average_pool's reason: an fp16 running sum near 1000 has an ulp of 0.5,
// so a layer norm's 768 same-sign squares would stagnate. The result is rounded to fp16 once.
#version 450
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint out_count;     // product of the kept dims
  uint reduce_count;  // R: product of the reduced dims
  uint kept_rank;
  uint reduced_rank;
  uint kept_dims[6];
  uint kept_strides[6];
  uint reduced_dims[6];
  uint reduced_strides[6];
} pc;

shared float partial[LOCAL_SIZE];

void main() {
  uint o = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  // Uniform per workgroup, so returning before the barriers below is allowed.
  if (o >= pc.out_count) return;
  uint lid = gl_LocalInvocationID.x;

  uint base = 0u;
  uint rest = o;
  for (uint d = pc.kept_rank; d-- > 0u;) {
    base += (rest % pc.kept_dims[d]) * pc.kept_strides[d];
    rest /= pc.kept_dims[d];
  }

  float sum = 0.0;
  for (uint r = lid; r < pc.reduce_count; r += LOCAL_SIZE) {
    uint offset = 0u;
    uint left = r;
    for (uint d = pc.reduced_rank; d-- > 0u;) {
      offset += (left % pc.reduced_dims[d]) * pc.reduced_strides[d];
      left /= pc.reduced_dims[d];
    }
    sum += LOAD_F32(x[base + offset]);
  }
  partial[lid] = sum;
  barrier();

  // `remaining` partial sums are left; fold the upper part onto the lower. Rounding the half up
  // keeps the middle value of an odd count in place for the next round.
  for (uint remaining = LOCAL_SIZE; remaining > 1u;) {
    uint lower = (remaining + 1u) / 2u;
    if (lid + lower < remaining) partial[lid] += partial[lid + lower];
    barrier();
    remaining = lower;
  }
  if (lid == 0u) y[o] = STORE_T(partial[0] / float(pc.reduce_count));
}
