// batchnorm: inference-form BatchNorm over axis 1, then an optional activation.
//   y[o, c, i] = act( (x[o, c, i] - mean[c]) * (gamma[c] / sqrt(var[c] + eps)) + beta[c] )
// Layout: x and y viewed as [outer, C, inner] (NCHW: outer = N, inner = H*W); stats [4, C] rows
// gamma, beta, mean, var. One invocation per element. fp32; the scale is computed per element
// in the same order as conv2d.comp's BN epilogue so fused and unfused agree bit for bit.
// variants: f16s f16
// f16s: x, y fp16 in memory, fp32 arithmetic. f16: the scale gamma / sqrt(var + eps) is still
// computed in fp32 from the fp32 statistics and rounded to fp16 once (a per-channel parameter,
// as in conv2d.comp's epilogue); (x - mean) * scale + beta and the activation are fp16.
#version 450
#include "common.glsl"

layout(constant_id = 1) const uint ACT = 0u;

layout(std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Stats { float bn[]; };
layout(std430, binding = 2) writeonly buffer Output { STORE_T y[]; };

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
  ARITH_T v = (LOAD(x[i]) - ARITH_T(bn[2u * pc.C + c])) *
              ARITH_T(bn[c] / sqrt(bn[3u * pc.C + c] + pc.eps)) + ARITH_T(bn[pc.C + c]);
  y[i] = STORE(apply_activation(v, ACT, ARITH_T(pc.alpha), ARITH_T(pc.beta)));
}
