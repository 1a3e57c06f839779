// The colormap kernel (shaders/colormap.comp) against the float64 oracle (reference/colormap.cpp)
// over a table: tile grids of 1 to 64 channels, square and non-square tiles, grid widths with and
// without empty cells, channel ranges, NCHW and NHWC bytes, f32 and f16 storage, both maps,
// abs_difference, NaN and +-inf, values outside [lo, hi], and lo == hi; the gap and empty-cell
// pixels checked as the background colour by position (not through the oracle); the shape
// rule's messages; the control points' own promises; and a picture made straight from a
// tapped executor value (NHWC, fp16s) against the oracle's picture of executor.read().
//
// Tolerance: each colour byte may differ from the oracle's by 1, and only at a rounding tie. The
// kernel computes t and the interpolation in fp32 (about 2^-24 relative, i.e. < 1e-4 of a byte
// at 255), the oracle in float64, and both round by floor(c + 0.5): they can disagree only when
// the exact c lies within a hair of n + 0.5, and then by exactly one. So every differing byte
// must differ by 1 and have its exact value (reference::colormap_rgb_unrounded) within kTieWindow
// of a .5 boundary. Measured on lavapipe: f32 tensors match exactly; f16-stored ones (whose
// values are short binary fractions, so exact .5 ties occur) have a few dozen bytes in ~10^5 off
// by one, all at exact ties (the test prints the counts per case group). A byte off by 2, an
// off-by-one away from a tie (a rounding bias: truncation would put half the bytes off), a wrong
// alpha, an unwritten pixel (the poison word has alpha 0x7F), a wrong tile or a swapped layout
// fails.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "graph/executor.hpp"
#include "models/network_builder.hpp"
#include "ops/colormap_gpu.hpp"
#include "ops/half.hpp"
#include "ops/layout_transpose.hpp"
#include "reference/colormap.hpp"
#include "test_support.hpp"

using namespace fusescope;
using namespace fusescope::testing;

namespace {

constexpr int kByteTolerance = 1;
// How close to n + 0.5 the exact colour must be for an off-by-one byte: fp32's error in c is
// below 1e-4 of a byte (c <= 255, a few roundings of 2^-24 relative); 1e-3 leaves margin and
// is still 500x narrower than the whole byte a biased rounding would spread over.
constexpr double kTieWindow = 1e-3;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct ByteDiff {
  int worst = 0;
  std::int64_t differing_bytes = 0;
  std::int64_t colour_bytes = 0;
};

// value_at(pixel) gives the value a tile pixel shows (for the tie check).
template <class ValueAt>
ByteDiff compare_rgba(const std::vector<std::uint32_t>& got, const std::vector<std::uint32_t>& want,
                      const ops::ColormapParams& p, ValueAt&& value_at) {
  REQUIRE(got.size() == want.size());
  ByteDiff d;
  std::int64_t failures = 0;
  auto fail = [&](std::size_t i, const char* why) {
    if (failures++ < 5) FAIL_CHECK(fmt::format("pixel {}: got {:08x}, expected {:08x}: {}", i, got[i], want[i], why));
  };
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::uint32_t g = got[i], w = want[i];
    // Alpha, NaN magenta and the background are exact by construction.
    const bool fixed = w == ops::kColormapNaN || w == ops::kColormapBackground;
    if ((g >> 24) != 0xFFu) {
      fail(i, "alpha is not 255 (unwritten?)");
      continue;
    }
    if (fixed || g == w) {
      if (g != w) fail(i, "NaN and background colours are exact");
      continue;
    }
    const std::array<double, 3> exact = reference::colormap_rgb_unrounded(p, value_at(i));
    for (int s = 0; s < 3; ++s) {
      const int diff = std::abs(static_cast<int>((g >> (8 * s)) & 0xFFu) - static_cast<int>((w >> (8 * s)) & 0xFFu));
      d.worst = std::max(d.worst, diff);
      if (diff == 0) continue;
      ++d.differing_bytes;
      const double from_tie = std::abs(exact[static_cast<std::size_t>(s)] -
                                       std::floor(exact[static_cast<std::size_t>(s)]) - 0.5);
      if (diff > kByteTolerance) fail(i, "a byte is off by more than 1");
      else if (from_tie > kTieWindow) fail(i, "a byte is off by 1 away from a rounding tie");
    }
  }
  d.colour_bytes = 3 * static_cast<std::int64_t>(got.size());
  CHECK(failures == 0);
  return d;
}

