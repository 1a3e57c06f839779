#include "reference/batchnorm.hpp"

#include <fmt/format.h>

#include <cmath>

#include "reference/activation.hpp"
#include "reference/checks.hpp"

namespace fusescope::reference {

// PyTorch's BatchNorm2d in eval mode / ONNX BatchNormalization (inference):
//   y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c], c = index on axis 1.
// eps is stored as float and widened exactly, so it is the same number the kernel adds (1e-5f is
// not exactly 1e-5, and for a tiny var that difference is visible).
HostTensor batchnorm(const ops::BatchNormParams& p, const HostTensor& input,
                     const HostTensor& stats, const ops::Activation& act) {
  const std::string op = "batchnorm";
  detail::expect_consistent(op, "input", input);
  ops::batchnorm_output_shape(p, input.shape);  // validates; the output has the input's shape
  // Repeated from the shape rule because the loops below index by it.
  if (input.shape.size() < 2 || input.shape[1] != p.channels) {
    throw ops::InvalidArgument(fmt::format(
        "batchnorm: input has shape {}, expected rank >= 2 with {} channels on axis 1",
        ops::to_string(input.shape), p.channels));
  }
  detail::expect_consistent(op, "statistics", stats);
  ops::expect_shape(op, "statistics", stats.shape, {4, p.channels});

  const std::int64_t channels = p.channels;
  const std::int64_t outer = input.shape[0];
  const std::int64_t inner = detail::product(input.shape, 2, std::ssize(input.shape));
  const double eps = p.epsilon;
  const double* gamma = &stats.data[0 * channels];
  const double* beta = &stats.data[1 * channels];
  const double* mean = &stats.data[2 * channels];
  const double* var = &stats.data[3 * channels];

  HostTensor out(input.shape);
  for (std::int64_t n = 0; n < outer; ++n) {
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const std::int64_t at = (n * channels + c) * inner + i;
        const double normalized = (input.data[at] - mean[c]) / std::sqrt(var[c] + eps);
        out.data[at] = apply_activation(normalized * gamma[c] + beta[c], act);
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
