#include "vision/yolo_decoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace fusescope::vision {

namespace {

std::int64_t grid_cells(std::int64_t size, std::int64_t stride) { return (size + stride - 1) / stride; }

double activate(Activation a, float raw) {
  switch (a) {
    case Activation::none: return raw;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-static_cast<double>(raw)));
    case Activation::exp: return std::exp(std::min(static_cast<double>(raw), 80.0));
  }
  return raw;
}

// Predictions of one output: N = sum over strides of anchors * cells.
std::int64_t predictions(const DecoderConfig& c, std::size_t output) {
  std::int64_t n = 0;
  const DecoderOutput& o = c.outputs[output];
  for (std::size_t si = 0; si < o.strides.size(); ++si)
    n += c.anchors_per_cell(output, si) * grid_cells(c.input_height, o.strides[si]) * grid_cells(c.input_width, o.strides[si]);
  return n;
}

}  // namespace

ops::Shape expected_output_shape(const DecoderConfig& c, std::size_t output) {
  if (c.input_width <= 0 || c.input_height <= 0)
    throw ops::InvalidArgument("decoder config: the input size is unknown (neither the config nor the graph gives it)");
  const DecoderOutput& o = c.outputs.at(output);
  const std::int64_t k = c.values_per_prediction();
  switch (c.layout) {
    case OutputLayout::nchw:
      return {1, c.anchors_per_cell(output, 0) * k, grid_cells(c.input_height, o.strides[0]),
              grid_cells(c.input_width, o.strides[0])};
    case OutputLayout::rows: return {1, predictions(c, output), k};
    case OutputLayout::columns: return {1, k, predictions(c, output)};
  }
  return {};
}

std::vector<Detection> decode_yolo(const DecoderConfig& c, std::span<const std::span<const float>> outputs,
                                   double score_threshold) {
  if (outputs.size() != c.outputs.size())
    throw ops::InvalidArgument(fmt::format("YOLO decoder: {} output tensors for a config naming {}", outputs.size(), c.outputs.size()));
  const std::int64_t K = c.values_per_prediction();
  const std::int64_t C = static_cast<std::int64_t>(c.classes.size());
  const std::int64_t first_class = 4 + (c.objectness ? 1 : 0);
  // With sigmoid scores no class can beat the objectness, so a cell below the threshold is skipped.
  const bool objectness_bounds = c.objectness && c.score_activation == Activation::sigmoid;
  std::vector<Detection> out;
  for (std::size_t oi = 0; oi < outputs.size(); ++oi) {
    const DecoderOutput& o = c.outputs[oi];
    const ops::Shape shape = expected_output_shape(c, oi);
    const std::int64_t elements = ops::numel(shape);
    if (static_cast<std::int64_t>(outputs[oi].size()) != elements)
      throw ops::InvalidArgument(fmt::format("YOLO decoder: output {} has {} values, its shape {} needs {}", o.name,
                                             outputs[oi].size(), ops::to_string(shape), elements));
    const float* data = outputs[oi].data();
    const std::int64_t N = c.layout == OutputLayout::nchw ? 0 : predictions(c, oi);
    std::int64_t first_prediction = 0;  // rows / columns: where this stride's predictions start
    for (std::size_t si = 0; si < o.strides.size(); ++si) {
      const std::int64_t s = o.strides[si];
      const std::int64_t W = grid_cells(c.input_width, s), H = grid_cells(c.input_height, s);
      const std::int64_t A = c.anchors_per_cell(oi, si);
      const double u = c.box_units == BoxUnits::grid ? static_cast<double>(s) : 1.0;
      for (std::int64_t a = 0; a < A; ++a) {
        for (std::int64_t gy = 0; gy < H; ++gy) {
          for (std::int64_t gx = 0; gx < W; ++gx) {
            const std::int64_t cell = gy * W + gx;
            const std::int64_t n = first_prediction + a * H * W + cell;
            auto value = [&](std::int64_t k) -> float {
              switch (c.layout) {
                case OutputLayout::nchw: return data[(a * K + k) * H * W + cell];
                case OutputLayout::rows: return data[n * K + k];
                case OutputLayout::columns: return data[k * N + n];
              }
              return 0.0f;
            };
            const double obj = c.objectness ? activate(c.score_activation, value(4)) : 1.0;
            if (objectness_bounds && obj < score_threshold) continue;
            double v[4];
            for (int k = 0; k < 4; ++k) v[k] = activate(c.box_activation[static_cast<std::size_t>(k)], value(k));
            const bool grid = c.box_units == BoxUnits::grid;
            const double sd = static_cast<double>(s);
            double w = 0, h = 0;
            if (!o.anchors.empty()) {
              w = v[2] * o.anchors[si][static_cast<std::size_t>(a)][0];
              h = v[3] * o.anchors[si][static_cast<std::size_t>(a)][1];
            } else {
              w = v[2] * u;
              h = v[3] * u;
            }
            // A position: an offset from the cell's corner in grid units, absolute in pixels.
            auto px = [&](double t) { return grid ? (static_cast<double>(gx) + t) * sd : t; };
            auto py = [&](double t) { return grid ? (static_cast<double>(gy) + t) * sd : t; };
            double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
            switch (c.box_format) {
              case BoxFormat::ltrb: {
                const double ccx = (static_cast<double>(gx) + 0.5) * sd, ccy = (static_cast<double>(gy) + 0.5) * sd;
                x1 = ccx - v[0] * u, y1 = ccy - v[1] * u, x2 = ccx + v[2] * u, y2 = ccy + v[3] * u;
                break;
              }
              case BoxFormat::cxcywh:
                x1 = px(v[0]) - 0.5 * w, y1 = py(v[1]) - 0.5 * h, x2 = x1 + w, y2 = y1 + h;
                break;
              case BoxFormat::xywh:
                x1 = px(v[0]), y1 = py(v[1]), x2 = x1 + w, y2 = y1 + h;
                break;
              case BoxFormat::xyxy:
                x1 = px(v[0]), y1 = py(v[1]), x2 = px(v[2]), y2 = py(v[3]);
                break;
            }
            for (std::int64_t cls = 0; cls < C; ++cls) {
              const double score = obj * activate(c.score_activation, value(first_class + cls));
              if (score < score_threshold) continue;
              Detection d;
              d.x = x1, d.y = y1, d.w = x2 - x1, d.h = y2 - y1;
              d.class_id = cls;
              d.class_name = c.classes[static_cast<std::size_t>(cls)];
              d.score = score;
              out.push_back(std::move(d));
            }
          }
        }
      }
      first_prediction += A * H * W;
    }
  }
  return out;
}

std::vector<Detection> detect_yolo(const DecoderConfig& c, std::span<const std::span<const float>> outputs,
                                   double score_threshold, double iou_threshold) {
  NmsOptions nms;
  nms.score_threshold = score_threshold;
  nms.iou_threshold = iou_threshold;
  nms.class_aware = c.class_aware;
  nms.top_k = c.top_k;
  return non_max_suppression(decode_yolo(c, outputs, score_threshold), nms);
}

}  // namespace fusescope::vision
