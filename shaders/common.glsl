// Shared by every kernel: the flat invocation index for 1-D work folded into a 2-D grid, the
// precision types, and the activation functions (numbering matches ops::ActivationKind in
// src/ops/activation.hpp).
//
// Conventions for every shader in this folder:
//   - specialization constant 0 is the workgroup size (local_size_x_id = 0);
//   - storage buffers are std430 arrays at bindings 0..N-1, outputs last;
//   - push constants hold shapes as uints (element counts fit 32 bits: a binding is at most
//     maxStorageBufferRange bytes) and scalars as fp32 in every variant (16-bit push constants
//     are a separate Vulkan feature fusescope does not ask for);
//   - the plain build stores and computes in fp32.
//
// Precision variants (cmake/EmbedShaders.cmake, `// variants: f16s f16` in a shader's header):
//   FS_STORAGE_F16  weights, activations, residuals and outputs are float16_t in memory
//                   (GL_EXT_shader_16bit_storage: 16-bit values may only be loaded, stored and
//                   converted, no arithmetic). Bias and BN statistics stay fp32 in every variant:
//                   they are small and the bias carries the folded BN shift.
//   FS_ARITH_F16    arithmetic in float16_t too (GL_EXT_shader_explicit_arithmetic_types_float16,
//                   Vulkan's shaderFloat16), as ncnn's fp16 arithmetic mode does.
// STORE_T is the element type of those buffers, ARITH_T the type kernels compute in; LOAD()
// converts a stored element to ARITH_T, STORE() an ARITH_T result to STORE_T, LOAD_F32() a
// stored element to fp32 for the reductions that stay fp32 in every variant (each says why).
// Constants in ARITH_T code are written ARITH_T(0.5): a bare float literal would promote an fp16
// expression to fp32.
#ifndef FUSESCOPE_COMMON_GLSL
#define FUSESCOPE_COMMON_GLSL

#if defined(FS_ARITH_F16) && !defined(FS_STORAGE_F16)
#error "FS_ARITH_F16 needs FS_STORAGE_F16: fp16 arithmetic variants store fp16 too"
#endif

#ifdef FS_STORAGE_F16
#extension GL_EXT_shader_16bit_storage : require
#define STORE_T float16_t
#else
#define STORE_T float
#endif

#ifdef FS_ARITH_F16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define ARITH_T float16_t
#else
#define ARITH_T float
#endif

#define LOAD(v) ARITH_T(v)
#define STORE(v) STORE_T(v)
#define LOAD_F32(v) float(v)

// The workgroup size: specialization constant 0, declared here, before any function below
// reads it. glslang resolves gl_WorkGroupSize where it is first used: a helper compiled before
// the shader's own `local_size_x_id` line would see the default size 1, and glslc -O folds that
// in (every kernel then wrote only its first ~64 elements). LOCAL_SIZE is the same constant
// (same id) as a plain uint, usable for shared-array sizes too.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LOCAL_SIZE = 64u;

// n / d for every 32-bit n by a multiply and shifts: magic and shift from ops::fast_divisor(d)
// (src/ops/encode_util.hpp says how and why: lavapipe has no SIMD integer divide).
uint fast_div(uint n, uint d, uint magic, uint shift) {
  uint t, low;
  umulExtended(n, magic, t, low);
  return (t + ((n - t) >> (d > 1u ? 1u : 0u))) >> shift;
}

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
const uint ACT_SQRT = 11u;
const uint ACT_EXP = 12u;
const uint ACT_ERF = 13u;
const uint ACT_HARD_SWISH_AFFINE = 14u;  // alpha * hard_swish(x) + beta

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

float hard_swish_f(float x) { return x * clamp(x / 6.0 + 0.5, 0.0, 1.0); }

float apply_activation(float x, uint kind, float alpha, float beta) {
  if (kind == ACT_RELU) return max(x, 0.0);
  if (kind == ACT_CLIP) return min(max(x, alpha), beta);
  if (kind == ACT_LEAKY_RELU) return x >= 0.0 ? x : alpha * x;
  if (kind == ACT_SIGMOID) return sigmoid_f(x);
  if (kind == ACT_HARD_SIGMOID) return clamp(alpha * x + beta, 0.0, 1.0);
  if (kind == ACT_HARD_SWISH) return hard_swish_f(x);
  if (kind == ACT_SILU) return x * sigmoid_f(x);
  if (kind == ACT_TANH) return tanh_f(x);
  if (kind == ACT_GELU) return 0.5 * x * (1.0 + erf_f(x * 0.70710678118654752));
  if (kind == ACT_GELU_TANH) {
    float inner = 0.79788456080286536 * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + tanh_f(inner));
  }
  // GLSL's sqrt is undefined below 0; C's (and ONNX's) is NaN there.
  if (kind == ACT_SQRT) return x < 0.0 ? uintBitsToFloat(0x7FC00000u) : sqrt(x);
  // exp overflows to inf past x = 88.7, as C's expf does.
  if (kind == ACT_EXP) return exp(x);
  if (kind == ACT_ERF) return erf_f(x);
  // Rounded as the nodes it replaces: the hard_swish as above, the product, then the sum (no
  // fma joins the last two).
  if (kind == ACT_HARD_SWISH_AFFINE) {
    // hard_swish_f is a call so that `precise` (which glslang spreads to every operation a
    // precise value depends on) stops at its result: the hard_swish itself compiles as above.
    const float hs = hard_swish_f(x);
    precise float scaled = hs * alpha;
    precise float shifted = scaled + beta;
    return shifted;
  }
  return x;
}

