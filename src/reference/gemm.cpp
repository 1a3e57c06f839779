#include "reference/gemm.hpp"

#include <fmt/format.h>

#include "reference/activation.hpp"
#include "reference/checks.hpp"

namespace fusescope::reference {

// y[m, n] = act(bias[n] + sum over k of x[m, k] * W(k, n)), W(k, n) = w[n, k] when
// transpose_weight else w[k, n]: torch.nn.Linear / ONNX Gemm (alpha = beta = 1) with the epilogue.
HostTensor gemm(const ops::GemmParams& p, const HostTensor& x, const HostTensor& w,
                const HostTensor* bias) {
  const std::string op = "gemm";
  detail::expect_consistent(op, "input", x);
  const ops::Shape out_shape = ops::gemm_output_shape(p, x.shape);
  // Repeated from the shape rule because the loops below index by it.
  if (x.shape.empty() || ops::numel(x.shape) != x.shape[0] * p.in_features) {
    throw ops::InvalidArgument(fmt::format(
        "gemm: input has shape {}, expected its dims after the first to hold in_features {}",
        ops::to_string(x.shape), p.in_features));
  }
  detail::expect_consistent(op, "weight", w);
  ops::expect_shape(op, "weight", w.shape, ops::gemm_weight_shape(p));
  detail::expect_present_iff(op, "bias", bias, p.has_bias, "has_bias");
  if (bias != nullptr) {
    detail::expect_consistent(op, "bias", *bias);
    ops::expect_shape(op, "bias", bias->shape, {p.out_features});
  }

  const std::int64_t m_n = x.shape[0], k_n = p.in_features, n_n = p.out_features;
  if (out_shape != ops::Shape{m_n, n_n}) {
    throw std::logic_error(fmt::format("gemm: the shape rule gave output shape {}, expected {}x{}",
                                       ops::to_string(out_shape), m_n, n_n));
  }
  HostTensor y(out_shape);
  for (std::int64_t m = 0; m < m_n; ++m) {
    for (std::int64_t n = 0; n < n_n; ++n) {
      double acc = bias != nullptr ? bias->data[n] : 0.0;
      for (std::int64_t k = 0; k < k_n; ++k) {
        const double weight = p.transpose_weight ? w.data[n * k_n + k] : w.data[k * n_n + n];
        acc += x.data[m * k_n + k] * weight;
      }
      y.data[m * n_n + n] = apply_activation(acc, p.activation);
    }
  }
  return y;
}

}  // namespace fusescope::reference
