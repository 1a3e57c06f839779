// The preprocessing kernel (shaders/preprocess.comp) against the float64 oracle
// (reference/preprocess.cpp) over a table: odd sizes, up- and down-scaling, 1-pixel frames and
// inputs, wide and tall aspect ratios, stretch and letterbox, BGR/RGB in and out, 3 and 4 bytes
// per pixel, padded row strides, NCHW and NHWC, mean/std on 0..1 and on 0..255, f32 and f16
// storage; the letterbox geometry and its inverse mapping; the shape rule's messages; and the GPU
// path against io::to_tensor (the project's CPU image path) on a real opencv-doc image.
//
// Tolerances (require_close: rel-L2, and max-abs relative to max(1, max |expected|)):
//   f32: 1e-6 rel-L2, 1e-5 max-abs. The kernel's source coordinate is exact integer arithmetic
//        with one fp32 rounding of the fraction; then three fp32 lerps of 0..255 bytes (each a
//        few ulps of 255, ~1.5e-5 absolute in pixel units, i.e. < 1e-7 relative to 255) and
//        (p * scale - mean) / std, a few more ulps. Every output is therefore within ~1e-6
//        relative to the output range of the float64 oracle; 1e-5 leaves a 10x margin. A wrong
//        tap (off by one pixel), a swapped channel or a half-pixel slip moves values by whole
//        byte steps (>= 1/255 of the range) and fails.
//   f16: the oracle is rounded to fp16 too, so the two differ only where the kernel's fp32 value
//        and the float64 one straddle an fp16 rounding tie: then by one fp16 ulp, at most 2^-10
//        (9.8e-4) relative to the value, and |value| <= max |expected|: 1e-3 max-abs. Such flips
//        are rare, so rel-L2 stays far below one ulp: 5e-4. Measured on lavapipe: most cases
//        exact, the worst 5.2e-5 rel-L2, one flip of 4.9e-4 (an ulp at 0.5..1).
//   Measured on lavapipe (f32): rel-L2 2.4e-8..2.2e-7, max-abs <= 6.6e-7 on 0..1-scaled outputs
//   (3.4e-5 on raw 0..255 outputs, 1.3e-7 of their range).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <glm/common.hpp>
#include <glm/vector_relational.hpp>

#include "io/image.hpp"
#include "ops/half.hpp"
#include "ops/preprocess_gpu.hpp"
#include "reference/preprocess.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

constexpr double kRelL2F32 = 1e-6, kMaxAbsF32 = 1e-5;
constexpr double kRelL2F16 = 5e-4, kMaxAbsF16 = 1e-3;

const std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
const std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

// Random bytes for a frame, with the padding bytes of each row (stride > row) random too, so a
// kernel reading them shows.
std::vector<std::uint8_t> random_frame(std::mt19937& rng, const ops::PreprocessParams& p) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> v(static_cast<std::size_t>(ops::preprocess_source_bytes(p)));
  for (auto& b : v) b = static_cast<std::uint8_t>(byte(rng));
  return v;
}

bool has_16bit_storage() {
  if (device().info().storage_16bit) return true;
  WARN("device " << device().info().name << " has no storageBuffer16BitAccess: f16 preprocessing not tested");
  return false;
}

std::vector<float> run_gpu(const ops::PreprocessParams& p, std::span<const std::uint8_t> frame) {
  const ops::Shape shape = ops::preprocess_output_shape(p);
  const gpu::Buffer src = ops::upload_frame_bytes(device(), frame);
  const ops::Tensor out = output_tensor(shape, "input", p.dtype);
  std::vector<float> got = run_kernel(out, [&](gpu::Recorder& rec) {
    ops::encode_preprocess({device(), rec}, p, src.view(), out);
  });
  require_no_validation_messages();
  return got;
}

struct PpCase {
  std::string name;
  ops::PreprocessParams p;
};

ops::PreprocessParams params(std::int64_t sw, std::int64_t sh, std::int64_t ow, std::int64_t oh,
                             ops::ResizeFit fit = ops::ResizeFit::stretch) {
  ops::PreprocessParams p;
  p.src_width = sw;
  p.src_height = sh;
  p.out_width = ow;
  p.out_height = oh;
  p.fit = fit;
  return p;
}

