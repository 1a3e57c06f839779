#include "ops/activation.hpp"

#include <fmt/format.h>

#include <charconv>

#include "ops/shape.hpp"

namespace fusescope::ops {

std::string to_string(const Activation& a) {
  switch (a.kind) {
    case ActivationKind::none: return "none";
    case ActivationKind::relu: return "relu";
    case ActivationKind::clip:
      if (a.alpha == 0.0f && a.beta == 6.0f) return "relu6";
      return fmt::format("clip({:g},{:g})", a.alpha, a.beta);
    case ActivationKind::leaky_relu: return fmt::format("leaky_relu({:g})", a.alpha);
    case ActivationKind::sigmoid: return "sigmoid";
    case ActivationKind::hard_sigmoid: return fmt::format("hard_sigmoid({:g},{:g})", a.alpha, a.beta);
    case ActivationKind::hard_swish: return "hard_swish";
    case ActivationKind::silu: return "silu";
    case ActivationKind::tanh: return "tanh";
    case ActivationKind::gelu: return "gelu";
    case ActivationKind::gelu_tanh: return "gelu_tanh";
    case ActivationKind::sqrt: return "sqrt";
    case ActivationKind::exp: return "exp";
    case ActivationKind::erf: return "erf";
    case ActivationKind::hard_swish_affine: return fmt::format("hard_swish_affine({:g},{:g})", a.alpha, a.beta);
  }
  return "unknown";
}

namespace {

// "name(a,b)" -> name, args
bool split_call(std::string_view text, std::string_view& name, std::vector<float>& args) {
  auto open = text.find('(');
  if (open == std::string_view::npos) {
    name = text;
    return true;
  }
  if (text.back() != ')') return false;
  name = text.substr(0, open);
  std::string_view rest = text.substr(open + 1, text.size() - open - 2);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string token(rest.substr(0, comma));
    try {
      std::size_t used = 0;
      float v = std::stof(token, &used);
      if (used != token.size()) return false;
      args.push_back(v);
    } catch (...) {
      return false;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return true;
}

}  // namespace

Activation parse_activation(std::string_view text) {
  std::string_view name;
  std::vector<float> args;
  auto fail = [&]() -> Activation {
    throw InvalidArgument(fmt::format(
        "unknown activation '{}'; expected one of: none, relu, relu6, clip(min,max), "
        "leaky_relu(slope), sigmoid, hard_sigmoid(alpha,beta), hard_swish, silu, swish, tanh, "
        "gelu, gelu_tanh, sqrt, exp, erf, hard_swish_affine(scale,shift)",
        text));
  };
  if (!split_call(text, name, args)) return fail();
  auto arg = [&](std::size_t i, float fallback) { return i < args.size() ? args[i] : fallback; };
  if (name == "none" || name == "identity") return Activation::none();
  if (name == "relu") return Activation::relu();
  if (name == "relu6") return Activation::relu6();
  if (name == "clip" && args.size() == 2) return Activation::clip(args[0], args[1]);
  if (name == "leaky_relu") return Activation::leaky_relu(arg(0, 0.01f));
  if (name == "sigmoid") return Activation::sigmoid();
  if (name == "hard_sigmoid") return Activation::hard_sigmoid(arg(0, 0.2f), arg(1, 0.5f));
  if (name == "hard_swish") return Activation::hard_swish();
  if (name == "silu" || name == "swish") return Activation::silu();
  if (name == "tanh") return Activation::tanh();
  if (name == "gelu") return Activation::gelu();
  if (name == "gelu_tanh") return Activation::gelu_tanh();
  if (name == "sqrt") return Activation::sqrt();
  if (name == "exp") return Activation::exp();
  if (name == "erf") return Activation::erf();
  if (name == "hard_swish_affine" && args.size() == 2) return Activation::hard_swish_affine(args[0], args[1]);
  return fail();
}

}  // namespace fusescope::ops
