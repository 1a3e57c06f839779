#include "vision/detector.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "gpu/device.hpp"
#include "gpu/recorder.hpp"
#include "ops/encoder.hpp"
#include "ops/preprocess_gpu.hpp"
#include "vision/yolo_decoder.hpp"

namespace fusescope::vision {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string describe_io(const graph::Graph& g) {
  std::string s = "inputs";
  for (graph::ValueId v : g.inputs()) s += fmt::format(" {} {}", g.value(v).name, ops::to_string(g.value(v).shape));
  s += ", outputs";
  for (graph::ValueId v : g.outputs()) s += fmt::format(" {} {}", g.value(v).name, ops::to_string(g.value(v).shape));
  return s;
}

// Anchors per feature map (layers sharing a stride share one), in output order.
std::vector<std::int64_t> anchors_per_map(const SsdAnchorOptions& o) {
  std::vector<std::int64_t> counts;
  std::size_t layer = 0;
  while (layer < o.strides.size()) {
    std::size_t last = layer;
    std::int64_t per_cell = 0;
    while (last < o.strides.size() && o.strides[last] == o.strides[layer]) {
      per_cell += static_cast<std::int64_t>(o.aspect_ratios.size()) + (o.interpolated_scale_aspect_ratio > 0 ? 1 : 0);
      ++last;
    }
    const std::int64_t s = o.strides[layer];
    counts.push_back(((o.input_height + s - 1) / s) * ((o.input_width + s - 1) / s) * per_cell);
    layer = last;
  }
  return counts;
}

}  // namespace

DetectorSpec blazeface_spec(const graph::Graph& g, BlazeFaceVariant variant) {
  DetectorSpec spec;
  spec.kind = DetectorKind::blazeface;
  spec.blazeface = blazeface_config(variant);
  const BlazeFaceConfig& c = spec.blazeface;
  const std::int64_t s = c.input_size;
  const std::string what = fmt::format("BlazeFace {} ({}x{})", to_string(variant), s, s);
  if (g.inputs().size() != 1)
    throw ops::InvalidArgument(fmt::format("{}: expected one input, the graph has {}", what, describe_io(g)));
  const ops::Shape& in = g.value(g.inputs()[0]).shape;
  const bool nhwc = in == ops::Shape{1, s, s, 3};
  if (!nhwc && in != ops::Shape{1, 3, s, s})
    throw ops::InvalidArgument(
        fmt::format("{}: expected input [1, {}, {}, 3] or [1, 3, {}, {}]; the graph has {}", what, s, s, s, s, describe_io(g)));
  // Scores [1, n, 1] and regressors [1, n, coords], each group in the graph's output order.
  std::vector<std::int64_t> score_counts, regressor_counts;
  for (graph::ValueId v : g.outputs()) {
    const auto& val = g.value(v);
    if (val.shape.size() == 3 && val.shape[0] == 1 && val.shape[2] == 1) {
      spec.score_outputs.push_back(val.name);
      score_counts.push_back(val.shape[1]);
    } else if (val.shape.size() == 3 && val.shape[0] == 1 && val.shape[2] == c.num_coords) {
      spec.regressor_outputs.push_back(val.name);
      regressor_counts.push_back(val.shape[1]);
    } else {
      throw ops::InvalidArgument(fmt::format("{}: output {} {} is neither scores [1, n, 1] nor regressors [1, n, {}]",
                                             what, val.name, ops::to_string(val.shape), c.num_coords));
    }
  }
  const std::vector<std::int64_t> maps = anchors_per_map(c.anchors);
  if (score_counts != maps || regressor_counts != maps) {
    std::string want;
    for (std::int64_t m : maps) want += fmt::format("{}{}", want.empty() ? "" : ", ", m);
    throw ops::InvalidArgument(fmt::format("{}: the anchors come in feature maps of {} (strides {}); the graph has {}",
                                           what, want, fmt::join(c.anchors.strides, ","), describe_io(g)));
  }
  ops::PreprocessParams& p = spec.preprocess;
  p.out_width = p.out_height = s;
  p.fit = ops::ResizeFit::letterbox;
  p.pad_value = 0.0f;
  p.out_order = ops::PixelOrder::rgb;
  p.mean = {0.5f, 0.5f, 0.5f};
  p.std = {0.5f, 0.5f, 0.5f};
  p.nhwc = nhwc;
  spec.score_threshold = c.score_threshold;
  spec.iou_threshold = c.iou_threshold;
  return spec;
}

