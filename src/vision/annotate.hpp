// Detections drawn onto a frame (box outlines, keypoint dots), and the frame as a PNG for
// `fusescope detect --save-frames`. Plain pixel writes on the host: a few boxes per frame.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vision/detection.hpp"
#include "vision/frame_source.hpp"

namespace fusescope::vision {

// A copy of `frame` with each detection's box (2-pixel outline, clipped to the frame) and
// keypoints (5x5 dots) drawn; colours are given as R, G, B whatever the frame's order.
Frame draw_detections(const Frame& frame, const std::vector<Detection>& detections);

// The frame as RGB PNG bytes (io::encode_png), for io::write_file_atomically.
std::vector<std::uint8_t> frame_png(const Frame& frame);

}  // namespace fusescope::vision