std::vector<PpCase> table() {
  using ops::PixelOrder;
  using ops::ResizeFit;
  auto edit = [](ops::PreprocessParams p, auto f) {
    f(p);
    return p;
  };
  const auto imagenet = [](ops::PreprocessParams& p) {
    p.mean = kImageNetMean;
    p.std = kImageNetStd;
  };
  return {
      {"same size 7x5 (identity resize)", params(7, 5, 7, 5)},
      {"downscale 33x17 -> 8x5 stretch, ImageNet", edit(params(33, 17, 8, 5), imagenet)},
      {"upscale 5x3 -> 19x13 stretch", params(5, 3, 19, 13)},
      {"1x1 frame -> 9x7 stretch", params(1, 1, 9, 7)},
      {"1x1 frame -> 9x7 letterbox", params(1, 1, 9, 7, ResizeFit::letterbox)},
      {"37x23 -> 1x1 stretch", params(37, 23, 1, 1)},
      {"37x23 -> 1x1 letterbox", params(37, 23, 1, 1, ResizeFit::letterbox)},
      {"1-pixel-wide 1x29 -> 6x10 letterbox", params(1, 29, 6, 10, ResizeFit::letterbox)},
      {"wide 64x18 -> 32x32 letterbox (pads top/bottom)",
       edit(params(64, 18, 32, 32, ResizeFit::letterbox), [](auto& p) { p.pad_value = 114; })},
      {"tall 15x61 -> 31x20 letterbox (pads left/right, odd)",
       edit(params(15, 61, 31, 20, ResizeFit::letterbox), [](auto& p) { p.pad_value = 0; })},
      {"wide up 13x7 -> 40x40 letterbox, ImageNet, pad 255",
       edit(params(13, 7, 40, 40, ResizeFit::letterbox), [&](auto& p) {
         imagenet(p);
         p.pad_value = 255;
       })},
      {"tall down 50x90 -> 17x17 letterbox NHWC", edit(params(50, 90, 17, 17, ResizeFit::letterbox),
                                                       [](auto& p) { p.nhwc = true; })},
      {"rgb in, rgb out 21x14 -> 11x9", edit(params(21, 14, 11, 9), [](auto& p) { p.src_order = PixelOrder::rgb; })},
      {"bgr in, bgr out 21x14 -> 11x9", edit(params(21, 14, 11, 9), [](auto& p) { p.out_order = PixelOrder::bgr; })},
      {"rgb in, bgr out NHWC 21x14 -> 11x9",
       edit(params(21, 14, 11, 9), [](auto& p) {
         p.src_order = PixelOrder::rgb;
         p.out_order = PixelOrder::bgr;
         p.nhwc = true;
       })},
      {"4 bytes per pixel (BGRA), stride 4*19+5, 19x11 -> 10x16 letterbox",
       edit(params(19, 11, 10, 16, ResizeFit::letterbox), [](auto& p) {
         p.src_channels = 4;
         p.src_stride = 4 * 19 + 5;
       })},
      {"padded stride 3*9+7, 9x9 -> 4x12 stretch", edit(params(9, 9, 4, 12), [](auto& p) { p.src_stride = 34; })},
      {"0..255 scale with mean/std (caffe-style) 25x19 -> 16x16",
       edit(params(25, 19, 16, 16), [](auto& p) {
         p.scale_255 = true;
         p.mean = {103.94f, 116.78f, 123.68f};
         p.std = {57.4f, 57.1f, 58.4f};
       })},
      {"0..255 raw 12x12 -> 24x20 letterbox", edit(params(12, 12, 24, 20, ResizeFit::letterbox),
                                                   [](auto& p) { p.scale_255 = true; })},
      {"negative std, 640x480 -> 96x96 letterbox",
       edit(params(640, 480, 96, 96, ResizeFit::letterbox), [](auto& p) {
         p.mean = {0.5f, 0.5f, 0.5f};
         p.std = {-0.5f, 0.25f, 2.0f};
       })},
      {"camera-size 1280x720 -> 256x160 stretch ImageNet", edit(params(1280, 720, 256, 160), imagenet)},
  };
}

void check_case(const PpCase& c, ops::DType dtype, std::uint32_t seed) {
  ops::PreprocessParams p = c.p;
  p.dtype = dtype;
  std::mt19937 rng(seed);
  const std::vector<std::uint8_t> frame = random_frame(rng, p);
  const std::vector<float> got = run_gpu(p, frame);
  reference::HostTensor want = reference::preprocess(p, frame);
  if (dtype == ops::DType::f16) {
    for (double& v : want.data) v = ops::half_to_float(ops::float_to_half(static_cast<float>(v)));
  }
  const bool f16 = dtype == ops::DType::f16;
  require_close("preprocess", fmt::format("{} {}", c.name, ops::to_string(dtype)), got, want,
                f16 ? kRelL2F16 : kRelL2F32, f16 ? kMaxAbsF16 : kMaxAbsF32);
}

}  // namespace

