// Loading images (through stb_image: PNG, JPEG, BMP, TGA, GIF, PSD, HDR, PIC, PNM) and turning
// them into a network's input tensor the way common preprocessing pipelines do.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fusescope::io {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;                  // 3 for load_image
  std::vector<std::uint8_t> pixels;  // interleaved, row-major: (y * width + x) * channels + c
};

// Decodes any format stb_image reads into 8-bit RGB (grey is replicated, alpha dropped).
// Throws FormatError naming the file and stb's reason when it cannot, and, before decoding
// anything, for dimensions over kMaxImagePixels and for the inputs stb would mishandle
// (io/stb_guard.hpp), as check_image_dimensions does.
Image load_image(const std::filesystem::path& path);

// The same from the file's bytes in memory; `label` stands for the file in messages.
Image decode_image(std::span<const std::uint8_t> bytes, const std::string& label);

// The most pixels an image may declare: 8192 x 8192 (2^26; 192 MiB as RGB, and stb needs up to
// three RGBA buffers that size for a GIF). A few hundred bytes of PNG, JPEG or GIF header can
// declare 100000 x 100000 pixels (a decompression bomb: 28 GiB to decode); no photo or video
// frame a network is fed comes near the limit. More is a FormatError before any pixel is decoded.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{8192} * 8192;

// Reads an image file and checks, without decoding pixels, the header of a format stb_image knows:
// throws FormatError naming the file and its declared size when that is over kMaxImagePixels, or
// what is wrong when the file holds what stb mishandles (io/stb_guard.hpp). A format stb cannot read
// passes (the decoder that reads it keeps its own limit, e.g. OpenCV's 2^30 pixels).
void check_image_dimensions(const std::filesystem::path& path);

// The pixels inside x <= px < x + width, y <= py < y + height. Throws ops::InvalidArgument
// naming the rectangle and the image size when it does not lie inside the image or is empty.
Image crop(const Image& image, int x, int y, int width, int height);

// The image turned upside down (pixel (x, y) moves to (width-1-x, height-1-y)): exact, no
// resampling, so a crop and its 180-degree turn hold the same pixel values.
Image rotate180(const Image& image);

// How to_tensor turns an RGB image into floats. First, when set, the crop (x, y, width, height
// in source pixels) and then the 180-degree turn; then, for output channel c at output pixel
// (x, y):
//
//   src     = channel (bgr ? 2 - c : c) of the image
//   p       = bilinear(src, x, y)                       (float, not re-rounded to 8 bits)
//   out     = (p * scale - mean[c]) / std[c]
//
// mean and std are indexed by output channel, so with bgr = true mean[0] is blue's.
//
// bilinear uses half-pixel centres, like PyTorch's interpolate(align_corners=False) and
// cv2.resize(INTER_LINEAR), independently per axis:
//
//   sx = max(0, (x + 0.5) * in_width / out_width - 0.5)
//   x0 = floor(sx), x1 = min(x0 + 1, in_width - 1), wx = sx - x0    (same for y)
//   p  = (1-wy)((1-wx) src[y0][x0] + wx src[y0][x1]) + wy((1-wx) src[y1][x0] + wx src[y1][x1])
//
// This matches PyTorch on a float image exactly (up to float rounding). cv2 on a uint8 image
// differs slightly: it quantizes the weights to 1/2048 and rounds the result to 8 bits. Both
// shrink without anti-aliasing (each output pixel sees at most 2x2 inputs). A same-size
// "resize" is the identity.
struct Preprocess {
  int height = 0;  // output size
  int width = 0;
  std::array<float, 3> mean{};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  float scale = 1.0f / 255.0f;
  bool bgr = false;   // emit channels as B, G, R
  bool nhwc = false;  // [1, H, W, 3] instead of [1, 3, H, W]
  std::optional<std::array<int, 4>> crop;  // x, y, width, height (see crop())
  bool rotate180 = false;
};

// Throws ops::InvalidArgument for a non-positive output size, a zero std, or an image that is
// not 3-channel with width * height * 3 pixels.
std::vector<float> to_tensor(const Image& image, const Preprocess& preprocess);

// The image as PNG file bytes (stb_image_write), for io::write_file_atomically. channels 1..4,
// pixels as in Image. Throws ops::InvalidArgument for a size that does not match the pixels and
// std::runtime_error when stb fails.
std::vector<std::uint8_t> encode_png(const Image& image);

}  // namespace fusescope::io
