// global_average_pool: y[n, c] = mean over (h, w) of x[n, c, h, w]; [N,C,H,W] -> [N,C,1,1].
// Layout: x NCHW, so each (n, c) plane is H*W contiguous floats; or, with the NHWC constant set
// (the executor's --layout nhwc), x NHWC, so a plane is H*W floats C apart. y is N*C floats in
// both ([N,C,1,1] and [N,1,1,C] are the same bytes). The summation order is the same in both.
// One workgroup per (n, c) plane (or, SERIAL, one invocation per small plane), with the
// workgroups folded into y when N*C exceeds the x limit (groups_for). Each invocation sums a strided share of the plane (coalesced in NCHW: lanes
// read neighbouring floats; in NHWC they read C apart, correct but not coalesced), then a
// shared-memory tree halves the partial sums down to one. Any workgroup size works, power of
// two or not.
// fp32 accumulation; the mean is sum / (H*W) rounded once.
// variants: f16s f16
// Both 16-bit variants read fp16 and write fp16 but keep the sum and the division in fp32,
// deliberately, f16 included: a plane holds up to thousands of same-sign values (56x56 = 3136
// after a ReLU), and an fp16 running sum near 1000 has an ulp of 0.5, so terms below 0.25 would
// vanish outright (stagnation), not just round. The result is rounded to fp16 once.
#version 450
#include "common.glsl"

layout(constant_id = 1) const bool NHWC = false;  // x NHWC instead of NCHW
// Small planes (the encoder sets it up to 1024 elements): one invocation sums a whole plane in
// index order (in blocks of 32), LOCAL_SIZE planes per workgroup, no shared memory and no barrier. The
// tree's seven barriers cost more than its additions save on such planes where a barrier is a
// switch between invocations (lavapipe: 0.3-0.9 ms for PaddleOCR's 88-200 planes of 2x96 and
// 3x96). The sum's order differs from the tree's (results move in the last bits), and is again
// the same in both layouts.
layout(constant_id = 2) const bool SERIAL = false;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint planes;  // N * C
  uint plane_size;  // H * W
  uint channels;    // C: the stride between a plane's elements in NHWC
} pc;

shared float partial[LOCAL_SIZE];

void main() {
  if (SERIAL) {
    uint plane = flat_invocation_index();
    if (plane >= pc.planes) return;
    uint base = NHWC ? (plane / pc.channels) * pc.plane_size * pc.channels + plane % pc.channels
                     : plane * pc.plane_size;
    uint step = NHWC ? pc.channels : 1u;
    // In blocks of 32, then the blocks: at most 32 + 32 roundings on a 1024-element plane,
    // bounded like the tree's (a straight running sum would take up to 1023).
    float sum = 0.0, block = 0.0;
    for (uint i = 0u; i < pc.plane_size; ++i) {
      block += LOAD_F32(x[base + i * step]);
      if ((i & 31u) == 31u) {
        sum += block;
        block = 0.0;
      }
    }
    y[plane] = STORE_T((sum + block) / float(pc.plane_size));
    return;
  }
  uint plane = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  // Uniform per workgroup, so returning before the barriers below is allowed.
  if (plane >= pc.planes) return;
  uint lid = gl_LocalInvocationID.x;
  uint base, step;
  if (NHWC) {
    uint n = plane / pc.channels;
    base = n * pc.plane_size * pc.channels + plane % pc.channels;
    step = pc.channels;
  } else {
    base = plane * pc.plane_size;
    step = 1u;
  }

  float sum = 0.0;
  for (uint i = lid; i < pc.plane_size; i += LOCAL_SIZE) sum += LOAD_F32(x[base + i * step]);
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
  if (lid == 0u) y[plane] = STORE_T(partial[0] / float(pc.plane_size));
}
