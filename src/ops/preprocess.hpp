// Preprocess: an 8-bit camera/video frame, as uploaded (packed bytes, B,G,R or R,G,B per pixel,
// optionally a 4th byte that is ignored, rows `src_stride` bytes apart), becomes a network's
// float input [1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC) on the GPU (ops/preprocess_gpu.hpp),
// with the float64 oracle in reference/preprocess.hpp. Both read the geometry from one function
// here, letterbox_geometry(), which map_box_to_source() inverts for detections.
//
// Geometry (all coordinates continuous, pixel i covering [i, i + 1)):
//   stretch   the whole input is the picture: content = out_width x out_height at (0, 0).
//   letterbox s = min(out_w / src_w, out_h / src_h); content_w = clamp(round(src_w * s), 1, out_w)
//             (same for h); offset = floor((out - content) / 2) per axis (centred, the odd pixel
//             on the right/bottom). The resize maps the source onto the content rectangle with
//             scale content / src per axis (not s: rounding the content to whole pixels makes
//             the two axes differ slightly, and this is the mapping the pixels really have).
//   input x = offset_x + source x * scale_x, and back: source x = (input x - offset_x) / scale_x.
//
// Pixel value of output channel c at input pixel (x, y) inside the content:
//   byte k  = the source byte holding channel c of out_order (k = c when src_order == out_order,
//             else 2 - c)
//   sx      = max(0, (x - offset_x + 0.5) * src_w / content_w - 0.5)   (half-pixel centres)
//   x0 = floor(sx), x1 = min(x0 + 1, src_w - 1), wx = sx - x0         (same for y)
//   p       = bilinear of the 2x2 bytes (0..255, not re-rounded to 8 bits)
//   out     = (p * scale - mean[c]) / std[c],   scale = 1/255 (0..1 pixels) or 1 (scale_255)
// Outside the content (letterbox padding): p = pad_value (0..255 units), normalised the same way.
// This is io::to_tensor's resize and normalisation (PyTorch interpolate(align_corners=False),
// cv2.resize INTER_LINEAR up to cv2's 8-bit weight quantisation), without anti-aliasing.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <glm/vec2.hpp>

#include "ops/shape.hpp"
#include "ops/tensor.hpp"

namespace fusescope::ops {

enum class PixelOrder : std::uint32_t {
  bgr = 0,  // OpenCV's order: byte 0 blue, 1 green, 2 red
  rgb = 1,  // stb's / PIL's order
};

enum class ResizeFit : std::uint32_t {
  stretch = 0,    // each axis scaled on its own to the input size (aspect ratio not kept)
  letterbox = 1,  // one scale for both axes, centred, the rest padded with pad_value
};

const char* to_string(PixelOrder order);
const char* to_string(ResizeFit fit);

struct PreprocessParams {
  // The frame as it lies in memory.
  std::int64_t src_width = 1, src_height = 1;
  std::int64_t src_channels = 3;  // bytes per pixel: 3, or 4 (the 4th, alpha or padding, unread)
  std::int64_t src_stride = 0;    // bytes from one row to the next; 0 means src_width * src_channels
  PixelOrder src_order = PixelOrder::bgr;
  // The network input.
  std::int64_t out_width = 1, out_height = 1;
  ResizeFit fit = ResizeFit::stretch;
  float pad_value = 114.0f;              // letterbox padding, in 0..255 pixel units (YOLO's grey)
  PixelOrder out_order = PixelOrder::rgb;
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};  // per output channel, in the units `scale` gives
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  bool scale_255 = false;  // false: pixels are p / 255 (0..1) before mean/std; true: 0..255
  bool nhwc = false;       // [1, H, W, 3] instead of [1, 3, H, W]
  DType dtype = DType::f32;  // f32, or f16 storage (fp32 arithmetic)

  std::int64_t stride() const { return src_stride != 0 ? src_stride : src_width * src_channels; }
  float scale() const { return scale_255 ? 1.0f : 1.0f / 255.0f; }
};

// Where the source picture lies in the network input (see the header comment).
struct LetterboxGeometry {
  glm::dvec2 scale{1.0, 1.0};   // input pixels per source pixel, per axis (content / src)
  glm::dvec2 offset{0.0, 0.0};  // input pixel where source (0, 0) lands (whole pixels)
  std::int64_t content_width = 1, content_height = 1;  // the picture's size inside the input
  std::int64_t src_width = 1, src_height = 1;
  std::int64_t out_width = 1, out_height = 1;
};

// The one geometry rule for the shader's params, the oracle and the inverse mapping. Throws
// InvalidArgument naming `name` for a non-positive size or an unknown fit.
LetterboxGeometry letterbox_geometry(ResizeFit fit, std::int64_t src_width, std::int64_t src_height,
                                     std::int64_t out_width, std::int64_t out_height,
                                     const std::string& name = "preprocess");
LetterboxGeometry letterbox_geometry(const PreprocessParams& p, const std::string& name = "preprocess");

// An axis-aligned box: top-left corner and size, in continuous pixel coordinates.
struct PixelBox {
  glm::dvec2 origin{0.0, 0.0};
  glm::dvec2 size{0.0, 0.0};
};

// A box in network-input pixels back to source-frame pixels (and the forward mapping). Not
// clipped: a box reaching into the letterbox padding maps outside the frame; clip_box() clips.
PixelBox map_box_to_source(const PixelBox& box, const LetterboxGeometry& g);
PixelBox map_box_to_input(const PixelBox& box, const LetterboxGeometry& g);
PixelBox clip_box(const PixelBox& box, double width, double height);

// The output's logical shape: [1, 3, out_height, out_width], or [1, out_height, out_width, 3]
// for nhwc. Checks every parameter (throws InvalidArgument naming `name`, the parameter and what
// was expected): sizes >= 1; src_channels 3 or 4; stride >= src_width * src_channels; the frame's
// byte count and the shader's integer coordinate arithmetic within 2^31; known enums; dtype f32
// or f16; std non-zero and finite, mean and pad_value finite.
Shape preprocess_output_shape(const PreprocessParams& p, const std::string& name = "preprocess");

// Bytes the packed source frame occupies: stride * (height - 1) + width * channels.
std::int64_t preprocess_source_bytes(const PreprocessParams& p);

}  // namespace fusescope::ops