TEST_CASE("preprocess kernel matches the float64 oracle over the case table", "[kernel][preprocess]") {
  std::uint32_t seed = 8100;
  for (const PpCase& c : table()) {
    INFO(c.name << " seed " << seed);
    check_case(c, ops::DType::f32, seed++);
  }
}

TEST_CASE("preprocess kernel with f16 storage matches the oracle rounded to fp16", "[kernel][preprocess]") {
  if (!has_16bit_storage()) return;
  std::uint32_t seed = 8200;
  for (const PpCase& c : table()) {
    INFO(c.name << " seed " << seed);
    check_case(c, ops::DType::f16, seed++);
  }
}

TEST_CASE("preprocess letterbox padding and content land where the geometry says", "[kernel][preprocess]") {
  // A uniform frame: every content element is (v/255 - mean)/std, every pad element the pad's;
  // the split between them is letterbox_geometry()'s rectangle, pixel for pixel.
  ops::PreprocessParams p = params(30, 10, 16, 16, ops::ResizeFit::letterbox);
  p.pad_value = 0;
  const std::vector<std::uint8_t> frame(30 * 10 * 3, 200);
  const std::vector<float> got = run_gpu(p, frame);
  const ops::LetterboxGeometry g = ops::letterbox_geometry(p);
  CHECK(g.content_width == 16);
  CHECK(g.content_height == 5);  // round(10 * 16/30) = round(5.33)
  CHECK(g.offset == glm::dvec2(0, 5));  // floor((16 - 5) / 2)
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      const bool content = y >= 5 && y < 10;
      INFO("pixel " << x << "," << y);
      CHECK(got[static_cast<std::size_t>(y * 16 + x)] == Approx(content ? 200.0 / 255.0 : 0.0).margin(1e-6));
    }
  }
}

TEST_CASE("preprocess run_preprocess: one-shot on raw buffers", "[kernel][preprocess]") {
  ops::PreprocessParams p = params(23, 17, 12, 12, ops::ResizeFit::letterbox);
  p.mean = kImageNetMean;
  p.std = kImageNetStd;
  std::mt19937 rng(8301);
  const std::vector<std::uint8_t> frame = random_frame(rng, p);
  const gpu::Buffer src = ops::upload_frame_bytes(device(), frame);
  const ops::Shape shape = ops::preprocess_output_shape(p);
  gpu::Buffer out = device().allocate(static_cast<std::uint64_t>(ops::numel(shape)) * 4, "out");
  device().submit_and_wait([&](VkCommandBuffer cmd) {
    vkCmdFillBuffer(cmd, out.handle(), out.offset(), out.size(), ops::kPoisonWord);
  });
  ops::run_preprocess(device(), p, src.view(), out.view());
  require_no_validation_messages();
  std::vector<float> got(static_cast<std::size_t>(ops::numel(shape)));
  device().download(out.view().slice(0, got.size() * 4), std::as_writable_bytes(std::span(got)));
  require_close("preprocess", "run_preprocess", got, reference::preprocess(p, frame), kRelL2F32, kMaxAbsF32);
}

