#include "reference/resize.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "reference/checks.hpp"

namespace fusescope::reference {

namespace {

// ONNX Resize's coordinate_transformation_mode, in float64: the input position of output
// index `out` along an axis of in_len -> out_len, scale s (the scale as given, not out/in).
// length_resized is ONNX's: in_len * s when the model gave scales (not rounded to out_len: the
// conformance case resize_downsample_scales_linear_align_corners divides by 4 * 0.6 - 1 = 1.4),
// out_len when it gave sizes.
double source_coordinate(ops::CoordinateTransform t, std::int64_t out, double s, std::int64_t in_len,
                         std::int64_t out_len, bool length_from_scale) {
  const double x = static_cast<double>(out);
  const double length_resized = length_from_scale ? static_cast<double>(in_len) * s : static_cast<double>(out_len);
  switch (t) {
    case ops::CoordinateTransform::half_pixel: return (x + 0.5) / s - 0.5;
    case ops::CoordinateTransform::pytorch_half_pixel: return length_resized > 1.0 ? (x + 0.5) / s - 0.5 : 0.0;
    case ops::CoordinateTransform::align_corners:
      // 0 when length_resized == 1; out == 0 gives 0 whatever the length, and out >= 1 means
      // out_len >= 2, so length_resized >= 2 (floor(length_resized) = out_len): no division by 0.
      return out == 0 ? 0.0 : x * static_cast<double>(in_len - 1) / (length_resized - 1.0);
    case ops::CoordinateTransform::asymmetric: return x / s;
    case ops::CoordinateTransform::tf_half_pixel_for_nearest: return (x + 0.5) / s;
  }
  throw ops::InvalidArgument("resize: unknown coordinate transform");
}

std::int64_t clamp_index(std::int64_t i, std::int64_t len) { return std::clamp<std::int64_t>(i, 0, len - 1); }

// ONNX nearest_mode: which integer a fractional coordinate picks. "prefer" decides exact ties
// (k + 0.5); everything else rounds to nearest.
std::int64_t nearest_index(ops::NearestRounding r, double v, std::int64_t len) {
  double picked = 0.0;
  switch (r) {
    case ops::NearestRounding::round_prefer_floor:
      picked = v - std::floor(v) == 0.5 ? std::floor(v) : std::round(v);
      break;
    case ops::NearestRounding::round_prefer_ceil:
      picked = v - std::floor(v) == 0.5 ? std::ceil(v) : std::round(v);
      break;
    case ops::NearestRounding::floor: picked = std::floor(v); break;
    case ops::NearestRounding::ceil: picked = std::ceil(v); break;
  }
  return clamp_index(static_cast<std::int64_t>(picked), len);
}

// Linear interpolation taps along one axis: indices floor(v) and floor(v) + 1, each clamped to
// the input (a position outside reads the edge), with weights 1 - t and t.
struct Taps {
  std::int64_t i0 = 0, i1 = 0;
  double w0 = 1.0, w1 = 0.0;
};
Taps linear_taps(double v, std::int64_t len) {
  const double f = std::floor(v);
  const double t = v - f;
  const auto i = static_cast<std::int64_t>(f);
  return {clamp_index(i, len), clamp_index(i + 1, len), 1.0 - t, t};
}

}  // namespace

HostTensor resize(const ops::ResizeParams& p, const HostTensor& input) {
  const std::string op = "resize";
  detail::expect_consistent(op, "input", input);
  detail::expect_rank(op, "input", input, 4);
  const ops::Shape out_shape = ops::resize_output_shape(p, input.shape);
  const std::int64_t planes = input.shape[0] * input.shape[1];
  const std::int64_t H = input.shape[2], W = input.shape[3];
  const std::int64_t OH = out_shape[2], OW = out_shape[3];
  HostTensor out(out_shape);
  for (std::int64_t plane = 0; plane < planes; ++plane) {
    const double* src = input.data.data() + plane * H * W;
    double* dst = out.data.data() + plane * OH * OW;
    for (std::int64_t oy = 0; oy < OH; ++oy) {
      const double sy = source_coordinate(p.transform, oy, p.scale_h, H, OH, p.length_from_scale);
      for (std::int64_t ox = 0; ox < OW; ++ox) {
        const double sx = source_coordinate(p.transform, ox, p.scale_w, W, OW, p.length_from_scale);
        double v = 0.0;
        if (p.mode == ops::ResizeMode::nearest) {
          v = src[nearest_index(p.nearest, sy, H) * W + nearest_index(p.nearest, sx, W)];
        } else {
          // The bilinear weights of the four neighbours, as a product of the 1-D weights.
          const Taps ty = linear_taps(sy, H), tx = linear_taps(sx, W);
          v = ty.w0 * tx.w0 * src[ty.i0 * W + tx.i0] + ty.w0 * tx.w1 * src[ty.i0 * W + tx.i1] +
              ty.w1 * tx.w0 * src[ty.i1 * W + tx.i0] + ty.w1 * tx.w1 * src[ty.i1 * W + tx.i1];
        }
        dst[oy * OW + ox] = v;
      }
    }
  }
  return out;
}

}  // namespace fusescope::reference
