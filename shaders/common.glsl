// Shared by every kernel: the flat invocation index for 1-D work folded into a 2-D grid, and
// the activation functions (numbering matches ops::ActivationKind in src/ops/activation.hpp).
//
// Conventions for every shader in this folder:
//   - specialization constant 0 is the workgroup size (local_size_x_id = 0);
//   - storage buffers are std430 float arrays at bindings 0..N-1, outputs last;
//   - push constants hold shapes as uints (element counts fit 32 bits: a binding is at most
//     maxStorageBufferRange bytes);
//   - arithmetic and accumulation in fp32.
#ifndef FUSESCOPE_COMMON_GLSL
#define FUSESCOPE_COMMON_GLSL

// The workgroup size: specialization constant 0, declared here, before any function below
// reads it. glslang resolves gl_WorkGroupSize where it is first used: a helper compiled before
// the shader's own `local_size_x_id` line would see the default size 1, and glslc -O folds that
// in (every kernel then wrote only its first ~64 elements). LOCAL_SIZE is the same constant
// (same id) as a plain uint, usable for shared-array sizes too.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LOCAL_SIZE = 64u;

// groups_for() in src/gpu/recorder.cpp folds more than maxComputeWorkGroupCount[0] groups into y.
uint flat_invocation_index() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * LOCAL_SIZE +
         gl_LocalInvocationID.x;
}

const uint ACT_NONE = 0u;
const uint ACT_RELU = 1u;
const uint ACT_CLIP = 2u;
const uint ACT_LEAKY_RELU = 3u;
const uint ACT_SIGMOID = 4u;
const uint ACT_HARD_SIGMOID = 5u;
const uint ACT_HARD_SWISH = 6u;
const uint ACT_SILU = 7u;
const uint ACT_TANH = 8u;
const uint ACT_GELU = 9u;
const uint ACT_GELU_TANH = 10u;

float sigmoid_f(float x) {
  // exp(-x) overflows to +inf for x < -88: 1/(1+inf) = 0, the right limit.
  return 1.0 / (1.0 + exp(-x));
}

float tanh_f(float x) {
  // tanh(x) is +-1 in fp32 beyond |x| = 9.1; clamping keeps exp() inside implementations'
  // tanh from overflowing to inf/inf = NaN.
  return tanh(clamp(x, -10.0, 10.0));
}

// erf by Abramowitz & Stegun 7.1.26: absolute error <= 1.5e-7, below fp32's resolution of the
// GELU result for |x| >= 1e-3 relative terms that matter. GLSL has no erf.
float erf_f(float x) {
  float s = sign(x);
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 +
               t * 1.061405429))));
  return s * (1.0 - poly * exp(-a * a));
}

float apply_activation(float x, uint kind, float alpha, float beta) {
  if (kind == ACT_RELU) return max(x, 0.0);
  if (kind == ACT_CLIP) return min(max(x, alpha), beta);
  if (kind == ACT_LEAKY_RELU) return x >= 0.0 ? x : alpha * x;
  if (kind == ACT_SIGMOID) return sigmoid_f(x);
  if (kind == ACT_HARD_SIGMOID) return clamp(alpha * x + beta, 0.0, 1.0);
  if (kind == ACT_HARD_SWISH) return x * clamp(x / 6.0 + 0.5, 0.0, 1.0);
  if (kind == ACT_SILU) return x * sigmoid_f(x);
  if (kind == ACT_TANH) return tanh_f(x);
  if (kind == ACT_GELU) return 0.5 * x * (1.0 + erf_f(x * 0.70710678118654752));
  if (kind == ACT_GELU_TANH) {
    float inner = 0.79788456080286536 * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + tanh_f(inner));
  }
  return x;
}

#endif