DetectorSpec detect_blazeface_spec(const graph::Graph& g) {
  if (g.inputs().size() == 1) {
    const ops::Shape& in = g.value(g.inputs()[0]).shape;
    for (BlazeFaceVariant v : {BlazeFaceVariant::front, BlazeFaceVariant::back}) {
      const std::int64_t s = blazeface_config(v).input_size;
      if (in == ops::Shape{1, s, s, 3} || in == ops::Shape{1, 3, s, s}) {
        try {
          return blazeface_spec(g, v);
        } catch (const ops::InvalidArgument& e) {
          throw ops::InvalidArgument(fmt::format("not a BlazeFace-shaped detector: {}", e.what()));
        }
      }
    }
  }
  throw ops::InvalidArgument(fmt::format(
      "not a detector fusescope knows: expected a BlazeFace-shaped network (input [1, 128|256, 128|256, 3], "
      "score and regressor outputs per anchor); the graph has {}",
      describe_io(g)));
}

DetectorSpec yolo_spec(const graph::Graph& g, DecoderConfig config, const std::string& where) {
  // The input: named, or the only one.
  const graph::Value* input = nullptr;
  for (graph::ValueId v : g.inputs()) {
    const auto& val = g.value(v);
    if (config.input_name.empty() ? g.inputs().size() == 1 : val.name == config.input_name) input = &val;
  }
  if (!input)
    throw ops::InvalidArgument(
        config.input_name.empty()
            ? fmt::format("{}: the graph has {} inputs; name the image one in input.name ({})", where, g.inputs().size(), describe_io(g))
            : fmt::format("{}: input.name '{}' is not an input of the graph ({})", where, config.input_name, describe_io(g)));
  const ops::Shape& in = input->shape;
  const bool nchw = in.size() == 4 && in[0] == 1 && in[1] == 3;
  const bool nhwc = !nchw && in.size() == 4 && in[0] == 1 && in[3] == 3;
  if (!nchw && !nhwc)
    throw ops::InvalidArgument(fmt::format("{}: input {} has shape {}; expected an image [1, 3, H, W] or [1, H, W, 3]", where,
                                           input->name, ops::to_string(in)));
  const std::int64_t h = nchw ? in[2] : in[1], w = nchw ? in[3] : in[2];
  if ((config.input_width && config.input_width != w) || (config.input_height && config.input_height != h))
    throw ops::InvalidArgument(fmt::format("{}: input is {}x{} (width x height) in the config, {}x{} in the graph ({})", where,
                                           config.input_width, config.input_height, w, h, describe_io(g)));
  config.input_width = w;
  config.input_height = h;
  config.input_name = input->name;

  for (std::size_t i = 0; i < config.outputs.size(); ++i) {
    const std::string& name = config.outputs[i].name;
    const graph::Value* out = nullptr;
    for (graph::ValueId v : g.outputs())
      if (g.value(v).name == name) out = &g.value(v);
    if (!out)
      throw ops::InvalidArgument(fmt::format("{}: outputs[{}] names '{}', which the graph does not output ({})", where, i, name,
                                             describe_io(g)));
    const ops::Shape want = expected_output_shape(config, i);
    if (out->shape != want)
      throw ops::InvalidArgument(fmt::format(
          "{}: output '{}' has shape {}; layout {} with strides {}, {} anchor(s) per cell and {} values per prediction "
          "(4 box{}, {} classes) on a {}x{} input needs {}",
          where, name, ops::to_string(out->shape), to_string(config.layout), fmt::join(config.outputs[i].strides, ","),
          config.anchors_per_cell(i, 0), config.values_per_prediction(), config.objectness ? ", 1 objectness" : "",
          config.classes.size(), w, h, ops::to_string(want)));
  }

  DetectorSpec spec;
  spec.kind = DetectorKind::yolo;
  ops::PreprocessParams& p = spec.preprocess;
  p.out_width = w;
  p.out_height = h;
  p.fit = config.fit;
  p.pad_value = config.pad_value;
  p.out_order = config.order;
  p.mean = config.mean;
  p.std = config.std;
  p.scale_255 = config.scale_255;
  p.nhwc = nhwc;
  spec.score_threshold = config.score_threshold;
  spec.iou_threshold = config.iou_threshold;
  spec.yolo = std::move(config);
  return spec;
}

FrameDetector::FrameDetector(gpu::Device& device, graph::Graph g, DetectorSpec spec, graph::ExecutorOptions options)
    : device_(device), spec_(std::move(spec)) {
  input_name_ = spec_.kind == DetectorKind::yolo ? spec_.yolo.input_name : g.value(g.inputs().at(0)).name;
  executor_ = std::make_unique<graph::Executor>(device, std::move(g), options);
  // The preprocess kernel writes the input's bytes as the executor stores them: a logically
  // NHWC input is stored plainly (only its Transpose reads it); a logically NCHW one is stored
  // NCHW, or NHWC under Layout::nhwc — then the kernel's NHWC output is exactly those bytes.
  const bool stored_nhwc = executor_->stored_layout(input_name_) == graph::Layout::nhwc;
  if (spec_.preprocess.nhwc && stored_nhwc)
    throw ops::InvalidArgument(fmt::format("{}: an NHWC model input stored permuted again cannot be preprocessed in place",
                                           input_name_));
  if (stored_nhwc) spec_.preprocess.nhwc = true;
  spec_.preprocess.dtype = executor_->device_tensor(input_name_).dtype;
}

