#include "ops/winograd.hpp"

#include <fmt/format.h>

namespace fusescope::ops {

int winograd_tile(ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ConvAlgorithm::winograd: return 2;
    case ConvAlgorithm::winograd4: return 4;
    default: return 0;
  }
}

bool winograd_applies(const Conv2dParams& p) {
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
         p.dilation_w == 1 && p.groups >= 1 && p.in_channels % p.groups == 0;
}

Shape winograd_weight_shape(const Conv2dParams& p, int tile) {
  return {p.out_channels, p.in_channels / p.groups, tile + 2, tile + 2};
}

std::vector<float> winograd_weights(const Conv2dParams& p, std::span<const float> oihw, int tile,
                                    const std::string& label) {
  if (tile != 2 && tile != 4)
    throw InvalidArgument(fmt::format("{}: Winograd output tiles are 2x2 or 4x4, not {}x{}", label, tile, tile));
  if (!winograd_applies(p))
    throw InvalidArgument(fmt::format("{}: Winograd F({}x{},3x3) computes 3x3 convs of stride 1 and dilation 1; this "
                                      "one is {}x{} with stride {}x{}, dilation {}x{}",
                                      label, tile, tile, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                                      p.dilation_h, p.dilation_w));
  const std::int64_t kernels = p.out_channels * (p.in_channels / p.groups);
  if (static_cast<std::int64_t>(oihw.size()) != kernels * 9)
    throw InvalidArgument(fmt::format("{}: {} weight values for {} 3x3 kernels ({} expected)", label, oihw.size(),
                                      kernels, kernels * 9));
  static constexpr double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double G4[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  const int t = tile + 2;
  auto G = [&](int r, int c) { return tile == 2 ? G2[r][c] : G4[r][c]; };
  std::vector<float> u(static_cast<std::size_t>(kernels * t * t));
  for (std::int64_t k = 0; k < kernels; ++k) {
    const float* g = oihw.data() + k * 9;
    double gg[6][3];  // G g
    for (int r = 0; r < t; ++r)
      for (int c = 0; c < 3; ++c) gg[r][c] = G(r, 0) * g[0 * 3 + c] + G(r, 1) * g[1 * 3 + c] + G(r, 2) * g[2 * 3 + c];
    float* out = u.data() + k * t * t;
    for (int r = 0; r < t; ++r)
      for (int c = 0; c < t; ++c)
        out[r * t + c] = static_cast<float>(gg[r][0] * G(c, 0) + gg[r][1] * G(c, 1) + gg[r][2] * G(c, 2));
  }
  return u;
}

}  // namespace fusescope::ops
