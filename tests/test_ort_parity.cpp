// Parity with ONNX Runtime on the real pretrained models (assets/models, fetched by
// scripts/fetch-models.sh) fed real images (Debian's opencv-doc). tools/ort/make_goldens.mjs ran
// each model through ORT (onnxruntime-node 1.30.0, CPU, graph optimizations disabled: the
// model exactly as written) on an input made by fusescope's own image path (`fusescope
// preprocess`), and stored in tests/golden/ort/<case>.safetensors the recipe (image, its sha256,
// crop, turn, mean, std, channel order, layout), the sha256 of the input's float32 bytes, and
// ORT's outputs — whole where small, every 4th row and column of the detector's 640x640 map
// plus the full map's L2 norm and sum. No input is stored and none comes from the code under
// test's own output: the test rebuilds the input from the image with io::to_tensor and first
// proves, by the checksum, that it is bit for bit the tensor ORT was fed.
//
// Judged per model: our Vulkan executor in fp32, unfused and after fusion::fuse_all (what
// `fusescope compare --fuse all` runs), against ORT's outputs. Models or images that are not on
// this machine are skipped with a warning; a model the importer rejects fails.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <tuple>

#include "fusion/passes.hpp"
#include "graph/executor.hpp"
#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "numerics/error_metrics.hpp"
#include "test_support.hpp"

using namespace fusescope;
namespace fs = std::filesystem;

namespace {

// ---- SHA-256 (FIPS 180-4), to check inputs and files against the golden's recorded hashes ----
std::string sha256_hex(const unsigned char* data, std::size_t size) {
  static constexpr std::uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::vector<unsigned char> msg(data, data + size);
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  const std::uint64_t bits = static_cast<std::uint64_t>(size) * 8;
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<unsigned char>(bits >> (8 * i)));
  for (std::size_t block = 0; block < msg.size(); block += 64) {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const unsigned char* b = &msg[block + 4 * static_cast<std::size_t>(i)];
      w[i] = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    }
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  std::string hex;
  for (std::uint32_t v : h) hex += fmt::format("{:08x}", v);
  return hex;
}

std::string sha256_of_floats(const std::vector<float>& values) {
  static_assert(std::endian::native == std::endian::little, "the golden hashes little-endian float32 bytes");
  return sha256_hex(reinterpret_cast<const unsigned char*>(values.data()), values.size() * sizeof(float));
}

std::string sha256_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return sha256_hex(bytes.data(), bytes.size());
}

// ---- goldens ----
fs::path golden_dir() { return fs::path(FUSESCOPE_SOURCE_DIR) / "tests" / "golden" / "ort"; }
fs::path models_dir() { return fs::path(FUSESCOPE_SOURCE_DIR) / "assets" / "models"; }

const std::string& meta(const io::SafetensorsFile& f, const std::string& key) {
  const auto it = f.metadata.find(key);
  INFO("golden metadata key '" << key << "'");
  REQUIRE(it != f.metadata.end());
  return it->second;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!text.empty()) parts.push_back(cur);
  return parts;
}

std::array<float, 3> three_floats(const std::string& text) {
  const auto parts = split(text, ',');
  REQUIRE(parts.size() == 3);
  return {std::stof(parts[0]), std::stof(parts[1]), std::stof(parts[2])};
}

ops::Shape parse_shape(const std::string& text) {
  ops::Shape shape;
  for (const std::string& d : split(text, 'x')) shape.push_back(std::stoll(d));
  return shape;
}

// The golden's model and image, or a reason to skip.
struct Sources {
  fs::path model, image;
  std::optional<std::string> skip;
};

Sources find_sources(const io::SafetensorsFile& golden, const std::string& image_key = "image") {
  Sources s;
  s.model = models_dir() / meta(golden, "model");
  s.image = fs::path(meta(golden, "image_dir")) / meta(golden, image_key);
  if (!fs::exists(s.model)) {
    s.skip = fmt::format("{} is absent (run scripts/fetch-models.sh)", s.model.string());
  } else if (!fs::exists(s.image)) {
    s.skip = fmt::format("{} is absent (Debian package {}; scripts/install-deps.sh installs it)", s.image.string(),
                         meta(golden, "image_package"));
  }
  return s;
}

// The golden's recipe replayed through fusescope's image path (what `fusescope preprocess`
// and `run --input IMAGE` call), for the golden's input shape.
io::Preprocess recipe(const io::SafetensorsFile& golden, const ops::Shape& shape, const std::string& crop,
                      bool rotate180) {
  io::Preprocess p;
  p.nhwc = meta(golden, "nhwc") == "1";
  p.bgr = meta(golden, "bgr") == "1";
  p.height = static_cast<int>(p.nhwc ? shape[1] : shape[2]);
  p.width = static_cast<int>(p.nhwc ? shape[2] : shape[3]);
  p.mean = three_floats(meta(golden, "mean"));
  p.std = three_floats(meta(golden, "std"));
  if (!crop.empty()) {
    const auto c = split(crop, ',');
    REQUIRE(c.size() == 4);
    p.crop = std::array<int, 4>{std::stoi(c[0]), std::stoi(c[1]), std::stoi(c[2]), std::stoi(c[3])};
  }
  p.rotate180 = rotate180;
  return p;
}