#ifdef FS_ARITH_F16
// The same functions in fp16 arithmetic. fp16's exp overflows to inf at x > 11.09 and its
// largest finite value is 65504, so every exp() and cube below takes an argument that cannot
// overflow: the saturating tails come out as exactly 0, 1 or -1, never inf/inf = NaN.

float16_t sigmoid_h(float16_t x) {
  // exp(-|x|) lies in (0, 1]: it underflows to 0 in the far tail but never overflows.
  // x >= 0: 1 / (1 + e); x < 0: e / (1 + e) = e * (1 / (1 + e)).
  float16_t e = exp(-abs(x));
  float16_t s = float16_t(1.0) / (float16_t(1.0) + e);
  return x >= float16_t(0.0) ? s : e * s;
}

float16_t tanh_h(float16_t x) {
  // tanh(5) = 0.99991 already rounds to 1 in fp16 (the next fp16 below 1 is 1 - 2^-11), and
  // exp(2 * 5) = 22026 is finite, so an exp-based builtin cannot produce inf/inf.
  return tanh(clamp(x, float16_t(-5.0), float16_t(5.0)));
}

float16_t erf_h(float16_t x) {
  // Abramowitz & Stegun 7.1.26 as erf_f, in fp16. erf(4) = 1 - 1.5e-8 is 1 in fp16, so |x| is
  // clamped to 4: a * a <= 16 cannot overflow (it would past 255). The Horner steps round at
  // ~2^-11 of values up to ~1.4, so erf_h is good to a few 2^-11 absolute.
  float16_t s = sign(x);
  float16_t a = min(abs(x), float16_t(4.0));
  float16_t t = float16_t(1.0) / (float16_t(1.0) + float16_t(0.3275911) * a);
  float16_t poly = t * (float16_t(0.254829592) + t * (float16_t(-0.284496736) +
                   t * (float16_t(1.421413741) + t * (float16_t(-1.453152027) +
                   t * float16_t(1.061405429)))));
  return s * (float16_t(1.0) - poly * exp(-a * a));
}

float16_t hard_swish_h(float16_t x) {
  return x * clamp(x / float16_t(6.0) + float16_t(0.5), float16_t(0.0), float16_t(1.0));
}

float16_t apply_activation(float16_t x, uint kind, float16_t alpha, float16_t beta) {
  const float16_t zero = float16_t(0.0);
  const float16_t one = float16_t(1.0);
  const float16_t half_ = float16_t(0.5);
  if (kind == ACT_RELU) return max(x, zero);
  if (kind == ACT_CLIP) return min(max(x, alpha), beta);
  if (kind == ACT_LEAKY_RELU) return x >= zero ? x : alpha * x;
  if (kind == ACT_SIGMOID) return sigmoid_h(x);
  if (kind == ACT_HARD_SIGMOID) return clamp(alpha * x + beta, zero, one);
  if (kind == ACT_HARD_SWISH) return hard_swish_h(x);
  if (kind == ACT_SILU) return x * sigmoid_h(x);
  if (kind == ACT_TANH) return tanh_h(x);
  if (kind == ACT_GELU) return half_ * x * (one + erf_h(x * float16_t(0.70710678118654752)));
  if (kind == ACT_GELU_TANH) {
    // Past |x| = 10 the inner argument is far beyond tanh_h's saturation (|inner| > 40), and
    // clamping first keeps x^3 (which overflows fp16 past |x| = 40) finite.
    float16_t c = clamp(x, float16_t(-10.0), float16_t(10.0));
    float16_t inner = float16_t(0.79788456080286536) * (c + float16_t(0.044715) * c * c * c);
    return half_ * x * (one + tanh_h(inner));
  }
  if (kind == ACT_SQRT) return x < zero ? float16_t(uintBitsToFloat(0x7FC00000u)) : sqrt(x);
  // fp16's exp overflows to inf past x = 11.09, as fp16 arithmetic does.
  if (kind == ACT_EXP) return exp(x);
  if (kind == ACT_ERF) return erf_h(x);
  if (kind == ACT_HARD_SWISH_AFFINE) {
    const float16_t hs = hard_swish_h(x);  // a call: `precise` stops at its result
    precise float16_t scaled = hs * alpha;
    precise float16_t shifted = scaled + beta;
    return shifted;
  }
  return x;
}
#endif

#endif
