#include "io/image.hpp"

#include <fmt/format.h>
// Declarations only: Debian's libstb (linked through pkg-config 'stb') already holds the compiled
// stb_image implementation, so defining STB_IMAGE_IMPLEMENTATION here would duplicate symbols.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include "io/stb_guard.hpp"
#include "io/safetensors.hpp"  // FormatError
#include "ops/shape.hpp"

namespace fusescope::io {

namespace {

std::vector<std::uint8_t> read_image_file(const std::filesystem::path& path) {
  // stb's own reason for a missing file is "can't fopen"; say it in words first.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw FormatError(fmt::format("{}: cannot load image: no such file", path.string()));
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw FormatError(fmt::format("{}: cannot load image: cannot read the file", path.string()));
  // stb reads at most INT_MAX bytes: a larger file is refused before anything is allocated for it.
  if (size > static_cast<std::uintmax_t>(std::numeric_limits<int>::max()))
    throw FormatError(fmt::format("{}: cannot load image: {} bytes is more than stb_image reads", path.string(), size));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw FormatError(fmt::format("{}: cannot load image: cannot read the file", path.string()));
  return bytes;
}

// The header's size, checked before anything allocates for it: a few hundred bytes may declare a
// 20000x20000 picture (a decompression bomb). stb reads the header; io/stb_guard.hpp's checks
// run first because stb's header reader already builds a JPEG's Huffman tables and parses a PNM's
// numbers.
void check_declared_dimensions(std::span<const std::uint8_t> bytes, const std::string& label) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw FormatError(fmt::format("{}: cannot load image: {} bytes is more than stb_image reads", label, bytes.size()));
  check_before_stb(bytes, label);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels)) {
    // stb refuses a PNG over 2^30 decoded bytes in its header check, so its info call fails
    // without the sizes: read them from the IHDR chunk (bytes 16..23, big-endian) ourselves.
    static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bytes.size() < 24 || std::memcmp(bytes.data(), kPng, 8) != 0 || std::memcmp(bytes.data() + 12, "IHDR", 4) != 0)
      return;  // not a header stb knows: the decoder gives its reason
    auto be32 = [&](int at) {
      return (std::uint32_t{bytes[at]} << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    };
    if (be32(16) > INT32_MAX || be32(20) > INT32_MAX) return;
    width = static_cast<int>(be32(16));
    height = static_cast<int>(be32(20));
  }
  const std::int64_t pixels = static_cast<std::int64_t>(width) * height;
  if (pixels > kMaxImagePixels) {
    throw FormatError(fmt::format("{}: the image declares {}x{} pixels ({:.0f} megapixels, {:.1f} GiB as RGB), more "
                                  "than the {} megapixels (8192x8192) fusescope decodes; not decoded",
                                  label, width, height, pixels / 1e6, pixels * 3.0 / (1ull << 30),
                                  kMaxImagePixels / 1000000));
  }
}

}  // namespace

void check_image_dimensions(const std::filesystem::path& path) {
  check_declared_dimensions(read_image_file(path), path.string());
}

Image load_image(const std::filesystem::path& path) { return decode_image(read_image_file(path), path.string()); }

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& label) {
  check_declared_dimensions(bytes, label);
  // The file's own channels, made RGB here rather than by stb, whose 2.27 conversion of a 16-bit
  // grey PNM read twice the buffer it made (those files are refused now, io/stb_guard.hpp; this
  // keeps its conversions out of the path). Grey is replicated and alpha dropped, as stb's would.
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels, 0),
      stbi_image_free);
  if (!data) {
    throw FormatError(fmt::format("{}: cannot load image: {}", label, stbi_failure_reason()));
  }
  if (channels < 1 || channels > 4)
    throw FormatError(fmt::format("{}: cannot load image: {} channels", label, channels));
  Image image{width, height, 3, {}};
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  image.pixels.resize(pixels * 3);
  const stbi_uc* in = data.get();
  for (std::size_t i = 0; i < pixels; ++i, in += channels) {
    const bool grey = channels < 3;
    image.pixels[3 * i] = in[0];
    image.pixels[3 * i + 1] = in[grey ? 0 : 1];
    image.pixels[3 * i + 2] = in[grey ? 0 : 2];
  }
  return image;
}