// The image must be the one the golden was made from (a new opencv-doc could change it), and the
// model too (scripts/fetch-models.sh pins it; a new pin needs new goldens).
void require_same_sources(const io::SafetensorsFile& golden, const Sources& src) {
  const std::string model_hash = sha256_of_file(src.model);
  if (model_hash != meta(golden, "model_sha256")) {
    FAIL(src.model.string() << " has sha256 " << model_hash << ", the golden was made from "
                            << meta(golden, "model_sha256") << ": regenerate the goldens (tools/README.md)");
  }
  const fs::path& image = src.image;
  const std::string have = sha256_of_file(image);
  if (have != meta(golden, "image_sha256")) {
    FAIL(image.string() << " has sha256 " << have << ", the golden was made from " << meta(golden, "image_sha256")
                        << ": the image changed; regenerate the goldens (tools/README.md)");
  }
}

// Imports the model; an "unsupported ONNX ops" error fails the test with the importer's message.
std::optional<graph::Graph> import_or_skip(const fs::path& model, const ops::Shape& shape) {
  io::OnnxImportOptions options;
  options.input_shape = shape;
  try {
    return io::import_onnx(model, options);
  } catch (const io::FormatError& e) {
    const std::string what = e.what();
    if (what.find("unsupported ONNX ops") == std::string::npos) throw;
    // Every golden's model imports today: an unsupported op now is a regression, not a skip.
    FAIL(model.filename().string() << ": " << what);
    return std::nullopt;
  }
}

// Every `step`-th element of the last two axes (the golden's subsample).
std::vector<float> subsample(const std::vector<float>& full, const ops::Shape& shape, std::int64_t step) {
  if (step == 1) return full;
  const std::int64_t h = shape[shape.size() - 2], w = shape.back();
  const std::int64_t planes = ops::numel(shape) / (h * w);
  std::vector<float> out;
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t y = 0; y < h; y += step)
      for (std::int64_t x = 0; x < w; x += step) out.push_back(full[static_cast<std::size_t>((p * h + y) * w + x)]);
  return out;
}

// Tolerances against ORT, rel-L2 over each output (its stored subsample), unfused and fused.
// Both sides compute in fp32 with their own summation orders and kernels (our shaders on the
// test device; ORT's MLAS CPU kernels), so they differ by about each one's own distance from
// float64: ~1e-7 per layer, growing with depth to ~1e-6 over these networks. 1e-5 is the issue's
// target, >= 4x over what we measure, and far below what a real fault costs (a wrong padding,
// BN row, channel order or activation moves an output by 1e-2 or more).
struct Case {
  const char* name;
  double unfused, fused;
  const char* measured;  // ours vs ORT on lavapipe (llvmpipe, 2 cores), worst output
};
constexpr Case kCases[] = {
    {"ppocr_cls", 1e-5, 1e-5, "measured on lavapipe: 2.2e-7 unfused, 2.2e-7 fused"},
    {"blazeface_front", 1e-5, 1e-5, "measured on lavapipe: worst output 5.9e-7 unfused, 5.9e-7 fused"},
    {"blazeface_back", 1e-5, 1e-5, "measured on lavapipe: worst output 1.3e-6 unfused, 1.3e-6 fused"},
    {"ppocr_det", 1e-5, 1e-5, "measured on lavapipe: 9.9e-7 unfused, 1.1e-6 fused (every 4th row and column)"},
};

