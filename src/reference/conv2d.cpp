#include "reference/conv2d.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "reference/activation.hpp"
#include "reference/batchnorm.hpp"
#include "reference/checks.hpp"

namespace fusescope::reference {

// out[n, oc, oh, ow] = bias[oc] + sum over ic in oc's group, kh, kw of
//   in[n, g * IC/groups + ic, oh * stride_h - pad_top + kh * dilation_h,
//                             ow * stride_w - pad_left + kw * dilation_w] * w[oc, ic, kh, kw]
// with g = oc / (OC/groups) and positions outside the input reading as zero (zero padding).
// This is PyTorch's Conv2d / ONNX Conv; the output size is ops::conv2d_output_shape's
// floor((H + pad_top + pad_bottom - dilation * (k - 1) - 1) / stride) + 1.
HostTensor conv2d(const ops::Conv2dParams& p, const HostTensor& input, const HostTensor& weight,
                  const HostTensor* bias) {
  const std::string op = "conv2d";
  detail::expect_consistent(op, "input", input);
  detail::expect_rank(op, "input", input, 4);
  const ops::Shape out_shape = ops::conv2d_output_shape(p, input.shape);
  // The shape rule already checks these; repeated because the loops below index by them.
  if (p.groups < 1 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    throw ops::InvalidArgument(fmt::format(
        "conv2d: groups is {}, expected >= 1 and dividing in_channels {} and out_channels {}",
        p.groups, p.in_channels, p.out_channels));
  }
  if (input.shape[1] != p.in_channels) {
    throw ops::InvalidArgument(fmt::format("conv2d: input has {} channels, expected in_channels {}",
                                           input.shape[1], p.in_channels));
  }
  detail::expect_consistent(op, "weight", weight);
  ops::expect_shape(op, "weight", weight.shape, ops::conv2d_weight_shape(p));
  detail::expect_present_iff(op, "bias", bias, p.has_bias, "has_bias");
  if (bias != nullptr) {
    detail::expect_consistent(op, "bias", *bias);
    ops::expect_shape(op, "bias", bias->shape, {p.out_channels});
  }

  const std::int64_t batch = input.shape[0], in_h = input.shape[2], in_w = input.shape[3];
  const std::int64_t in_c = p.in_channels, out_c = p.out_channels;
  const std::int64_t out_h = out_shape[2], out_w = out_shape[3];
  const std::int64_t kh_n = p.kernel_h, kw_n = p.kernel_w;
  const std::int64_t in_per_group = in_c / p.groups, out_per_group = out_c / p.groups;
  detail::expect_nchw_output(op, out_shape, batch, out_c);

  // Each output element is the same sum as the textbook loop nest, over (ic, kh, kw) in that
  // order; the loops are only turned inside out (output plane innermost) so the compiler can
  // vectorise them — ResNet50 in float64 then takes seconds, not minutes.
  HostTensor out(out_shape);
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t oc = 0; oc < out_c; ++oc) {
      const std::int64_t g = oc / out_per_group;
      double* plane = out.data.data() + ((n * out_c + oc) * out_h) * out_w;
      const double b = bias != nullptr ? bias->data[oc] : 0.0;
      for (std::int64_t i = 0; i < out_h * out_w; ++i) plane[i] = b;
      for (std::int64_t ic = 0; ic < in_per_group; ++ic) {
        const std::int64_t c = g * in_per_group + ic;
        const double* in_plane = input.data.data() + ((n * in_c + c) * in_h) * in_w;
        for (std::int64_t kh = 0; kh < kh_n; ++kh) {
          for (std::int64_t kw = 0; kw < kw_n; ++kw) {
            const double w = weight.data[((oc * in_per_group + ic) * kh_n + kh) * kw_n + kw];
            for (std::int64_t oh = 0; oh < out_h; ++oh) {
              const std::int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
              if (ih < 0 || ih >= in_h) continue;  // zero padding contributes nothing
              const double* in_row = in_plane + ih * in_w;
              double* out_row = plane + oh * out_w;
              // The output columns whose tap lands inside the row: lo <= ow < hi.
              const std::int64_t off = kw * p.dilation_w - p.pad_left;
              std::int64_t lo = off >= 0 ? 0 : (-off + p.stride_w - 1) / p.stride_w;
              std::int64_t hi = in_w - off <= 0 ? 0 : (in_w - off + p.stride_w - 1) / p.stride_w;
              hi = std::min(hi, out_w);
              for (std::int64_t ow = lo; ow < hi; ++ow) out_row[ow] += w * in_row[ow * p.stride_w + off];
            }
          }
        }
      }
    }
  }
  return out;
}

// ops::ConvEpilogue's order, one stage after another on the whole tensor: the convolution with
// its bias, then inference BatchNorm from the raw statistics (the unfolded definition, so a folded
// kernel is judged against what folding is supposed to preserve), then the residual, then the
// activation last, so that e.g. ResNet's relu(bn(conv(x)) + shortcut) comes out right.
HostTensor conv2d_with_epilogue(const ops::Conv2dParams& p, const ops::ConvEpilogue& epilogue,
                                const HostTensor& input, const HostTensor& weight,
                                const HostTensor* bias, const HostTensor* bn_stats,
                                const HostTensor* residual) {
  const std::string op = "conv2d epilogue";
  detail::expect_present_iff(op, "BatchNorm statistics", bn_stats, epilogue.batchnorm,
                             "batchnorm");
  detail::expect_present_iff(op, "residual", residual, epilogue.residual, "residual");
  if (epilogue.batchnorm) {
    if (epilogue.bn.channels != p.out_channels) {
      throw ops::InvalidArgument(fmt::format("{}: bn.channels is {}, expected out_channels {}", op,
                                             epilogue.bn.channels, p.out_channels));
    }
    detail::expect_consistent(op, "BatchNorm statistics", *bn_stats);
    ops::expect_shape(op, "BatchNorm statistics", bn_stats->shape, {4, p.out_channels});
  }

  HostTensor y = conv2d(p, input, weight, bias);
  if (epilogue.batchnorm) y = batchnorm(epilogue.bn, y, *bn_stats);
  if (residual != nullptr) {
    detail::expect_consistent(op, "residual", *residual);
    ops::expect_shape(op, "residual", residual->shape, y.shape);
    for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] += residual->data[i];
  }
  return activation(y, epilogue.activation);
}

}  // namespace fusescope::reference
