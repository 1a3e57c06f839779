#include "reference/conv_transpose.hpp"

#include "reference/checks.hpp"

namespace fusescope::reference {

// Full output (before padding is cut): row iy * stride + ky * dilation receives
// x[iy] * w[ky]; the result is that full output with pad_top rows removed from the top and
// pad_bottom from the bottom (output_padding only lengthens it at the end), plus the bias.
HostTensor conv_transpose2d(const ops::ConvTranspose2dParams& p, const HostTensor& input, const HostTensor& weight,
                            const HostTensor* bias) {
  const std::string op = "conv_transpose2d";
  detail::expect_consistent(op, "input", input);
  detail::expect_rank(op, "input", input, 4);
  const ops::Shape out_shape = ops::conv_transpose2d_output_shape(p, input.shape);
  detail::expect_consistent(op, "weight", weight);
  ops::expect_shape(op, "weight", weight.shape, ops::conv_transpose2d_weight_shape(p));
  detail::expect_present_iff(op, "bias", bias, p.has_bias, "has_bias");
  if (bias != nullptr) {
    detail::expect_consistent(op, "bias", *bias);
    ops::expect_shape(op, "bias", bias->shape, {p.out_channels});
  }
  const std::int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const std::int64_t OC = p.out_channels, OH = out_shape[2], OW = out_shape[3];
  const std::int64_t icg = C / p.groups, ocg = OC / p.groups;
  HostTensor out(out_shape);
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t oc = 0; oc < OC; ++oc) {
      const double b = bias != nullptr ? bias->data[static_cast<std::size_t>(oc)] : 0.0;
      double* plane = out.data.data() + (n * OC + oc) * OH * OW;
      for (std::int64_t i = 0; i < OH * OW; ++i) plane[i] = b;
    }
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t g = c / icg;
      const double* in_plane = input.data.data() + (n * C + c) * H * W;
      for (std::int64_t ocl = 0; ocl < ocg; ++ocl) {
        const std::int64_t oc = g * ocg + ocl;
        double* plane = out.data.data() + (n * OC + oc) * OH * OW;
        for (std::int64_t ky = 0; ky < p.kernel_h; ++ky) {
          for (std::int64_t kx = 0; kx < p.kernel_w; ++kx) {
            const double w = weight.data[static_cast<std::size_t>(((c * ocg + ocl) * p.kernel_h + ky) * p.kernel_w + kx)];
            for (std::int64_t iy = 0; iy < H; ++iy) {
              const std::int64_t oy = iy * p.stride_h + ky * p.dilation_h - p.pad_top;
              if (oy < 0 || oy >= OH) continue;  // cut by the padding
              for (std::int64_t ix = 0; ix < W; ++ix) {
                const std::int64_t ox = ix * p.stride_w + kx * p.dilation_w - p.pad_left;
                if (ox < 0 || ox >= OW) continue;
                plane[oy * OW + ox] += in_plane[iy * W + ix] * w;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
