// The generic YOLO-style decoder: raw output tensors + a DecoderConfig (decoder_config.hpp) ->
// candidate boxes in network-input pixels, before NMS. One decoder for grid or anchor-free
// heads, with or without objectness, any of the four box formats, in cells or pixels, with or
// without sigmoid / exp, over several strides — so a new model needs a config, not code.
//
// For the prediction of anchor a in cell (gx, gy) of stride s (grid W x H, W = ceil(input_w / s)):
//   v_k    = act_k(raw box value k), k = 0..3   (act: none, sigmoid, exp; exp's argument is
//            clamped at 80 so a wild value gives a huge box, never an infinite one)
//   u      = s for units "grid", 1 for "pixels";  centre of the cell c = ((gx + 0.5) s, (gy + 0.5) s)
//   size   w = v_2 * anchor_w (anchors given, pixels) else v_2 * u; h likewise with v_3
//   ltrb   x1 = c_x - v_0 u, y1 = c_y - v_1 u, x2 = c_x + v_2 u, y2 = c_y + v_3 u
//   cxcywh centre = ((gx + v_0) s, (gy + v_1) s) in grid units, (v_0, v_1) in pixels; size as above
//   xywh   top-left as cxcywh's centre; size as above
//   xyxy   corners ((gx + v_0) s, (gy + v_1) s), ((gx + v_2) s, (gy + v_3) s) in grid units,
//          (v_0, v_1), (v_2, v_3) in pixels
//   score of class c = act(objectness) * act(class c) with objectness, act(class c) without
//          (act: the config's score_activation, none or sigmoid)
// Every class scoring >= score_threshold in a cell gives a candidate (multi-label, as YOLO's
// evaluation does); NMS (detection.hpp) then keeps the best per object.
#pragma once
#include <span>
#include <vector>

#include "ops/shape.hpp"
#include "vision/decoder_config.hpp"
#include "vision/detection.hpp"

namespace fusescope::vision {

// The shape output `output` of the config must have (config.input_width/height set):
// nchw [1, A * K, H, W]; rows [1, N, K]; columns [1, K, N], N = sum over its strides of A * H * W.
ops::Shape expected_output_shape(const DecoderConfig& config, std::size_t output);

// The candidates of one frame, in network-input pixels, in output / stride / anchor / cell /
// class order. `outputs[i]` holds config.outputs[i]'s values (row-major, the shape above);
// throws ops::InvalidArgument naming the output when a size does not match.
std::vector<Detection> decode_yolo(const DecoderConfig& config, std::span<const std::span<const float>> outputs,
                                   double score_threshold);

// decode_yolo, then class-aware or agnostic NMS with the config's top-k.
std::vector<Detection> detect_yolo(const DecoderConfig& config, std::span<const std::span<const float>> outputs,
                                   double score_threshold, double iou_threshold);

}  // namespace fusescope::vision
