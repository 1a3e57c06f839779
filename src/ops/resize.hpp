// Resizing H and W of NCHW (ONNX Resize opsets 10-17 and Upsample 9): nearest-neighbour with
// ONNX's four rounding rules, or bilinear; the five coordinate transformations that map an
// output pixel back onto the input. N and C are never resized.
#pragma once
#include <cstdint>
#include <string>

#include "ops/shape.hpp"

namespace fusescope::ops {

enum class ResizeMode : std::uint32_t { nearest = 0, linear = 1 };

// How nearest mode turns a fractional input coordinate into an index (ONNX nearest_mode).
enum class NearestRounding : std::uint32_t { round_prefer_floor = 0, round_prefer_ceil = 1, floor = 2, ceil = 3 };

// ONNX coordinate_transformation_mode: x_in = f(x_out, scale, in_len, out_len).
enum class CoordinateTransform : std::uint32_t {
  half_pixel = 0,                 // (x + 0.5) / scale - 0.5
  pytorch_half_pixel = 1,         // as half_pixel, but 0 when length_resized <= 1
  align_corners = 2,              // x * (in_len - 1) / (length_resized - 1), 0 when length_resized == 1
  asymmetric = 3,                 // x / scale
  tf_half_pixel_for_nearest = 4,  // (x + 0.5) / scale
};

struct ResizeParams {
  ResizeMode mode = ResizeMode::nearest;
  NearestRounding nearest = NearestRounding::round_prefer_floor;
  CoordinateTransform transform = CoordinateTransform::half_pixel;
  std::int64_t out_h = 1, out_w = 1;
  // The scales the coordinate transforms divide by: ONNX's `scales` as given (fp32), or
  // out/in when the model gave `sizes`. They are not always out/in: floor(in * scale) = out.
  float scale_h = 1.0f, scale_w = 1.0f;
  // ONNX's length_resized in the coordinate transforms is length_original * scale, which is
  // not an integer when the model gave `scales` (4 * 0.6 = 2.4 for an output of 2): set, the
  // transforms use in_len * scale (align_corners divides by it, pytorch_half_pixel tests it
  // against 1), as ONNX's reference and its conformance data do; clear (`sizes` given, where
  // out/in * in is out), they use out_len. Only align_corners and pytorch_half_pixel read it.
  bool length_from_scale = false;
};

// Resize params for output size out_h x out_w from an input of in_h x in_w, scales out/in
// (ONNX's rule when `sizes` is given).
ResizeParams resize_to_size(ResizeMode mode, NearestRounding nearest, CoordinateTransform transform,
                            std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w);

// [N, C, H, W] -> [N, C, out_h, out_w]; positive sizes and finite positive scales.
Shape resize_output_shape(const ResizeParams& p, const Shape& input, const std::string& name = "resize");

const char* to_string(ResizeMode m);
const char* to_string(NearestRounding r);
const char* to_string(CoordinateTransform t);

}  // namespace fusescope::ops
