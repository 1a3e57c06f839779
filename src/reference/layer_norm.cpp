#include "reference/layer_norm.hpp"

#include <fmt/format.h>

#include <cmath>

#include "reference/checks.hpp"

namespace fusescope::reference {

// torch.nn.functional.layer_norm over the last dim, ONNX LayerNormalization (one axis): the
// textbook two-pass form in float64, straight from the definition.
HostTensor layer_norm(const ops::LayerNormParams& p, const HostTensor& input, const HostTensor& affine) {
  const std::string op = "layer_norm";
  detail::expect_consistent(op, "input", input);
  detail::expect_consistent(op, "affine", affine);
  ops::layer_norm_output_shape(p, input.shape, op);
  const ops::Shape want = ops::layer_norm_affine_shape(p, input.shape, op);
  if (affine.shape != want) {
    throw ops::InvalidArgument(fmt::format("{}: affine has shape {}, expected {}", op, ops::to_string(affine.shape),
                                           ops::to_string(want)));
  }
  const std::int64_t ax = detail::normalize_axis(op, p.axis, input.shape.size());
  const std::int64_t outer = detail::product(input.shape, 0, ax);
  const std::int64_t len = input.shape[ax];
  const std::int64_t inner = detail::product(input.shape, ax + 1, std::ssize(input.shape));
  HostTensor out(input.shape);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      auto at = [&](std::int64_t a) { return (o * len + a) * inner + i; };
      double mean = 0.0;
      for (std::int64_t a = 0; a < len; ++a) mean += input.data[at(a)];
      mean /= static_cast<double>(len);
      double var = 0.0;
      for (std::int64_t a = 0; a < len; ++a) var += (input.data[at(a)] - mean) * (input.data[at(a)] - mean);
      var /= static_cast<double>(len);
      const double root = std::sqrt(var + static_cast<double>(p.epsilon));
      for (std::int64_t a = 0; a < len; ++a)
        out.data[at(a)] = (input.data[at(a)] - mean) / root * affine.data[a] + affine.data[len + a];
    }
  }
  return out;
}

}  // namespace fusescope::reference
