#include "reference/softmax.hpp"

#include <algorithm>
#include <cmath>

#include "reference/checks.hpp"

namespace fusescope::reference {

// torch.softmax(x, dim) / ONNX Softmax (opset >= 13, one axis): viewing x as [outer, axis, inner],
// each (outer, inner) line is exponentiated after subtracting its max and divided by its sum.
HostTensor softmax(const ops::SoftmaxParams& p, const HostTensor& input) {
  const std::string op = "softmax";
  detail::expect_consistent(op, "input", input);
  ops::softmax_output_shape(p, input.shape);  // validates; the output has the input's shape
  const std::int64_t ax = detail::normalize_axis(op, p.axis, input.shape.size());

  const std::int64_t outer = detail::product(input.shape, 0, ax);
  const std::int64_t len = input.shape[ax];
  const std::int64_t inner = detail::product(input.shape, ax + 1, std::ssize(input.shape));
  HostTensor out(input.shape);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      auto at = [&](std::int64_t a) { return (o * len + a) * inner + i; };
      double max = input.data[at(0)];
      for (std::int64_t a = 1; a < len; ++a) max = std::max(max, input.data[at(a)]);
      double sum = 0.0;
      for (std::int64_t a = 0; a < len; ++a) {
        out.data[at(a)] = std::exp(input.data[at(a)] - max);
        sum += out.data[at(a)];
      }
      for (std::int64_t a = 0; a < len; ++a) out.data[at(a)] /= sum;
    }
  }
  return out;
}

}  // namespace fusescope::reference
