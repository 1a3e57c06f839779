// batchnorm: inference-form BatchNorm over axis 1, then an optional activation.
//   y[o, c, i] = act( (x[o, c, i] - mean[c]) * (gamma[c] / sqrt(var[c] + eps)) + beta[c] )
// Layout: x and y viewed as [outer, C, inner] (NCHW: outer = N, inner = H*W); stats [4, C] rows
// gamma, beta, mean, var. One invocation per element. fp32; the scale is computed per element
// in the same order as conv2d.comp's BN epilogue so fused and unfused agree bit for bit.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint ACT = 0u;

layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) readonly buffer Stats { float bn[]; };
layout(std430, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint count;
  uint C;
  uint inner;
  float eps;
  float alpha, beta;
} pc;

void main() {
  uint i = flat_invocation_index();
  if (i >= pc.count) return;
  uint c = (i / pc.inner) % pc.C;
  float v = (x[i] - bn[2u * pc.C + c]) * (bn[c] / sqrt(bn[3u * pc.C + c] + pc.eps)) + bn[pc.C + c];
  y[i] = apply_activation(v, ACT, pc.alpha, pc.beta);
}
