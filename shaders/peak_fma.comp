// peak_fma: the device's multiply-add peak, for `fusescope bench --peak` (issue 11: each
// network's and conv shape's GFLOP/s is read against what the device can do at best).
// Each invocation runs `iterations` rounds of 16 x 8 independent vec4 fma chains on registers
// (8 chains hide the FMA latency; no memory traffic inside the loop) and writes one sum, so
// the compiler cannot drop the work: 1024 flops per round per invocation (an fma counts 2).
// The chains converge to 1 (a = a * 0.999 + 0.001): no overflow, no denormals, any round count.
// The round loop stays far below lavapipe's shared loop limit (65535 iterations in all): the
// caller keeps `iterations` at a few hundred and scales the work by invocations instead.
// variants: f16
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

#ifdef FS_ARITH_F16
#define VEC4 f16vec4
#else
#define VEC4 vec4
#endif

layout(std430, binding = 0) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint iterations;
  uint count;  // invocations that store their sum (the rest only compute)
} pc;

void main() {
  uint idx = flat_invocation_index();
  ARITH_T s = ARITH_T(float(idx & 255u) * (1.0 / 256.0));
  VEC4 a[8];
  [[unroll]] for (uint j = 0u; j < 8u; ++j) a[j] = VEC4(s, s + ARITH_T(0.25), s + ARITH_T(0.5), ARITH_T(j) * ARITH_T(0.125));
  const VEC4 m = VEC4(ARITH_T(0.999));
  const VEC4 c = VEC4(ARITH_T(0.001));
  for (uint i = 0u; i < pc.iterations; ++i) {
    [[unroll]] for (uint k = 0u; k < 16u; ++k) {
      [[unroll]] for (uint j = 0u; j < 8u; ++j) a[j] = fma(a[j], m, c);
    }
  }
  VEC4 t = VEC4(ARITH_T(0.0));
  [[unroll]] for (uint j = 0u; j < 8u; ++j) t += a[j];
  if (idx < pc.count) y[idx] = STORE(t.x + t.y + t.z + t.w);
}