Image crop(const Image& image, int x, int y, int width, int height) {
  if (image.channels <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels) {
    throw ops::InvalidArgument(fmt::format("crop: image {}x{} with {} channels holds {} bytes", image.width,
                                           image.height, image.channels, image.pixels.size()));
  }
  if (width <= 0 || height <= 0 || x < 0 || y < 0 || x > image.width - width || y > image.height - height) {
    throw ops::InvalidArgument(fmt::format("crop {}x{} at ({}, {}) does not lie inside the {}x{} image", width,
                                           height, x, y, image.width, image.height));
  }
  Image out{width, height, image.channels, {}};
  const auto ch = static_cast<std::size_t>(image.channels);
  out.pixels.resize(static_cast<std::size_t>(width) * height * ch);
  for (int r = 0; r < height; ++r) {
    const auto* src = image.pixels.data() + (static_cast<std::size_t>(y + r) * image.width + x) * ch;
    std::copy(src, src + width * ch, out.pixels.data() + static_cast<std::size_t>(r) * width * ch);
  }
  return out;
}

Image rotate180(const Image& image) {
  Image out = image;
  const auto ch = static_cast<std::size_t>(image.channels);
  const std::size_t count = out.pixels.size() / std::max<std::size_t>(ch, 1);
  for (std::size_t i = 0; i < count; ++i)
    std::copy_n(image.pixels.data() + (count - 1 - i) * ch, ch, out.pixels.data() + i * ch);
  return out;
}

namespace {

// One output coordinate's two source taps and the weight of the second.
struct Taps {
  int i0, i1;
  double w1;
};

std::vector<Taps> bilinear_taps(int in_size, int out_size) {
  std::vector<Taps> taps(out_size);
  const double ratio = static_cast<double>(in_size) / out_size;
  for (int o = 0; o < out_size; ++o) {
    const double s = std::max(0.0, (o + 0.5) * ratio - 0.5);
    const int i0 = std::min(static_cast<int>(s), in_size - 1);
    taps[o] = {i0, std::min(i0 + 1, in_size - 1), s - i0};
  }
  return taps;
}

}  // namespace

std::vector<float> to_tensor(const Image& original, const Preprocess& p) {
  Image edited;
  if (p.crop) edited = crop(original, (*p.crop)[0], (*p.crop)[1], (*p.crop)[2], (*p.crop)[3]);
  if (p.rotate180) edited = rotate180(p.crop ? edited : original);
  const Image& image = p.crop || p.rotate180 ? edited : original;
  if (p.height <= 0 || p.width <= 0)
    throw ops::InvalidArgument(
        fmt::format("to_tensor: output size {}x{} must be positive", p.width, p.height));
  if (image.channels != 3 || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    throw ops::InvalidArgument(
        fmt::format("to_tensor: image {}x{} with {} channels and {} bytes is not a 3-channel image",
                    image.width, image.height, image.channels, image.pixels.size()));
  }
  for (int c = 0; c < 3; ++c)
    if (p.std[c] == 0.0f) throw ops::InvalidArgument(fmt::format("to_tensor: std[{}] is 0", c));

  const std::vector<Taps> xs = bilinear_taps(image.width, p.width);
  const std::vector<Taps> ys = bilinear_taps(image.height, p.height);
  const std::size_t plane = static_cast<std::size_t>(p.height) * p.width;
  std::vector<float> out(plane * 3);
  auto at = [&](int x, int y, int c) {
    return static_cast<double>(
        image.pixels[(static_cast<std::size_t>(y) * image.width + x) * 3 + c]);
  };
  for (int c = 0; c < 3; ++c) {
    const int src = p.bgr ? 2 - c : c;
    for (int y = 0; y < p.height; ++y) {
      const Taps& ty = ys[y];
      for (int x = 0; x < p.width; ++x) {
        const Taps& tx = xs[x];
        const double top = (1 - tx.w1) * at(tx.i0, ty.i0, src) + tx.w1 * at(tx.i1, ty.i0, src);
        const double bottom = (1 - tx.w1) * at(tx.i0, ty.i1, src) + tx.w1 * at(tx.i1, ty.i1, src);
        const double v = (1 - ty.w1) * top + ty.w1 * bottom;
        const std::size_t pixel = static_cast<std::size_t>(y) * p.width + x;
        out[p.nhwc ? pixel * 3 + c : c * plane + pixel] =
            (static_cast<float>(v) * p.scale - p.mean[c]) / p.std[c];
      }
    }
  }
  return out;
}

}  // namespace fusescope::io

namespace fusescope::io {

std::vector<std::uint8_t> encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels)
    throw ops::InvalidArgument(fmt::format("encode_png: {}x{}x{} image with {} bytes", image.width, image.height,
                                           image.channels, image.pixels.size()));
  std::vector<std::uint8_t> out;
  auto sink = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::vector<std::uint8_t>*>(context);
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes->insert(bytes->end(), p, p + size);
  };
  if (!stbi_write_png_to_func(sink, &out, image.width, image.height, image.channels, image.pixels.data(),
                              image.width * image.channels))
    throw std::runtime_error(fmt::format("encode_png: stb could not encode a {}x{} image", image.width, image.height));
  return out;
}

}  // namespace fusescope::io