FrameDetector::~FrameDetector() = default;

void FrameDetector::prepare(const Frame& frame) {
  if (frame.width == prepared_width_ && frame.height == prepared_height_ && frame.order == prepared_order_ && preprocess_)
    return;
  params_ = spec_.preprocess;
  params_.src_width = frame.width;
  params_.src_height = frame.height;
  params_.src_channels = 3;
  params_.src_stride = frame.stride;
  params_.src_order = frame.order;
  const ops::Tensor& input = executor_->device_tensor(input_name_);
  const ops::Shape shape = ops::preprocess_output_shape(params_, input_name_);
  const ops::Tensor out = ops::view_tensor(input.buffer, shape, input_name_, params_.dtype);
  geometry_ = ops::letterbox_geometry(params_);
  preprocess_.reset();
  frame_buffer_ = device_.allocate(ops::preprocess_frame_buffer_bytes(params_), "frame");
  preprocess_ = std::make_unique<gpu::Recorder>(device_, "preprocess");
  ops::encode_preprocess(ops::Encoder{device_, *preprocess_}, params_, frame_buffer_.view(), out, "preprocess");
  prepared_width_ = frame.width;
  prepared_height_ = frame.height;
  prepared_order_ = frame.order;
}

FrameDetections FrameDetector::detect(const Frame& frame) {
  FrameDetections r;
  auto t0 = Clock::now();
  prepare(frame);
  const std::uint64_t bytes = static_cast<std::uint64_t>(ops::preprocess_source_bytes(params_));
  if (frame.pixels.size() < bytes)
    throw ops::InvalidArgument(fmt::format("frame {}: {} bytes, {}x{} with stride {} needs {}", frame.index,
                                           frame.pixels.size(), frame.width, frame.height, frame.stride, bytes));
  device_.upload(frame_buffer_.view().slice(0, bytes), std::as_bytes(std::span(frame.pixels.data(), bytes)));
  preprocess_->submit_and_wait();
  r.preprocess_ms = ms_since(t0);

  t0 = Clock::now();
  executor_->run();
  if (spec_.kind == DetectorKind::yolo) {
    std::vector<std::vector<float>> values;
    for (const auto& o : spec_.yolo.outputs) values.push_back(executor_->read(o.name));
    r.inference_ms = ms_since(t0);
    t0 = Clock::now();
    const std::vector<std::span<const float>> spans(values.begin(), values.end());
    r.detections = decode_yolo_outputs(spec_, spans, geometry_);
    r.decode_ms = ms_since(t0);
    return r;
  }
  std::vector<float> scores, regressors;
  for (const auto& name : spec_.score_outputs) {
    const std::vector<float> v = executor_->read(name);
    scores.insert(scores.end(), v.begin(), v.end());
  }
  for (const auto& name : spec_.regressor_outputs) {
    const std::vector<float> v = executor_->read(name);
    regressors.insert(regressors.end(), v.begin(), v.end());
  }
  r.inference_ms = ms_since(t0);

  t0 = Clock::now();
  r.detections = decode(spec_, scores, regressors, geometry_);
  r.decode_ms = ms_since(t0);
  return r;
}

std::vector<Detection> FrameDetector::decode(const DetectorSpec& spec, std::span<const float> scores,
                                             std::span<const float> regressors, const ops::LetterboxGeometry& g) {
  const std::vector<Anchor> anchors = generate_ssd_anchors(spec.blazeface.anchors);
  std::vector<Detection> candidates = decode_blazeface(scores, regressors, anchors, spec.blazeface, spec.score_threshold);
  NmsOptions nms;
  nms.iou_threshold = spec.iou_threshold;
  nms.score_threshold = spec.score_threshold;
  nms.class_aware = false;
  std::vector<Detection> kept = weighted_non_max_suppression(std::move(candidates), nms);
  for (auto& d : kept) d = map_to_source(d, g);
  return kept;
}

std::vector<Detection> FrameDetector::decode_yolo_outputs(const DetectorSpec& spec,
                                                         std::span<const std::span<const float>> outputs,
                                                         const ops::LetterboxGeometry& g) {
  std::vector<Detection> kept = detect_yolo(spec.yolo, outputs, spec.score_threshold, spec.iou_threshold);
  for (auto& d : kept) d = map_to_source(d, g);
  return kept;
}

}  // namespace fusescope::vision
