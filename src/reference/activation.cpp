#include "reference/activation.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "reference/checks.hpp"

namespace fusescope::reference {

namespace {

// 1 / (1 + e^-x). For very negative x, e^-x overflows to +inf and the quotient is exactly 0,
// which is the right limit, so no special branch is needed.
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The comparisons are written so that a NaN input stays NaN: the oracle should expose a NaN a
// kernel produced upstream, not launder it into 0.
double clamp(double x, double lo, double hi) {
  if (x < lo) return lo;
  if (x > hi) return hi;
  return x;
}

}  // namespace

// Definitions as documented on ops::ActivationKind (ONNX / PyTorch semantics). alpha and beta are
// stored as float; they are widened exactly, so the oracle uses the same value the kernel sees.
double apply_activation(double x, const ops::Activation& act) {
  const double alpha = act.alpha;
  const double beta = act.beta;
  switch (act.kind) {
    case ops::ActivationKind::none:
      return x;
    case ops::ActivationKind::relu:
      return x < 0.0 ? 0.0 : x;
    case ops::ActivationKind::clip:  // min(max(x, alpha), beta)
      return clamp(x, alpha, beta);
    case ops::ActivationKind::leaky_relu:  // x >= 0 ? x : alpha * x
      return x < 0.0 ? alpha * x : x;
    case ops::ActivationKind::sigmoid:
      return sigmoid(x);
    case ops::ActivationKind::hard_sigmoid:  // clamp(alpha * x + beta, 0, 1), ONNX HardSigmoid
      return clamp(alpha * x + beta, 0.0, 1.0);
    case ops::ActivationKind::hard_swish:  // x * clamp(x / 6 + 1/2, 0, 1), ONNX HardSwish
      return x * clamp(x / 6.0 + 0.5, 0.0, 1.0);
    case ops::ActivationKind::silu:  // x * sigmoid(x)
      return x * sigmoid(x);
    case ops::ActivationKind::tanh:
      return std::tanh(x);
    case ops::ActivationKind::gelu:  // x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), exact form
      return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
    case ops::ActivationKind::gelu_tanh: {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const double k = std::sqrt(2.0 / std::numbers::pi);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case ops::ActivationKind::sqrt:  // NaN for x < 0 (C, ONNX Sqrt)
      return std::sqrt(x);
    case ops::ActivationKind::exp:
      return std::exp(x);
    case ops::ActivationKind::erf:
      return std::erf(x);
    case ops::ActivationKind::hard_swish_affine:  // alpha * hard_swish(x) + beta
      return alpha * (x * clamp(x / 6.0 + 0.5, 0.0, 1.0)) + beta;
  }
  // Only reachable through a cast from an out-of-range integer (e.g. a corrupt file).
  throw ops::InvalidArgument(fmt::format("activation: kind has value {}, expected 0..14",
                                         static_cast<unsigned>(act.kind)));
}

// Elementwise apply_activation; the output has the input's shape.
HostTensor activation(const HostTensor& input, const ops::Activation& act) {
  detail::expect_consistent("activation", "input", input);
  HostTensor out(input.shape);
  for (std::size_t i = 0; i < input.data.size(); ++i) {
    out.data[i] = apply_activation(input.data[i], act);
  }
  return out;
}

}  // namespace fusescope::reference
