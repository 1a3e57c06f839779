#include "ops/resize.hpp"

#include <cmath>

#include <fmt/format.h>

namespace fusescope::ops {

ResizeParams resize_to_size(ResizeMode mode, NearestRounding nearest, CoordinateTransform transform,
                            std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w) {
  ResizeParams p;
  p.mode = mode;
  p.nearest = nearest;
  p.transform = transform;
  p.out_h = out_h;
  p.out_w = out_w;
  // fp32 like ONNX Runtime, which divides the two sizes as floats.
  p.scale_h = static_cast<float>(out_h) / static_cast<float>(in_h);
  p.scale_w = static_cast<float>(out_w) / static_cast<float>(in_w);
  return p;
}

Shape resize_output_shape(const ResizeParams& p, const Shape& input, const std::string& name) {
  auto fail = [&](const std::string& what) { throw InvalidArgument(name + ": " + what); };
  if (input.size() != 4)
    fail(fmt::format("input has shape {}, expected 4 dimensions N x C x H x W", to_string(input)));
  checked_numel(input, name + ": input");
  if (p.mode != ResizeMode::nearest && p.mode != ResizeMode::linear)
    fail(fmt::format("mode {} is not nearest (0) or linear (1)", static_cast<std::uint32_t>(p.mode)));
  if (static_cast<std::uint32_t>(p.nearest) > 3)
    fail(fmt::format("nearest rounding {} is not one of 0..3", static_cast<std::uint32_t>(p.nearest)));
  if (static_cast<std::uint32_t>(p.transform) > 4)
    fail(fmt::format("coordinate transform {} is not one of 0..4", static_cast<std::uint32_t>(p.transform)));
  if (p.out_h <= 0 || p.out_w <= 0) fail(fmt::format("output size {}x{}, expected positive sizes", p.out_h, p.out_w));
  if (!(std::isfinite(p.scale_h) && p.scale_h > 0.0f && std::isfinite(p.scale_w) && p.scale_w > 0.0f))
    fail(fmt::format("scales {}x{}, expected finite positive scales", p.scale_h, p.scale_w));
  Shape out{input[0], input[1], p.out_h, p.out_w};
  checked_numel(out, name + ": output");
  return out;
}

const char* to_string(ResizeMode m) { return m == ResizeMode::nearest ? "nearest" : "linear"; }

const char* to_string(NearestRounding r) {
  switch (r) {
    case NearestRounding::round_prefer_floor: return "round_prefer_floor";
    case NearestRounding::round_prefer_ceil: return "round_prefer_ceil";
    case NearestRounding::floor: return "floor";
    case NearestRounding::ceil: return "ceil";
  }
  return "?";
}

const char* to_string(CoordinateTransform t) {
  switch (t) {
    case CoordinateTransform::half_pixel: return "half_pixel";
    case CoordinateTransform::pytorch_half_pixel: return "pytorch_half_pixel";
    case CoordinateTransform::align_corners: return "align_corners";
    case CoordinateTransform::asymmetric: return "asymmetric";
    case CoordinateTransform::tf_half_pixel_for_nearest: return "tf_half_pixel_for_nearest";
  }
  return "?";
}

}  // namespace fusescope::ops