// The value tile pixel `pixel` of the picture shows (a, or |a - b|), from NCHW host values.
double pixel_value(const ops::ColormapParams& p, const reference::HostTensor& a, const reference::HostTensor* b,
                   std::size_t pixel) {
  const ops::ColormapImage image = ops::colormap_image_size(p);
  const std::int64_t px = static_cast<std::int64_t>(pixel) % image.width;
  const std::int64_t py = static_cast<std::int64_t>(pixel) / image.width;
  const std::int64_t k = py / (p.height + p.gap) * p.grid_columns + px / (p.width + p.gap);
  const std::int64_t c = p.channel_begin + k, y = py % (p.height + p.gap), x = px % (p.width + p.gap);
  const auto e = static_cast<std::size_t>(((p.n * p.channels + c) * p.height + y) * p.width + x);
  return b != nullptr ? std::fabs(a.data[e] - b->data[e]) : a.data[e];
}

ByteDiff compare_with_oracle(const std::vector<std::uint32_t>& got, const ops::ColormapParams& p,
                             const reference::HostTensor& a, const reference::HostTensor* b) {
  return compare_rgba(got, reference::colormap(p, a, b), p,
                      [&](std::size_t i) { return pixel_value(p, a, b, i); });
}

gpu::Buffer output_buffer(std::int64_t pixels) {
  return device().allocate(static_cast<std::uint64_t>(pixels) * 4, "rgba");
}

std::vector<std::uint32_t> download_words(const gpu::Buffer& buffer, std::int64_t pixels) {
  std::vector<std::uint32_t> words(static_cast<std::size_t>(pixels));
  device().download(buffer.view().slice(0, words.size() * 4), std::as_writable_bytes(std::span(words)));
  return words;
}

// Encodes after poisoning the output, submits, returns the pixels.
std::vector<std::uint32_t> run_gpu(const ops::Tensor& a, const ops::Tensor* b, const ops::ColormapParams& p) {
  const ops::ColormapImage image = ops::colormap_image_size(p);
  gpu::Buffer out = output_buffer(image.pixels());
  gpu::Recorder recorder(device(), "test");
  recorder.fill(out.view(), ops::kPoisonWord);
  ops::encode_colormap({device(), recorder}, a, b, p, out.view());
  recorder.submit_and_wait();
  require_no_validation_messages();
  return download_words(out, image.pixels());
}

struct CmCase {
  std::string group;  // worst errors are reported per group
  std::string name;
  std::int64_t batch;
  ops::ColormapParams p;
  bool specials = false;  // NaN, +-inf, exact lo/hi and stop positions mixed in
};

ops::ColormapParams params(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t begin, std::int64_t count,
                           std::int64_t columns, ops::ColorMap map = ops::ColorMap::sequential, float lo = -1.0f,
                           float hi = 2.0f) {
  ops::ColormapParams p;
  p.map = map;
  p.channels = c;
  p.height = h;
  p.width = w;
  p.channel_begin = begin;
  p.channel_count = count;
  p.grid_columns = columns;
  p.lo = lo;
  p.hi = hi;
  return p;
}

CmCase with(CmCase c, bool nhwc, ops::DType dtype) {
  c.p.nhwc = nhwc;
  c.p.dtype = dtype;
  return c;
}

