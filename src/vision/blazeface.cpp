#include "vision/blazeface.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "io/model_files.hpp"
#include "ops/shape.hpp"

namespace fusescope::vision {

namespace {

// SsdAnchorsCalculator's CalculateScale: min..max linearly over the layers.
double layer_scale(const SsdAnchorOptions& o, std::size_t layer) {
  const std::size_t n = o.strides.size();
  if (n == 1) return 0.5 * (o.min_scale + o.max_scale);
  return o.min_scale + (o.max_scale - o.min_scale) * static_cast<double>(layer) / static_cast<double>(n - 1);
}

}  // namespace

std::vector<Anchor> generate_ssd_anchors(const SsdAnchorOptions& o) {
  if (o.strides.empty()) throw ops::InvalidArgument("SSD anchors: no strides");
  if (o.aspect_ratios.empty()) throw ops::InvalidArgument("SSD anchors: no aspect ratios");
  if (o.input_width <= 0 || o.input_height <= 0)
    throw ops::InvalidArgument(fmt::format("SSD anchors: input size {}x{} is not positive", o.input_width, o.input_height));
  for (std::int64_t s : o.strides)
    if (s <= 0) throw ops::InvalidArgument(fmt::format("SSD anchors: stride {} is not positive", s));

  std::vector<Anchor> anchors;
  std::size_t layer = 0;
  while (layer < o.strides.size()) {
    // Layers sharing a stride share a feature map: their anchor shapes are stacked per cell.
    std::vector<double> widths, heights;
    std::size_t last = layer;
    while (last < o.strides.size() && o.strides[last] == o.strides[layer]) {
      const double scale = layer_scale(o, last);
      for (double ar : o.aspect_ratios) {
        heights.push_back(scale / std::sqrt(ar));
        widths.push_back(scale * std::sqrt(ar));
      }
      if (o.interpolated_scale_aspect_ratio > 0.0) {
        const double next = last + 1 == o.strides.size() ? 1.0 : layer_scale(o, last + 1);
        const double s = std::sqrt(scale * next);
        heights.push_back(s / std::sqrt(o.interpolated_scale_aspect_ratio));
        widths.push_back(s * std::sqrt(o.interpolated_scale_aspect_ratio));
      }
      ++last;
    }
    const double stride = static_cast<double>(o.strides[layer]);
    const auto fmap_h = static_cast<std::int64_t>(std::ceil(static_cast<double>(o.input_height) / stride));
    const auto fmap_w = static_cast<std::int64_t>(std::ceil(static_cast<double>(o.input_width) / stride));
    for (std::int64_t y = 0; y < fmap_h; ++y)
      for (std::int64_t x = 0; x < fmap_w; ++x)
        for (std::size_t a = 0; a < widths.size(); ++a) {
          Anchor anchor;
          anchor.cx = (static_cast<double>(x) + o.anchor_offset_x) / static_cast<double>(fmap_w);
          anchor.cy = (static_cast<double>(y) + o.anchor_offset_y) / static_cast<double>(fmap_h);
          anchor.w = o.fixed_anchor_size ? 1.0 : widths[a];
          anchor.h = o.fixed_anchor_size ? 1.0 : heights[a];
          anchors.push_back(anchor);
        }
    layer = last;
  }
  return anchors;
}

BlazeFaceConfig blazeface_config(BlazeFaceVariant variant) {
  BlazeFaceConfig c;
  c.variant = variant;
  if (variant == BlazeFaceVariant::front) {
    c.input_size = 128;
    c.anchors.strides = {8, 16, 16, 16};
    c.anchors.min_scale = 0.1484375;
    c.score_threshold = 0.75;
  } else {
    c.input_size = 256;
    c.anchors.strides = {16, 32, 32, 32};
    c.anchors.min_scale = 0.15625;
    c.score_threshold = 0.65;
  }
  c.anchors.max_scale = 0.75;
  c.anchors.input_width = c.anchors.input_height = c.input_size;
  return c;
}

const char* to_string(BlazeFaceVariant variant) { return variant == BlazeFaceVariant::front ? "front" : "back"; }

std::string blazeface_onnx_file(BlazeFaceVariant variant) {
  // io/model_files holds the fetched files' paths; this is the file name of the variant's.
  const std::string name = fmt::format("blazeface-{}", to_string(variant));
  for (const io::NamedModelFile& f : io::named_model_files())
    if (f.name == name) return std::filesystem::path(f.relative).filename().string();
  throw std::logic_error("blazeface_onnx_file: " + name + " is not in io::named_model_files()");
}

std::vector<Detection> decode_blazeface(std::span<const float> scores, std::span<const float> regressors,
                                        const std::vector<Anchor>& anchors, const BlazeFaceConfig& config,
                                        double score_threshold) {
  const std::size_t n = anchors.size();
  const auto coords = static_cast<std::size_t>(config.num_coords);
  if (scores.size() != n)
    throw ops::InvalidArgument(fmt::format("BlazeFace decode: {} scores for {} anchors", scores.size(), n));
  if (regressors.size() != n * coords)
    throw ops::InvalidArgument(fmt::format("BlazeFace decode: {} regressor values for {} anchors x {} coordinates",
                                           regressors.size(), n, coords));
  if (4 + 2 * static_cast<std::size_t>(config.num_keypoints) > coords)
    throw ops::InvalidArgument("BlazeFace decode: more keypoints than coordinates");
  const double scale = static_cast<double>(config.input_size);
  const double clip = config.score_clipping;
  std::vector<Detection> out;
  for (std::size_t i = 0; i < n; ++i) {
    const double logit = std::clamp(static_cast<double>(scores[i]), -clip, clip);
    const double score = 1.0 / (1.0 + std::exp(-logit));
    if (score < score_threshold) continue;
    const Anchor& a = anchors[i];
    const float* r = regressors.data() + i * coords;
    const double cx = r[0] / scale * a.w + a.cx;
    const double cy = r[1] / scale * a.h + a.cy;
    const double w = r[2] / scale * a.w;
    const double h = r[3] / scale * a.h;
    Detection d;
    d.x = (cx - 0.5 * w) * scale;
    d.y = (cy - 0.5 * h) * scale;
    d.w = w * scale;
    d.h = h * scale;
    d.class_id = 0;
    d.class_name = "face";
    d.score = score;
    for (std::int64_t k = 0; k < config.num_keypoints; ++k) {
      const double kx = r[4 + 2 * k] / scale * a.w + a.cx;
      const double ky = r[5 + 2 * k] / scale * a.h + a.cy;
      d.keypoints.emplace_back(kx * scale, ky * scale);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace fusescope::vision
