#include "ops/winograd.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

bool winograd_applies(const Conv2dParams& p) {
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
         p.dilation_w == 1 && p.groups >= 1 && p.in_channels % p.groups == 0;
}

Shape winograd_weight_shape(const Conv2dParams& p) {
  return {p.out_channels, p.in_channels / p.groups, 4, 4};
}

std::vector<float> winograd_weights(const Conv2dParams& p, std::span<const float> oihw, const std::string& label) {
  if (!winograd_applies(p))
    throw InvalidArgument(fmt::format("{}: Winograd F(2x2,3x3) computes 3x3 convs of stride 1 and dilation 1; this "
                                      "one is {}x{} with stride {}x{}, dilation {}x{}",
                                      label, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h,
                                      p.dilation_w));
  const std::int64_t kernels = p.out_channels * (p.in_channels / p.groups);
  if (static_cast<std::int64_t>(oihw.size()) != kernels * 9)
    throw InvalidArgument(fmt::format("{}: {} weight values for {} 3x3 kernels ({} expected)", label, oihw.size(),
                                      kernels, kernels * 9));
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  std::vector<float> u(static_cast<std::size_t>(kernels * 16));
  for (std::int64_t k = 0; k < kernels; ++k) {
    const float* g = oihw.data() + k * 9;
    double gg[4][3];  // G g
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) gg[r][c] = G[r][0] * g[0 * 3 + c] + G[r][1] * g[1 * 3 + c] + G[r][2] * g[2 * 3 + c];
    float* out = u.data() + k * 16;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c)
        out[r * 4 + c] = static_cast<float>(gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2]);
  }
  return u;
}

}  // namespace fusescope::ops