void check_case(const std::string& name) {
  const auto* found = std::find_if(std::begin(kCases), std::end(kCases), [&](const Case& c) { return c.name == name; });
  REQUIRE(found != std::end(kCases));
  const Case& tol = *found;
  const io::SafetensorsFile golden = io::read_safetensors(golden_dir() / (name + ".safetensors"));
  const Sources src = find_sources(golden);
  if (src.skip) {
    WARN("skipped: " << *src.skip);
    return;
  }
  require_same_sources(golden, src);
  const ops::Shape shape = parse_shape(meta(golden, "input_shape"));
  INFO(fmt::format("{}: {} on {} ({}), input {} {}", name, meta(golden, "model"), meta(golden, "image"),
                   meta(golden, "preprocess"), meta(golden, "input_name"), meta(golden, "input_shape")));

  // The input: fusescope's image path must give ORT's exact tensor.
  const std::vector<float> x =
      io::to_tensor(io::load_image(src.image), recipe(golden, shape, meta(golden, "crop"), meta(golden, "rotate180") == "1"));
  REQUIRE(static_cast<std::int64_t>(x.size()) == ops::numel(shape));
  const std::string x_hash = sha256_of_floats(x);
  if (x_hash != meta(golden, "input_sha256")) {
    FAIL("the input fusescope makes from " << src.image.string() << " has sha256 " << x_hash << ", ORT was fed "
                                           << meta(golden, "input_sha256")
                                           << ": io::to_tensor changed; regenerate the goldens (tools/README.md)");
  }

  std::optional<graph::Graph> g = import_or_skip(src.model, shape);
  if (!g) return;
  REQUIRE(g->value(g->inputs().at(0)).name == meta(golden, "input_name"));
  graph::Graph f = *g;
  fusion::fuse_all(f);
  CHECK(std::none_of(f.nodes().begin(), f.nodes().end(),
                     [](const graph::Node& n) { return n.as<graph::BatchNormAttrs>() != nullptr; }));

  graph::Executor unfused(testing::device(), *g);
  graph::Executor fused(testing::device(), f);
  unfused.set_input(x);
  fused.set_input(x);
  unfused.run();
  fused.run();
  testing::require_no_validation_messages();

  const auto outputs = split(meta(golden, "outputs"), ',');
  REQUIRE(outputs.size() == g->outputs().size());
  for (const std::string& out : outputs) {
    const io::NamedTensor* expected = golden.find(out);
    INFO("golden tensor '" << out << "'");
    REQUIRE(expected != nullptr);
    const ops::Shape full_shape = parse_shape(meta(golden, "full_shape." + out));
    REQUIRE(g->value(g->require_value(out)).shape == full_shape);
    const std::int64_t step = std::stoll(meta(golden, "subsample_step." + out));
    const double ort_l2 = std::stod(meta(golden, "full_l2." + out));
    const double ort_sum = std::stod(meta(golden, "full_sum." + out));
    for (const auto& [label, exec, limit] :
         {std::tuple{"unfused", &unfused, tol.unfused}, std::tuple{"fused", &fused, tol.fused}}) {
      const std::vector<float> ours = exec->read(out);
      const std::vector<float> sampled = subsample(ours, full_shape, step);
      REQUIRE(sampled.size() == expected->values.size());
      const numerics::ErrorStats e = numerics::measure_error(sampled, expected->values);
      double l2 = 0, sum = 0;
      for (float v : ours) l2 += double(v) * v, sum += v;
      l2 = std::sqrt(l2);
      const double l2_rel = std::abs(l2 - ort_l2) / ort_l2;
      UNSCOPED_INFO(fmt::format("{} {} {} vs ORT: {} (tol {:g}; {}); full L2 {:.9g} vs {:.9g}, sum {:.9g} vs {:.9g}",
                                name, out, label, numerics::to_string(e), limit, tol.measured, l2, ort_l2, sum,
                                ort_sum));
      testing::log_error(fmt::format("ort/{}", name), fmt::format("{} {} vs ORT", out, label), e);
      CHECK(e.rel_l2 <= limit);
      // The full output's norm, over every element, not only the stored subsample: by the
      // triangle inequality its relative change is at most the full rel-L2, so the same bound.
      CHECK(l2_rel <= limit);
    }
  }
}

}  // namespace

TEST_CASE("ORT parity: every golden has a case and every case a golden", "[onnx][ort]") {
  std::vector<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(golden_dir()))
    if (entry.path().extension() == ".safetensors" && entry.path().stem() != "ppocr_cls_crops")
      on_disk.push_back(entry.path().stem().string());
  std::vector<std::string> listed;
  for (const Case& c : kCases) listed.push_back(c.name);
  std::sort(on_disk.begin(), on_disk.end());
  std::sort(listed.begin(), listed.end());
  CHECK(on_disk == listed);
  CHECK(fs::exists(golden_dir() / "ppocr_cls_crops.safetensors"));
}

// One test case per model, so CTest runs them apart and a failure names its network.
TEST_CASE("ORT parity: PaddleOCR text-direction classifier (48x192, imageTextR.png)", "[onnx][ort]") {
  check_case("ppocr_cls");
}
TEST_CASE("ORT parity: BlazeFace front (128x128 NHWC, messi5.jpg face)", "[onnx][ort]") {
  check_case("blazeface_front");
}
TEST_CASE("ORT parity: BlazeFace back (256x256 NHWC, messi5.jpg)", "[onnx][ort]") { check_case("blazeface_back"); }
TEST_CASE("ORT parity: PP-OCRv4 text detector (640x640, imageTextR.png)", "[onnx][ort]") {
  check_case("ppocr_det");
}