TEST_CASE("letterbox geometry: boxes map to the input and back, padding offsets included", "[kernel][preprocess]") {
  // Boxes at known source pixels, through input space and back, within 1e-4 pixels; and their
  // input-space positions checked by hand against the scale and centred offset.
  struct GeoCase {
    ops::ResizeFit fit;
    std::int64_t sw, sh, ow, oh;
  };
  const GeoCase cases[] = {{ops::ResizeFit::letterbox, 640, 480, 320, 320},  // wide: pad top/bottom
                           {ops::ResizeFit::letterbox, 480, 640, 320, 320},  // tall: pad left/right
                           {ops::ResizeFit::letterbox, 1920, 1080, 640, 384},
                           {ops::ResizeFit::letterbox, 37, 23, 128, 96},     // upscale, odd
                           {ops::ResizeFit::letterbox, 1, 1, 7, 5},
                           {ops::ResizeFit::stretch, 640, 480, 300, 300},
                           {ops::ResizeFit::stretch, 13, 29, 256, 128}};
  for (const GeoCase& c : cases) {
    const ops::LetterboxGeometry g = ops::letterbox_geometry(c.fit, c.sw, c.sh, c.ow, c.oh);
    INFO(fmt::format("{} {}x{} -> {}x{}: content {}x{} at ({}, {})", ops::to_string(c.fit), c.sw, c.sh, c.ow, c.oh,
                     g.content_width, g.content_height, g.offset.x, g.offset.y));
    CHECK(g.content_width <= c.ow);
    CHECK(g.content_height <= c.oh);
    if (c.fit == ops::ResizeFit::letterbox) {
      // One axis fills the input; the other is centred with the odd pixel after it.
      CHECK((g.content_width == c.ow || g.content_height == c.oh));
      CHECK(g.offset.x == static_cast<double>((c.ow - g.content_width) / 2));
      CHECK(g.offset.y == static_cast<double>((c.oh - g.content_height) / 2));
      // The two axes' scales agree up to rounding the content to whole pixels.
      CHECK(std::abs(g.scale.x - g.scale.y) <= 1.0 / static_cast<double>(std::min(c.sw, c.sh)) + 1e-12);
    } else {
      CHECK(g.offset == glm::dvec2(0.0));
    }
    // The source frame's corners land on the content rectangle's corners.
    const ops::PixelBox whole{{0.0, 0.0}, {static_cast<double>(c.sw), static_cast<double>(c.sh)}};
    const ops::PixelBox in = ops::map_box_to_input(whole, g);
    CHECK(std::abs(in.origin.x - g.offset.x) < 1e-9);
    CHECK(std::abs(in.origin.y - g.offset.y) < 1e-9);
    CHECK(std::abs(in.size.x - static_cast<double>(g.content_width)) < 1e-9);
    CHECK(std::abs(in.size.y - static_cast<double>(g.content_height)) < 1e-9);
    std::mt19937 rng(8400);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < 50; ++i) {
      const glm::dvec2 src(static_cast<double>(c.sw), static_cast<double>(c.sh));
      const ops::PixelBox box{glm::dvec2(u(rng), u(rng)) * src * 0.8, glm::dvec2(u(rng), u(rng)) * src * 0.2};
      const ops::PixelBox to_input = ops::map_box_to_input(box, g);
      // By hand: input = offset + source * content / src.
      CHECK(std::abs(to_input.origin.x - (g.offset.x + box.origin.x * g.content_width / c.sw)) < 1e-9);
      CHECK(std::abs(to_input.origin.y - (g.offset.y + box.origin.y * g.content_height / c.sh)) < 1e-9);
      const ops::PixelBox back = ops::map_box_to_source(to_input, g);
      CHECK(glm::all(glm::lessThan(glm::abs(back.origin - box.origin), glm::dvec2(1e-4))));
      CHECK(glm::all(glm::lessThan(glm::abs(back.size - box.size), glm::dvec2(1e-4))));
    }
  }
  // A box wholly in the top padding maps above the frame; clip_box brings it back to an empty box
  // on the edge.
  const ops::LetterboxGeometry g = ops::letterbox_geometry(ops::ResizeFit::letterbox, 640, 480, 320, 320);
  REQUIRE(g.offset.y == 40.0);
  const ops::PixelBox pad_box = ops::map_box_to_source({{10.0, 0.0}, {20.0, 30.0}}, g);
  CHECK(pad_box.origin.y == Approx(-80.0));
  const ops::PixelBox clipped = ops::clip_box(pad_box, 640, 480);
  CHECK(clipped.size.y == 0.0);
  CHECK(clipped.origin.x == Approx(20.0));
}