std::vector<float> case_values(const CmCase& c, std::mt19937& rng, bool second) {
  const ops::ColormapParams& p = c.p;
  const std::int64_t count = c.batch * p.channels * p.height * p.width;
  // A quarter of the range beyond each end, so clamping shows; a lo == hi case uses a unit band.
  const float range = p.hi > p.lo ? p.hi - p.lo : 1.0f;
  std::vector<float> v = random_values(rng, count, p.lo - 0.25f * range, p.hi + 0.25f * range);
  if (p.source == ops::ColormapSource::abs_difference && second) {
    // b on half a's scale, so |a - b| covers [0, hi] and beyond it.
    for (float& x : v) x *= 0.5f;
  }
  if (c.specials && !second) {
    const float at[] = {kNaN, kInf, -kInf, p.lo, p.hi, 0.0f, p.lo + 0.5f * (p.hi - p.lo),
                        p.lo + 0.125f * (p.hi - p.lo), p.lo + 0.875f * (p.hi - p.lo)};
    std::uniform_int_distribution<std::int64_t> pick(0, count - 1);
    for (int i = 0; i < 3 * 9; ++i) v[static_cast<std::size_t>(pick(rng))] = at[i % 9];
  }
  if (p.dtype == ops::DType::f16) {
    for (float& x : v) x = ops::half_to_float(ops::float_to_half(x));
  }
  return v;
}

std::map<std::string, ByteDiff>& group_worst() {
  static std::map<std::string, ByteDiff> worst;
  return worst;
}

void check_case(const CmCase& c, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const ops::Shape shape{c.batch, c.p.channels, c.p.height, c.p.width};
  const bool diff = c.p.source == ops::ColormapSource::abs_difference;
  const std::vector<float> a = case_values(c, rng, false);
  const std::vector<float> b = diff ? case_values(c, rng, true) : std::vector<float>{};
  auto stored = [&](const std::vector<float>& v) { return c.p.nhwc ? ops::nchw_to_nhwc(v, shape) : v; };
  const ops::Tensor ta = upload(shape, stored(a), "a", c.p.dtype);
  ops::Tensor tb;
  if (diff) tb = upload(shape, stored(b), "b", c.p.dtype);
  const std::vector<std::uint32_t> got = run_gpu(ta, diff ? &tb : nullptr, c.p);

  const reference::HostTensor ha = to_host(shape, a);
  const reference::HostTensor hb = diff ? to_host(shape, b) : reference::HostTensor{};
  const ByteDiff d = compare_with_oracle(got, c.p, ha, diff ? &hb : nullptr);
  INFO(fmt::format("{} ({} bytes off by one of {})", c.name, d.differing_bytes, d.colour_bytes));
  CHECK(d.worst <= kByteTolerance);
  ByteDiff& g = group_worst()[fmt::format("{} {}", c.group, ops::to_string(c.p.dtype))];
  g.worst = std::max(g.worst, d.worst);
  g.differing_bytes += d.differing_bytes;
  g.colour_bytes += d.colour_bytes;
}

