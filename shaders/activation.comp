// activation: y[i] = act(x[i]) for every element of a contiguous tensor (any layout).
// One invocation per element. fp32.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint ACT = 0u;

layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint count;
  float alpha;
  float beta;
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  y[i] = apply_activation(x[i], ACT, pc.alpha, pc.beta);
}