TEST_CASE("preprocess on the GPU agrees with io::to_tensor on a real image", "[kernel][preprocess][io]") {
  // opencv-doc's baboon (JPEG, 512x512) decoded by stb, resized (stretch, bilinear, half-pixel
  // centres) and normalised with ImageNet's mean/std by both paths. to_tensor computes in float64
  // and rounds once, then applies scale/mean/std in fp32, so it agrees with the kernel to
  // fp32 precision; the same 1e-6 / 1e-5 tolerances as the oracle table. Measured on lavapipe:
  // rel-L2 1.3e-7, max-abs <= 1.2e-6 at 224x224, 97x61 and 640x480 (up- and downscaling), RGB
  // and BGR out.
  const std::filesystem::path path = "/usr/share/doc/opencv-doc/examples/data/baboon.jpg";
  if (!std::filesystem::exists(path)) {
    WARN("opencv-doc's baboon.jpg is absent (apt install opencv-doc); skipped");
    return;
  }
  const io::Image image = io::load_image(path);
  struct Size {
    int w, h;
  };
  for (const Size s : {Size{224, 224}, Size{97, 61}, Size{640, 480}}) {
    for (bool bgr_out : {false, true}) {
      io::Preprocess cpu;
      cpu.width = s.w;
      cpu.height = s.h;
      cpu.mean = kImageNetMean;
      cpu.std = kImageNetStd;
      cpu.bgr = bgr_out;
      const std::vector<float> want = io::to_tensor(image, cpu);
      ops::PreprocessParams p = params(image.width, image.height, s.w, s.h);
      p.src_order = ops::PixelOrder::rgb;  // stb's order
      p.out_order = bgr_out ? ops::PixelOrder::bgr : ops::PixelOrder::rgb;
      // io's mean/std are indexed by output channel, like ours.
      p.mean = kImageNetMean;
      p.std = kImageNetStd;
      const std::vector<float> got = run_gpu(p, image.pixels);
      std::vector<double> want64(want.begin(), want.end());
      const numerics::ErrorStats e = require_close(
          "preprocess", fmt::format("vs io::to_tensor baboon {}x{} {}", s.w, s.h, bgr_out ? "bgr" : "rgb"), got,
          reference::HostTensor({1, 3, s.h, s.w}, want64), kRelL2F32, kMaxAbsF32);
      (void)e;
    }
  }
}

TEST_CASE("preprocess shape rule: output shape and clear errors", "[kernel][preprocess][bad-input]") {
  ops::PreprocessParams p = params(640, 480, 320, 256);
  CHECK(ops::preprocess_output_shape(p) == ops::Shape{1, 3, 256, 320});
  p.nhwc = true;
  CHECK(ops::preprocess_output_shape(p) == ops::Shape{1, 256, 320, 3});
  CHECK(ops::preprocess_source_bytes(p) == 640 * 480 * 3);
  p.src_stride = 2000;
  CHECK(ops::preprocess_source_bytes(p) == 2000 * 479 + 1920);

  using Catch::Contains;
  auto bad = [](auto edit) {
    ops::PreprocessParams q = params(64, 48, 32, 32);
    edit(q);
    return q;
  };
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.src_width = 0; }), "detector input"),
                    Contains("detector input") && Contains("source frame 0x48"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.out_height = -1; })),
                    Contains("network input 32x-1"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.src_channels = 1; })),
                    Contains("1 bytes per pixel, expected 3"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.src_stride = 100; })),
                    Contains("row stride 100 bytes is shorter than a row of 64 pixels x 3 bytes = 192"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.std[1] = 0; })),
                    Contains("std[1] = 0, expected a finite non-zero number"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.mean[2] = NAN; })), Contains("mean[2]"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.pad_value = INFINITY; })),
                    Contains("pad_value"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.fit = static_cast<ops::ResizeFit>(3); })),
                    Contains("fit 3"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) { q.src_order = static_cast<ops::PixelOrder>(9); })),
                    Contains("src_order 9"));
  CHECK_THROWS_WITH(ops::preprocess_output_shape(bad([](auto& q) {
                      q.src_width = 40000;
                      q.out_width = 40000;
                    })),
                    Contains("2^31"));

  // The encoder's own checks: output shape and dtype, frame buffer size.
  const ops::PreprocessParams ok = params(8, 6, 4, 4);
  const std::vector<std::uint8_t> frame(8 * 6 * 3, 0);
  const gpu::Buffer src = ops::upload_frame_bytes(device(), frame);
  gpu::Recorder rec(device(), "test");
  const ops::Encoder enc{device(), rec};
  const ops::Tensor wrong_shape = output_tensor({1, 3, 4, 5}, "net_in");
  CHECK_THROWS_WITH(ops::encode_preprocess(enc, ok, src.view(), wrong_shape), Contains("output has shape 1x3x4x5, expected 1x3x4x4"));
  const ops::Tensor out = output_tensor({1, 3, 4, 4}, "net_in");
  CHECK_THROWS_WITH(ops::encode_preprocess(enc, ok, src.view().slice(0, 64), out),
                    Contains("frame buffer has 64 bytes") && Contains("needs 144"));
  CHECK_THROWS_WITH(ops::encode_preprocess(enc, bad([](auto& q) { q.dtype = ops::DType::f16; q.src_width = 8;
                                                                    q.src_height = 6; q.out_width = 4;
                                                                    q.out_height = 4; }),
                                           src.view(), out),
                    Contains("'net_in' is f32, but the params say dtype f16"));
}