std::vector<CmCase> table() {
  using ops::ColorMap;
  auto abs_diff = [](ops::ColormapParams p) {
    p.source = ops::ColormapSource::abs_difference;
    p.lo = 0.0f;
    return p;
  };
  auto at_n = [](ops::ColormapParams p, std::int64_t n, std::int64_t gap) {
    p.n = n;
    p.gap = gap;
    return p;
  };
  std::vector<CmCase> base = {
      {"sequential", "1 channel, one tile, non-square 5x13", 1, params(1, 5, 13, 0, 1, 1)},
      {"sequential", "64 channels 8x8 grid, tiles 7x9, batch item 1", 2, at_n(params(64, 7, 9, 0, 64, 8), 1, 1)},
      {"sequential", "64 channels, 10 columns (4 empty cells), gap 2", 1, at_n(params(64, 4, 3, 0, 64, 10), 0, 2)},
      {"sequential", "channels 5..16 of 24, 5 columns, gap 0", 3, at_n(params(24, 6, 6, 5, 12, 5), 2, 0)},
      {"sequential", "one channel enlarged: channel 17 of 32, 12x20", 1, params(32, 12, 20, 17, 1, 1)},
      {"sequential", "3 channels in one row, 1x1 tiles", 1, params(3, 1, 1, 0, 3, 3)},
      {"diverging", "diverging, 16 channels 4x4, +-1.5", 1, params(16, 9, 11, 0, 16, 4, ColorMap::diverging, -1.5f, 1.5f)},
      {"diverging", "diverging, channels 3..9 of 10, 3 columns", 2,
       at_n(params(10, 8, 5, 3, 7, 3, ColorMap::diverging, -0.25f, 0.25f), 1, 1)},
      {"abs_difference", "|a - b| sequential, 8 channels", 1, abs_diff(params(8, 10, 7, 0, 8, 3, ColorMap::sequential, 0, 1))},
      {"abs_difference", "|a - b| sequential, 64 channels, batch item 1", 2,
       at_n(abs_diff(params(64, 3, 5, 0, 64, 8, ColorMap::sequential, 0, 0.5f)), 1, 1)},
      {"specials", "NaN, +-inf, lo, hi and stop values; sequential", 1, params(6, 9, 9, 0, 6, 3), true},
      {"specials", "NaN, +-inf, lo, hi and stop values; diverging", 1,
       params(6, 9, 9, 0, 6, 2, ColorMap::diverging, -2.0f, 2.0f), true},
      {"specials", "NaN and inf in |a - b|", 1, abs_diff(params(4, 6, 6, 0, 4, 2, ColorMap::sequential, 0, 2)), true},
      {"lo == hi", "lo == hi = 0.25: a step at lo", 1, params(4, 6, 7, 0, 4, 2, ColorMap::sequential, 0.25f, 0.25f), true},
      {"lo == hi", "diverging lo == hi == 0", 1, params(4, 6, 7, 0, 4, 4, ColorMap::diverging, 0.0f, 0.0f), true},
  };
  std::vector<CmCase> all;
  for (const CmCase& c : base) {
    for (bool nhwc : {false, true}) {
      for (ops::DType dtype : {ops::DType::f32, ops::DType::f16}) {
        CmCase v = with(c, nhwc, dtype);
        v.name = fmt::format("{} [{} {}]", c.name, nhwc ? "nhwc" : "nchw", ops::to_string(dtype));
        all.push_back(v);
      }
    }
  }
  return all;
}

bool has_16bit_storage() {
  if (device().info().storage_16bit) return true;
  WARN("device " << device().info().name << " has no storageBuffer16BitAccess: f16 colormaps not tested");
  return false;
}

}  // namespace

TEST_CASE("colormap matches oracle: grids, channel ranges, layouts, f16, maps, |a - b|, NaN/inf, lo == hi",
          "[kernel][colormap]") {
  // One pass over the table (no sections: Catch would re-enter the test per section), so the
  // per-group worst errors below are printed once, over every case.
  group_worst().clear();
  const bool f16 = has_16bit_storage();
  std::uint32_t seed = 7100;
  for (const CmCase& c : table()) {
    ++seed;
    if (c.p.dtype == ops::DType::f16 && !f16) continue;
    INFO(c.name << " (seed " << seed << ")");
    check_case(c, seed);
  }
  for (const auto& [group, d] : group_worst()) {
    std::printf("colormap %-19s worst byte error %d, %lld of %lld colour bytes differ\n", group.c_str(), d.worst,
                static_cast<long long>(d.differing_bytes), static_cast<long long>(d.colour_bytes));
  }
}

