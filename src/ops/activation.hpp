// Activation functions, shared by the standalone activation kernel and every conv/BN/GEMM
// epilogue. The same enum values are the specialization constant the shaders switch on
// (shaders/common.glsl), so keep the numbering in step with it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace fusescope::ops {

enum class ActivationKind : std::uint32_t {
  none = 0,
  relu = 1,
  clip = 2,          // min(max(x, alpha), beta); relu6 is clip(0, 6)
  leaky_relu = 3,    // x >= 0 ? x : alpha * x
  sigmoid = 4,
  hard_sigmoid = 5,  // clamp(alpha * x + beta, 0, 1); ONNX defaults alpha 0.2, beta 0.5
  hard_swish = 6,    // x * clamp(x / 6 + 1/2, 0, 1)  (ONNX HardSwish, PyTorch Hardswish)
  silu = 7,          // x * sigmoid(x), a.k.a. swish
  tanh = 8,
  gelu = 9,          // x * Phi(x), exact (erf) form
  gelu_tanh = 10,    // tanh approximation of GELU
  // Plain unary functions (ONNX Sqrt, Exp): elementwise like the rest, so they share the
  // activation kernel, its fp16 variants and the epilogues.
  sqrt = 11,         // NaN for x < 0, as C's sqrt
  exp = 12,
  erf = 13,         // ONNX Erf: PyTorch's exact GELU exports as x * (1 + erf(x / sqrt 2)) / 2
  // alpha * hard_swish(x) + beta: PP-LCNetV3's activation followed by its LearnableAffineBlock
  // (one scale and one shift, exported as Mul and Add of scalars), which fusion moves into the
  // epilogue that computes the hard_swish (fusion/post_activation_affine.cpp).
  hard_swish_affine = 14,
};

struct Activation {
  ActivationKind kind = ActivationKind::none;
  float alpha = 0.0f;
  float beta = 0.0f;

  static Activation none() { return {}; }
  static Activation relu() { return {ActivationKind::relu}; }
  static Activation relu6() { return {ActivationKind::clip, 0.0f, 6.0f}; }
  static Activation clip(float lo, float hi) { return {ActivationKind::clip, lo, hi}; }
  static Activation leaky_relu(float slope = 0.01f) { return {ActivationKind::leaky_relu, slope}; }
  static Activation sigmoid() { return {ActivationKind::sigmoid}; }
  static Activation hard_sigmoid(float a = 0.2f, float b = 0.5f) {
    return {ActivationKind::hard_sigmoid, a, b};
  }
  static Activation hard_swish() { return {ActivationKind::hard_swish}; }
  static Activation silu() { return {ActivationKind::silu}; }
  static Activation tanh() { return {ActivationKind::tanh}; }
  static Activation gelu() { return {ActivationKind::gelu}; }
  static Activation gelu_tanh() { return {ActivationKind::gelu_tanh}; }
  static Activation sqrt() { return {ActivationKind::sqrt}; }
  static Activation exp() { return {ActivationKind::exp}; }
  static Activation erf() { return {ActivationKind::erf}; }
  static Activation hard_swish_affine(float scale, float shift) {
    return {ActivationKind::hard_swish_affine, scale, shift};
  }
};

std::string to_string(const Activation& act);  // "relu", "clip(0,6)", "leaky_relu(0.1)"
// Parses the names to_string prints ("relu6" too); throws InvalidArgument listing valid names.
Activation parse_activation(std::string_view text);

}  // namespace fusescope::ops
