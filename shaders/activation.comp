// activation: y[i] = act(x[i]) for every element of a contiguous tensor (any layout).
// One invocation per element. fp32; f16s: fp16 in memory, fp32 arithmetic; f16: fp16
// arithmetic too (common.glsl's fp16 apply_activation, with its overflow-safe tails).
// variants: f16s f16
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint ACT = 0u;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Output { STORE_T y[]; };

layout(push_constant) uniform Push {
  uint count;
  float alpha;
  float beta;
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  y[i] = STORE(apply_activation(LOAD(x[i]), ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
}