TEST_CASE("colormap gaps and empty grid cells are the background colour", "[kernel][colormap]") {
  // 5 channels of 3x4 tiles in 3 columns with gap 2: image 3*4 + 2*2 = 16 wide, 2*3 + 2 = 8 high;
  // columns 4-5 and 10-11 and rows 3-4 are gaps, and the last cell (row 1, column 2) is empty.
  ops::ColormapParams p = params(5, 3, 4, 0, 5, 3);
  p.gap = 2;
  const ops::ColormapImage image = ops::colormap_image_size(p);
  REQUIRE(image.width == 16);
  REQUIRE(image.height == 8);
  // Every value at lo, so each tile pixel is the first stop, never the background.
  const std::vector<float> a(static_cast<std::size_t>(5 * 3 * 4), p.lo);
  const std::vector<std::uint32_t> got = run_gpu(upload({1, 5, 3, 4}, a, "a"), nullptr, p);
  const ops::ColorStop s = ops::kSequentialStops[0];
  const std::uint32_t first = ops::rgba_word(s.r, s.g, s.b);
  for (std::int64_t y = 0; y < image.height; ++y) {
    for (std::int64_t x = 0; x < image.width; ++x) {
      const bool gap_x = x % 6 >= 4, gap_y = y % 5 >= 3;
      const bool empty = y >= 5 && x >= 12;
      const std::uint32_t want = gap_x || gap_y || empty ? ops::kColormapBackground : first;
      INFO("pixel " << x << "," << y);
      CHECK(got[static_cast<std::size_t>(y * image.width + x)] == want);
    }
  }
}

TEST_CASE("colormap run_colormap: one-shot dispatch on raw buffers", "[kernel][colormap]") {
  ops::ColormapParams p = params(3, 4, 5, 0, 3, 2, ops::ColorMap::diverging, -1.0f, 1.0f);
  p.source = ops::ColormapSource::abs_difference;
  p.map = ops::ColorMap::sequential;
  p.lo = 0.0f;
  std::mt19937 rng(7001);
  const ops::Shape shape{1, 3, 4, 5};
  const auto a = random_values(rng, 60), b = random_values(rng, 60);
  const ops::Tensor ta = upload(shape, a, "a"), tb = upload(shape, b, "b");
  const ops::ColormapImage image = ops::colormap_image_size(p);
  gpu::Buffer out = output_buffer(image.pixels());
  device().submit_and_wait([&](VkCommandBuffer cmd) {
    vkCmdFillBuffer(cmd, out.handle(), out.offset(), out.size(), ops::kPoisonWord);
  });
  ops::run_colormap(device(), ta.buffer, &tb.buffer, p, out.view());
  require_no_validation_messages();
  const reference::HostTensor ha = to_host(shape, a), hb = to_host(shape, b);
  const ByteDiff d = compare_with_oracle(download_words(out, image.pixels()), p, ha, &hb);
  CHECK(d.worst <= kByteTolerance);
}

