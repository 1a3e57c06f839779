#include "reference/pool2d.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/checks.hpp"

namespace fusescope::reference {

namespace {

// One output window, as PyTorch's CPU avg_pool2d kernel computes it (aten/src/ATen/native/cpu/
// AvgPoolKernel.cpp). The window starts at out * stride - pad_begin; its end is first clipped to
// the padded input's end (size + pad_end) — that extent is `pool_size` for count_include_pad —
// and then both ends are clipped to the real input [0, size).
struct Window {
  std::int64_t begin = 0, end = 0;  // real input rows (or columns), [begin, end)
  std::int64_t padded_extent = 0;   // rows (or columns) inside the padded input
};

Window window_1d(std::int64_t out, std::int64_t stride, std::int64_t kernel, std::int64_t pad_begin,
                 std::int64_t pad_end, std::int64_t size) {
  const std::int64_t start = out * stride - pad_begin;
  const std::int64_t padded_end = std::min(start + kernel, size + pad_end);
  return {std::max<std::int64_t>(start, 0), std::min(padded_end, size), padded_end - start};
}

}  // namespace

// Max: the largest real input element in the window; padded positions never win (as if -inf),
// and a NaN in the window propagates (PyTorch's max_pool2d does the same). A window with no real
// element — which ops::pool2d_output_shape's rules rule out — would give -inf, as in PyTorch.
// Average (PyTorch AvgPool2d, divisor_override unset):
//   out = sum of the real elements in the window / divisor,
//   divisor = count_include_pad ? (window clipped to the padded input, before clipping to the
//                                  real input; the zero padding counts, anything ceil_mode hangs
//                                  past the padding does not)
//                               : number of real elements in the window.
// An empty window gives 0, as PyTorch's kernel skips it and leaves the zero it wrote.
HostTensor pool2d(const ops::Pool2dParams& p, const HostTensor& input) {
  const std::string op = "pool2d";
  detail::expect_consistent(op, "input", input);
  detail::expect_rank(op, "input", input, 4);
  const ops::Shape out_shape = ops::pool2d_output_shape(p, input.shape);
  if (p.kind != ops::PoolKind::max && p.kind != ops::PoolKind::average) {
    throw ops::InvalidArgument(fmt::format("pool2d: kind has value {}, expected 0 (max) or 1 "
                                           "(average)",
                                           static_cast<unsigned>(p.kind)));
  }

  const std::int64_t planes = input.shape[0] * input.shape[1];
  const std::int64_t in_h = input.shape[2], in_w = input.shape[3];
  detail::expect_nchw_output(op, out_shape, input.shape[0], input.shape[1]);
  const std::int64_t out_h = out_shape[2], out_w = out_shape[3];

  HostTensor out(out_shape);
  for (std::int64_t plane = 0; plane < planes; ++plane) {
    const double* x = &input.data[plane * in_h * in_w];
    for (std::int64_t oh = 0; oh < out_h; ++oh) {
      const Window wh = window_1d(oh, p.stride_h, p.kernel_h, p.pad_top, p.pad_bottom, in_h);
      for (std::int64_t ow = 0; ow < out_w; ++ow) {
        const Window ww = window_1d(ow, p.stride_w, p.kernel_w, p.pad_left, p.pad_right, in_w);
        double result = 0.0;
        if (p.kind == ops::PoolKind::max) {
          // Taps (kernel positions) dilation apart from the window's start; those in the padding
          // are skipped.
          result = -std::numeric_limits<double>::infinity();
          for (std::int64_t ky = 0; ky < p.kernel_h; ++ky) {
            const std::int64_t ih = oh * p.stride_h - p.pad_top + ky * p.dilation_h;
            if (ih < 0 || ih >= in_h) continue;
            for (std::int64_t kx = 0; kx < p.kernel_w; ++kx) {
              const std::int64_t iw = ow * p.stride_w - p.pad_left + kx * p.dilation_w;
              if (iw < 0 || iw >= in_w) continue;
              const double v = x[ih * in_w + iw];
              // Once result is NaN, v > result is false, so the NaN sticks.
              if (v > result || std::isnan(v)) result = v;
            }
          }
        } else {
          double sum = 0.0;
          std::int64_t count = 0;
          for (std::int64_t ih = wh.begin; ih < wh.end; ++ih) {
            for (std::int64_t iw = ww.begin; iw < ww.end; ++iw) {
              sum += x[ih * in_w + iw];
              ++count;
            }
          }
          const std::int64_t divisor =
              p.count_include_pad ? wh.padded_extent * ww.padded_extent : count;
          result = count == 0 ? 0.0 : sum / static_cast<double>(divisor);
        }
        out.data[(plane * out_h + oh) * out_w + ow] = result;
      }
    }
  }
  return out;
}

// The mean over H x W of each (n, c) plane (ONNX GlobalAveragePool, PyTorch
// adaptive_avg_pool2d(x, 1)).
HostTensor global_average_pool(const HostTensor& input) {
  const std::string op = "global_average_pool";
  detail::expect_consistent(op, "input", input);
  detail::expect_rank(op, "input", input, 4);
  const ops::Shape out_shape = ops::global_average_pool_output_shape(input.shape);

  const std::int64_t planes = input.shape[0] * input.shape[1];
  const std::int64_t plane_size = input.shape[2] * input.shape[3];
  detail::expect_nchw_output(op, out_shape, input.shape[0], input.shape[1]);
  HostTensor out(out_shape);
  for (std::int64_t plane = 0; plane < planes; ++plane) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < plane_size; ++i) sum += input.data[plane * plane_size + i];
    out.data[plane] = sum / static_cast<double>(plane_size);
  }
  return out;
}

}  // namespace fusescope::reference