// PaddleOCR's classifier on real text lines: crops of imageTextN.png, upright and turned by
// 180 degrees. The fused model's argmax must be ORT's on every crop; and the model itself
// should call upright text 0 and turned text 180 (its label list is ['0', '180']).
constexpr std::size_t kKnownMisread = 8;  // crop 8: line 3 of imageTextN.png turned 180 (see below)

TEST_CASE("ORT parity: PaddleOCR classifier on upright and turned text lines agrees with ORT", "[onnx][ort]") {
  const io::SafetensorsFile golden = io::read_safetensors(golden_dir() / "ppocr_cls_crops.safetensors");
  const Sources src = find_sources(golden);
  if (src.skip) {
    WARN("skipped: " << *src.skip);
    return;
  }
  require_same_sources(golden, src);
  const ops::Shape shape = parse_shape(meta(golden, "input_shape"));
  std::optional<graph::Graph> g = import_or_skip(src.model, shape);
  if (!g) return;
  graph::Graph f = *g;
  fusion::fuse_all(f);
  const std::string out = g->value(g->outputs().at(0)).name;
  const io::NamedTensor* probs = golden.find(out);
  REQUIRE(probs != nullptr);
  const auto crops = static_cast<std::size_t>(std::stoul(meta(golden, "crops")));
  REQUIRE(probs->values.size() == 2 * crops);

  const io::Image image = io::load_image(src.image);
  graph::Executor unfused(testing::device(), *g);
  graph::Executor fused(testing::device(), f);
  double worst_unfused = 0, worst_fused = 0;
  for (std::size_t i = 0; i < crops; ++i) {
    const std::string crop = meta(golden, fmt::format("crop.{}", i));
    const bool turned = meta(golden, fmt::format("rotate180.{}", i)) == "1";
    INFO(fmt::format("crop {} ({}){}", i, crop, turned ? " turned 180" : ""));
    const std::vector<float> x = io::to_tensor(image, recipe(golden, shape, crop, turned));
    REQUIRE(sha256_of_floats(x) == meta(golden, fmt::format("input_sha256.{}", i)));
    unfused.set_input(x);
    fused.set_input(x);
    unfused.run();
    fused.run();
    const std::vector<float> pu = unfused.read(out), pf = fused.read(out);
    const std::span<const float> ort(probs->values.data() + 2 * i, 2);
    const int ort_argmax = std::stoi(meta(golden, fmt::format("ort_argmax.{}", i)));
    REQUIRE(ort_argmax == (ort[1] > ort[0] ? 1 : 0));
    const int fused_argmax = pf[1] > pf[0] ? 1 : 0;
    const double eu = numerics::measure_error(pu, ort).rel_l2, ef = numerics::measure_error(pf, ort).rel_l2;
    worst_unfused = std::max(worst_unfused, eu);
    worst_fused = std::max(worst_fused, ef);
    UNSCOPED_INFO(fmt::format("crop {} {}{}: ORT p(0)={:.6f} p(180)={:.6f}; fused p(0)={:.6f} p(180)={:.6f} "
                              "(rel-L2 vs ORT unfused {:.2g}, fused {:.2g})",
                              i, crop, turned ? " turned" : "", ort[0], ort[1], pf[0], pf[1], eu, ef));
    CHECK(fused_argmax == ort_argmax);
    CHECK((pu[1] > pu[0] ? 1 : 0) == ort_argmax);
    // The model should read the direction: 0 upright, 180 turned. It does on 11 of the 12 crops;
    // on the turned third line ("small implementation projects, which" upside down) ORT and we
    // both give p(0) = 0.501, p(180) = 0.499: the model's own near-tie misread, not ours (the
    // argmax checks above tie us to ORT there; the 2.8e-3 margin is >10^4 x our drift).
    const bool known_misread = i == kKnownMisread;
    if (known_misread) {
      if (fused_argmax != (turned ? 1 : 0)) WARN("crop " << i << " (" << crop << ", turned): the classifier says 0, "
                                                  "as ORT does (a known misread of this model)");
    } else {
      CHECK(fused_argmax == (turned ? 1 : 0));
    }
  }
  UNSCOPED_INFO(fmt::format("worst rel-L2 vs ORT over the crops: unfused {:.3g}, fused {:.3g}", worst_unfused, worst_fused));
  // The 1e-5 target, as above. Measured worst 1.6e-6 unfused / 4.3e-6 fused, both on
  // crop 8, the near-tie (p = 0.501 / 0.499) where softmax is steepest and turns the logits'
  // ~1e-6 relative fp32 drift into the probabilities undamped; every other crop is <= 4.7e-7.
  // 2.3x headroom only there, so a device with noisier fp32 could come close: look at crop 8.
  CHECK(worst_unfused <= 1e-5);
  CHECK(worst_fused <= 1e-5);
}