TEST_CASE("colormap shape rule: image size and clear errors", "[kernel][colormap][bad-input]") {
  ops::ColormapParams p = params(10, 6, 7, 0, 10, 4);
  p.gap = 1;
  ops::ColormapImage image = ops::colormap_image_size(p);
  CHECK(image.width == 4 * 7 + 3);
  CHECK(image.height == 3 * 6 + 2);
  p.gap = 0;
  p.grid_columns = 1;
  p.channel_count = 1;
  image = ops::colormap_image_size(p);
  CHECK((image.width == 7 && image.height == 6));
  CHECK(ops::square_grid_columns(64) == 8);
  CHECK(ops::square_grid_columns(65) == 9);
  CHECK(ops::square_grid_columns(1) == 1);

  using Catch::Contains;
  auto bad = [](auto edit) {
    ops::ColormapParams q = params(10, 6, 7, 0, 10, 4);
    edit(q);
    return q;
  };
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.channel_begin = 8; q.channel_count = 4; }), "tensor_view"),
                    Contains("tensor_view") && Contains("channels [8, 12) do not lie inside the tensor's 10 channels"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.channel_count = 0; })), Contains("channel_count = 0"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.grid_columns = 11; })),
                    Contains("grid_columns = 11, expected 1 to channel_count = 10"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.grid_columns = 0; })), Contains("grid_columns = 0"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.gap = -1; })), Contains("gap = -1"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.height = 0; })),
                    Contains("10x0x7") && Contains("every dimension >= 1"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.n = -1; })), Contains("batch item n = -1"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.lo = 2; q.hi = 1; })),
                    Contains("lo = 2 is above hi = 1; swap them"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.hi = kNaN; })), Contains("expected finite numbers"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.lo = -3e38f; q.hi = 3e38f; })),
                    Contains("overflows fp32"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.map = ops::ColorMap::diverging; q.lo = -1; q.hi = 2; })),
                    Contains("centred on zero and needs lo = -hi"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.map = static_cast<ops::ColorMap>(7); })),
                    Contains("map 7"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.source = static_cast<ops::ColormapSource>(5); })),
                    Contains("source 5"));
  CHECK_THROWS_WITH(ops::colormap_image_size(bad([](auto& q) { q.width = std::int64_t{1} << 20; q.height = 1 << 12; })),
                    Contains("more than 2^31 - 1 pixels"));

  // The encoder's own checks: tensor shape and dtype against the params, b present, output size.
  const ops::ColormapParams ok = params(10, 6, 7, 0, 10, 4);
  const std::vector<float> zeros(10 * 6 * 7, 0.0f);
  const ops::Tensor t = upload({1, 10, 6, 7}, zeros, "act");
  gpu::Buffer out = output_buffer(ops::colormap_image_size(ok).pixels());
  gpu::Recorder rec(device(), "test");
  const ops::Encoder enc{device(), rec};
  CHECK_THROWS_WITH(ops::encode_colormap(enc, t, nullptr, bad([](auto& q) { q.n = 1; }), out.view()),
                    Contains("'act' has shape 1x10x6x7, but the params ask for batch item 1 of a [N, 10, 6, 7]"));
  CHECK_THROWS_WITH(ops::encode_colormap(enc, t, nullptr, bad([](auto& q) { q.dtype = ops::DType::f16; }), out.view()),
                    Contains("'act' is f32, but the params say dtype f16"));
  CHECK_THROWS_WITH(ops::encode_colormap(enc, t, nullptr,
                                         bad([](auto& q) { q.source = ops::ColormapSource::abs_difference; }),
                                         out.view()),
                    Contains("abs_difference needs a second tensor b"));
  CHECK_THROWS_WITH(ops::encode_colormap(enc, t, nullptr, ok, out.view().slice(0, 16)),
                    Contains("output buffer has 16 bytes"));
  CHECK_THROWS_WITH(ops::encode_colormap(enc, t, nullptr, ok, t.buffer), Contains("output buffer"));
}

TEST_CASE("colormap control points keep their promises", "[kernel][colormap]") {
  auto luma = [](const ops::ColorStop& s) { return 0.2126 * s.r + 0.7152 * s.g + 0.0722 * s.b; };
  // Sequential: brightness rises by an even 24..25 at every stop.
  for (std::size_t i = 1; i < ops::kSequentialStops.size(); ++i) {
    const double step = luma(ops::kSequentialStops[i]) - luma(ops::kSequentialStops[i - 1]);
    INFO("stop " << i << " luma step " << step);
    CHECK((step >= 24 && step <= 25));
  }
  // Diverging: the centre is the brightest, and the arms mirror each other within 2 of 255.
  const auto& d = ops::kDivergingStops;
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("stop " << i);
    CHECK(std::abs(luma(d[i]) - luma(d[d.size() - 1 - i])) <= 2.0);
    CHECK(luma(d[i]) < luma(d[i + 1]));
    CHECK(luma(d[d.size() - 1 - i]) < luma(d[d.size() - 2 - i]));
  }
  // Zero is the near-white centre, NaN is a colour no map contains.
  ops::ColormapParams p = params(1, 1, 1, 0, 1, 1, ops::ColorMap::diverging, -3.0f, 3.0f);
  CHECK(reference::colormap_color(p, 0.0) == ops::rgba_word(d[4].r, d[4].g, d[4].b));
  for (ops::ColorMap map : {ops::ColorMap::sequential, ops::ColorMap::diverging}) {
    for (const ops::ColorStop& s : ops::color_stops(map)) CHECK(ops::rgba_word(s.r, s.g, s.b) != ops::kColormapNaN);
  }
}

