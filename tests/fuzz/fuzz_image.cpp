// libFuzzer target: bytes as an image file (io::decode_image: PNG, JPEG, BMP, GIF ... through
// stb_image), then the preprocessing `--input photo.jpg` applies (crop, turn, resize, normalise),
// with the crop and output size taken from the decoded size so every path stays reachable.
#include <cstddef>
#include <cstdint>
#include <span>

#include "bad_input.hpp"
#include "io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fusescope;
  return fuzz::reject_bad_input([&] {
    const io::Image image = io::decode_image(std::span<const std::uint8_t>(data, size), "fuzz.img");
    io::Preprocess p;
    p.height = 7;  // odd and small: both up- and down-sampling happen on small images
    p.width = 5;
    p.crop = std::array<int, 4>{image.width / 4, image.height / 4, image.width - image.width / 4,
                                image.height - image.height / 4};
    p.rotate180 = (size & 1) != 0;
    p.bgr = (size & 2) != 0;
    io::to_tensor(image, p);
  });
}