TEST_CASE("colormap of a tapped executor value (nhwc, fp16s) matches the oracle's picture of read()",
          "[kernel][colormap][graph]") {
  if (!has_16bit_storage()) return;
  models::NetworkBuilder nb("colormap-net", 11);
  graph::ValueId x = nb.input("image", {2, 3, 9, 7});
  const graph::ValueId conv = nb.conv(x, "conv", {.filters = 6, .kernel = 3, .stride = 1});
  const graph::ValueId relu = nb.activation(conv, "relu", ops::Activation::relu());
  const graph::ValueId out = nb.conv(relu, "head", {.filters = 2, .kernel = 1, .stride = 1, .padding = 0});
  graph::Graph g = nb.finish({out});
  const std::string conv_name = g.value(conv).name, relu_name = g.value(relu).name;

  graph::ExecutorOptions options;
  options.precision = ops::Precision::fp16s;
  options.layout = graph::Layout::nhwc;
  options.taps = {conv_name, relu_name};
  graph::Executor ex(device(), g, options);
  std::mt19937 rng(7002);
  ex.set_input(random_values(rng, 2 * 3 * 9 * 7));
  CHECK_THROWS_WITH(ex.device_tensor(conv_name), Catch::Contains("not computed yet"));
  CHECK_THROWS_WITH(ex.device_tensor("nope"), Catch::Contains("no tensor named 'nope'"));
  ex.run();
  require_no_validation_messages();

  const ops::Tensor& t_conv = ex.device_tensor(conv_name);
  const ops::Tensor& t_relu = ex.device_tensor(relu_name);
  REQUIRE(ex.stored_layout(conv_name) == graph::Layout::nhwc);
  REQUIRE(t_conv.dtype == ops::DType::f16);
  const ops::Shape& shape = g.value(conv).shape;
  REQUIRE(t_conv.shape == shape);
  const std::vector<float> v_conv = ex.read(conv_name), v_relu = ex.read(relu_name);
  float m = 0.0f;
  for (float v : v_conv) m = std::max(m, std::abs(v));
  REQUIRE(m > 0.0f);

  ops::ColormapParams p;
  p.n = 1;
  p.channels = shape[1];
  p.height = shape[2];
  p.width = shape[3];
  p.channel_count = shape[1];
  p.grid_columns = 3;
  p.nhwc = ex.stored_layout(conv_name) == graph::Layout::nhwc;
  p.dtype = t_conv.dtype;
  const reference::HostTensor h_conv = to_host(shape, v_conv), h_relu = to_host(shape, v_relu);
  SECTION("signed conv output, diverging map") {
    p.map = ops::ColorMap::diverging;
    p.lo = -m;
    p.hi = m;
    const ByteDiff d = compare_with_oracle(run_gpu(t_conv, nullptr, p), p, h_conv, nullptr);
    std::printf("colormap executor diverging worst byte error %d, %lld of %lld colour bytes differ\n", d.worst,
                static_cast<long long>(d.differing_bytes), static_cast<long long>(d.colour_bytes));
    CHECK(d.worst <= kByteTolerance);
  }
  SECTION("|conv - relu| (the negative part), sequential") {
    p.source = ops::ColormapSource::abs_difference;
    p.lo = 0.0f;
    p.hi = m;
    const ByteDiff d = compare_with_oracle(run_gpu(t_conv, &t_relu, p), p, h_conv, &h_relu);
    std::printf("colormap executor |a-b| worst byte error %d, %lld of %lld colour bytes differ\n", d.worst,
                static_cast<long long>(d.differing_bytes), static_cast<long long>(d.colour_bytes));
    CHECK(d.worst <= kByteTolerance);
  }
}
