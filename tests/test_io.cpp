// safetensors round trips and rejections, and image loading and preprocessing. Every file is
// written by the test itself into a fresh temporary directory.
#include <fmt/format.h>
#include <stb/stb_image_write.h>  // implementation compiled into Debian's libstb
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/image.hpp"
#include "io/safetensors.hpp"
#include "ops/half.hpp"

using namespace fusescope;
namespace fs = std::filesystem;

namespace {

// A directory of its own per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path =
        fs::temp_directory_path() / fmt::format("fusescope-io-test-{}-{}", ::getpid(), counter++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path());
    return out;
  }
};

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a header text and a data section, with a given header length field.
std::string safetensors_bytes(const std::string& header, const std::string& data,
                              std::uint64_t header_length) {
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &header_length, 8);
  return bytes + header + data;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes(header, data, header.size());
}

std::string floats_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return fmt::format(R"("{}": {{"dtype": "{}", "shape": {}, "data_offsets": {}}})", name, dtype,
                     shape, offsets);
}

}  // namespace

TEST_CASE("safetensors F32 round trip keeps values, order, metadata and empty tensors", "[io]") {
  TempDir dir;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  auto random = [&](std::size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
  };
  // Names deliberately out of alphabetical order: the file's order must win, not the JSON map's.
  const std::vector<io::NamedTensor> tensors = {
      {"layer2.weight", {4, 3, 3, 3}, random(108)},
      {"empty_a", {0, 3}, {}},
      {"empty_b", {5, 0}, {}},
      {"bn.running_var", {4}, random(4)},
      {"scalar", {}, {42.5f}},
      {"a.bias", {1, 4, 1, 1}, random(4)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"source", "zoo:resnet"}};
  const fs::path path = dir.path / "model.safetensors";
  io::write_safetensors(path, tensors, metadata);

  const io::SafetensorsFile file = io::read_safetensors(path);
  REQUIRE(file.tensors.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].name);
    CHECK(file.tensors[i].name == tensors[i].name);
    CHECK(file.tensors[i].shape == tensors[i].shape);
    CHECK(file.tensors[i].values == tensors[i].values);  // F32 is stored bit for bit
  }
  CHECK(file.metadata == metadata);
  REQUIRE(file.find("bn.running_var") != nullptr);
  CHECK(file.find("bn.running_var")->values == tensors[3].values);
  CHECK(file.find("missing") == nullptr);
  CHECK(dir.files().size() == 1);  // no temporary left behind

  // The header is padded with spaces so the data starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  std::uint64_t header_length = 0;
  in.read(reinterpret_cast<char*>(&header_length), 8);
  CHECK(header_length % 8 == 0);
  std::string header(header_length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_length));
  CHECK(header.find("\"__metadata__\"") != std::string::npos);
  CHECK((header.back() == ' ' || header.back() == '}'));
}

TEST_CASE("safetensors F16 round trip is exact for representable values", "[io]") {
  TempDir dir;
  // Representable in binary16: the extremes, a subnormal, small integers, powers of two.
  const std::vector<float> exact = {0.0f,          -0.0f,          1.0f,
                                    -2.5f,         1024.0f,        0.099975586f,
                                    ops::kHalfMax, -ops::kHalfMax, ops::kHalfMinNormal,
                                    5.9604645e-08f};
  // Not representable: each must come back as float_to_half's round-to-nearest-even.
  const std::vector<float> rounded = {0.1f, 3.14159265f, 1e-3f, 70000.0f};
  const fs::path path = dir.path / "half.safetensors";
  io::write_safetensors(path, {{"exact", {2, 5}, exact}, {"rounded", {4}, rounded}}, {},
                        io::WriteDtype::F16);
  const io::SafetensorsFile file = io::read_safetensors(path);
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[0].values == exact);
  for (std::size_t i = 0; i < rounded.size(); ++i)
    CHECK(file.tensors[1].values[i] == ops::half_to_float(ops::float_to_half(rounded[i])));
  CHECK(std::isinf(file.tensors[1].values[3]));  // 70000 overflows fp16
  CHECK(fs::file_size(path) % 2 == 0);
}

TEST_CASE("safetensors reads BF16, F64, I64 and I32 as floats", "[io]") {
  TempDir dir;
  const std::uint16_t bf16[2] = {0x3FC0, 0xC020};  // 1.5, -2.5
  const double f64[2] = {0.25, -1e10};
  const std::int64_t i64[2] = {7, -3};
  const std::int32_t i32[1] = {123456};
  std::string data;
  data.append(reinterpret_cast<const char*>(bf16), 4);
  data.append(reinterpret_cast<const char*>(f64), 16);
  data.append(reinterpret_cast<const char*>(i64), 16);
  data.append(reinterpret_cast<const char*>(i32), 4);
  const std::string header = "{" + entry("labels", "I64", "[2]", "[20, 36]") + "," +
                             entry("b", "BF16", "[2]", "[0, 4]") + "," +
                             entry("d", "F64", "[2, 1]", "[4, 20]") + "," +
                             entry("count", "I32", "[]", "[36, 40]") + "}";
  const fs::path path = dir.path / "dtypes.safetensors";
  write_bytes(path, safetensors_bytes(header, data));
  const io::SafetensorsFile file = io::read_safetensors(path);
  REQUIRE(file.tensors.size() == 4);
  // Data order, not header order.
  CHECK(file.tensors[0].name == "b");
  CHECK(file.tensors[0].values == std::vector<float>{1.5f, -2.5f});
  CHECK(file.tensors[1].name == "d");
  CHECK(file.tensors[1].shape == ops::Shape{2, 1});
  CHECK(file.tensors[1].values == std::vector<float>{0.25f, -1e10f});
  CHECK(file.tensors[2].values == std::vector<float>{7.0f, -3.0f});
  CHECK(file.tensors[3].values == std::vector<float>{123456.0f});
}

TEST_CASE("safetensors accepts a zero-element tensor whatever its other dimensions", "[io]") {
  TempDir dir;
  // 2^40 * 2^40 would overflow, but the 0 makes the tensor legal and empty.
  const std::string header =
      "{" + entry("anchors", "F32", "[1099511627776, 0, 1099511627776]", "[4, 4]") + "," +
      entry("one", "F32", "[1]", "[0, 4]") + "}";
  const fs::path path = dir.path / "empty.safetensors";
  write_bytes(path, safetensors_bytes(header, floats_bytes({9.0f})));
  const io::SafetensorsFile file = io::read_safetensors(path);
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[1].name == "anchors");
  CHECK(file.tensors[1].shape == ops::Shape{std::int64_t{1} << 40, 0, std::int64_t{1} << 40});
  CHECK(file.tensors[1].values.empty());
  CHECK(file.tensors[0].values == std::vector<float>{9.0f});
}

TEST_CASE("malformed safetensors files give a FormatError naming the file and the tensor",
          "[io][bad-input]") {
  TempDir dir;
  const std::string ok_data = floats_bytes({1, 2, 3, 4});  // 16 bytes
  struct BadFile {
    const char* name;
    std::string bytes;  // empty: the file is not written at all
    std::vector<std::string> mentions;
  };
  const std::uint64_t absurd = std::uint64_t{1} << 40;
  const std::vector<BadFile> cases = {
      {"missing file", "", {"cannot read"}},
      {"shorter than 8 bytes", "\x10\0\0", {"too short"}},
      {"header length past the end",
       safetensors_bytes("{}", "", 64),
       {"header length 64", "past the end"}},
      {"absurd header length", safetensors_bytes("{}", "", absurd), {"absurd"}},
      {"invalid JSON", safetensors_bytes(R"({"conv1.weight": {"dtype": )", ""), {"not valid JSON"}},
      {"header not an object", safetensors_bytes("[1, 2]", ""), {"array", "expected an object"}},
      {"non-object entry",
       safetensors_bytes(R"({"conv1.weight": 5})", ""),
       {"conv1.weight", "expected an object"}},
      {"missing dtype",
       safetensors_bytes(R"({"conv1.weight": {"shape": [1], "data_offsets": [0, 4]}})", ok_data),
       {"conv1.weight", "dtype"}},
      {"unknown dtype",
       safetensors_bytes("{" + entry("conv1.weight", "Q4", "[1]", "[0, 4]") + "}", ok_data),
       {"conv1.weight", "Q4"}},
      {"negative dimension",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[-1, 4]", "[0, 16]") + "}", ok_data),
       {"conv1.weight", "[-1,4]", "negative"}},
      {"dimension not an integer",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[2.5]", "[0, 16]") + "}", ok_data),
       {"conv1.weight", "not an integer"}},
      {"dimension beyond int64",
       safetensors_bytes(
           "{" + entry("conv1.weight", "F32", "[18446744073709551615]", "[0, 16]") + "}", ok_data),
       {"conv1.weight", "beyond int64"}},
      {"shape product overflows",
       safetensors_bytes(
           "{" + entry("conv1.weight", "F32", "[1099511627776, 1099511627776]", "[0, 16]") + "}",
           ok_data),
       {"conv1.weight", "overflows"}},
      {"one offset",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[4]", "[0]") + "}", ok_data),
       {"conv1.weight", "data_offsets", "two"}},
      {"offset a string",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[4]", R"(["0", 16])") + "}", ok_data),
       {"conv1.weight", "data_offsets"}},
      {"negative offset",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[4]", "[-4, 12]") + "}", ok_data),
       {"conv1.weight", "data_offsets"}},
      {"begin after end",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[0]", "[8, 4]") + "}", ok_data),
       {"conv1.weight", "begin after end"}},
      {"end beyond the data",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[8]", "[0, 32]") + "}", ok_data),
       {"conv1.weight", "beyond the data section of 16 bytes"}},
      {"byte size disagrees with shape",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[3]", "[0, 16]") + "}", ok_data),
       {"conv1.weight", "hold 16 bytes", "shape 3 needs 12"}},
      {"overlapping ranges",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[3]", "[0, 12]") + "," +
                             entry("conv1.bias", "F32", "[2]", "[8, 16]") + "}",
                         ok_data),
       {"conv1.bias", "overlap", "conv1.weight"}},
      {"duplicate names",
       safetensors_bytes("{" + entry("conv1.weight", "F32", "[2]", "[0, 8]") + "," +
                             entry("conv1.weight", "F32", "[2]", "[8, 16]") + "}",
                         ok_data),
       {"conv1.weight", "twice"}},
      {"metadata value not a string",
       safetensors_bytes(R"({"__metadata__": {"epoch": 3}})", ""),
       {"__metadata__", "epoch"}},
  };
  for (const BadFile& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const fs::path path = dir.path / fmt::format("bad-{}.safetensors", &c - cases.data());
      if (!c.bytes.empty()) write_bytes(path, c.bytes);
      std::string message;
      try {
        io::read_safetensors(path);
      } catch (const io::FormatError& e) {
        message = e.what();
      }
      INFO("message: " << message);
      REQUIRE(!message.empty());
      CHECK_THAT(message, Catch::Contains(path.filename().string()));
      for (const auto& m : c.mentions) CHECK_THAT(message, Catch::Contains(m));
    }
  }
}

TEST_CASE("a failed safetensors write leaves no file behind", "[io][bad-input]") {
  TempDir dir;
  const std::vector<io::NamedTensor> good = {{"w", {2}, {1.0f, 2.0f}}};

  SECTION("into a directory that does not exist") {
    const fs::path path = dir.path / "no-such-dir" / "model.safetensors";
    CHECK_THROWS_AS(io::write_safetensors(path, good), io::FormatError);
    CHECK(!fs::exists(dir.path / "no-such-dir"));
    CHECK(dir.files().empty());
  }
  SECTION("bad tensors are rejected before anything is written, old file intact") {
    const fs::path path = dir.path / "model.safetensors";
    io::write_safetensors(path, good);
    struct BadWrite {
      std::vector<io::NamedTensor> tensors;
      std::string mention;
    };
    const std::vector<BadWrite> bad = {
        {{{"w", {1}, {1.0f}}, {"w", {1}, {2.0f}}}, "'w': name given twice"},
        {{{"w", {3}, {1.0f, 2.0f}}}, "does not match its 2 values"},
        {{{"w", {-1, -2}, {1.0f, 2.0f}}}, "negative"},
        {{{"w", {std::int64_t{1} << 40, std::int64_t{1} << 40}, {1.0f}}}, "does not match"},
        {{{"__metadata__", {1}, {1.0f}}}, "reserved"},
    };
    for (const BadWrite& b : bad) {
      INFO(b.mention);
      std::string message;
      try {
        io::write_safetensors(path, b.tensors);
      } catch (const io::FormatError& e) {
        message = e.what();
      }
      CHECK_THAT(message, Catch::Contains(b.mention) && Catch::Contains("model.safetensors"));
    }
    CHECK(dir.files().size() == 1);
    CHECK(io::read_safetensors(path).tensors.at(0).values == good[0].values);
  }
}

namespace {

// A 2x2 image whose channels are easy to interpolate by hand:
//   R = [[0, 100], [200, 40]]   G = 10 everywhere   B = [[255, 0], [0, 255]]
io::Image two_by_two() { return {2, 2, 3, {0, 10, 255, 100, 10, 0, 200, 10, 0, 40, 10, 255}}; }

// Upsampling 2 -> 4 with half-pixel centres samples source coordinates
// max(0, (o + 0.5) / 2 - 0.5) = 0, 0.25, 0.75, 1.25 (clamped to 1): weights (1,0), (.75,.25),
// (.25,.75), (0,1) along each axis. Worked out from the channels above:
const float kRed4x4[16] = {0,   25,     75,    100,  // row 0 = top row interpolated
                           50,  58.75,  76.25, 85,   // .75 * row 0 + .25 * row 3
                           150, 126.25, 78.75, 55,   // .25 * row 0 + .75 * row 3
                           200, 160,    80,    40};  // bottom row interpolated
const float kBlue4x4[16] = {255,   191.25, 63.75,   0,      191.25, 159.375, 95.625, 63.75,
                            63.75, 95.625, 159.375, 191.25, 0,      63.75,   191.25, 255};

}  // namespace

TEST_CASE("load_image reads a PNG written by stb_image_write", "[io]") {
  TempDir dir;
  const io::Image img = two_by_two();
  const fs::path png = dir.path / "rgb.png";
  REQUIRE(stbi_write_png(png.c_str(), 2, 2, 3, img.pixels.data(), 2 * 3) != 0);
  const io::Image loaded = io::load_image(png);
  CHECK(loaded.width == 2);
  CHECK(loaded.height == 2);
  CHECK(loaded.channels == 3);
  CHECK(loaded.pixels == img.pixels);

  // A grey image comes back as RGB with the grey level in every channel.
  const std::uint8_t grey[3] = {7, 128, 250};
  const fs::path grey_png = dir.path / "grey.png";
  REQUIRE(stbi_write_png(grey_png.c_str(), 3, 1, 1, grey, 3) != 0);
  const io::Image g = io::load_image(grey_png);
  CHECK(g.pixels == std::vector<std::uint8_t>{7, 7, 7, 128, 128, 128, 250, 250, 250});
}

TEST_CASE("load_image errors name the file and the reason", "[io][bad-input]") {
  TempDir dir;
  std::string message;
  try {
    io::load_image(dir.path / "camera-frame-0001.png");
  } catch (const io::FormatError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("camera-frame-0001.png") && Catch::Contains("no such file"));

  const fs::path junk = dir.path / "not-an-image.png";
  write_bytes(junk, "this is not a PNG at all");
  message.clear();
  try {
    io::load_image(junk);
  } catch (const io::FormatError& e) {
    message = e.what();
  }
  INFO(message);
  // stb's reason for bytes it cannot identify.
  CHECK_THAT(message, Catch::Contains("not-an-image.png") && Catch::Contains("unknown image type"));
}

TEST_CASE("to_tensor resizes bilinearly with half-pixel centres and normalizes", "[io]") {
  // Exact here: every weight and hand value is a short binary fraction. The normalized checks
  // allow 1e-6 relative for float rounding in scale, mean and std.
  SECTION("2x2 -> 4x4, raw values, NCHW RGB") {
    io::Preprocess p;
    p.height = p.width = 4;
    p.scale = 1.0f;
    const std::vector<float> t = io::to_tensor(two_by_two(), p);
    REQUIRE(t.size() == 48);
    for (int i = 0; i < 16; ++i) {
      INFO("pixel " << i);
      CHECK(t[i] == kRed4x4[i]);
      CHECK(t[16 + i] == 10.0f);
      CHECK(t[32 + i] == kBlue4x4[i]);
    }
  }
  SECTION("2x2 -> 4x4, normalized, NHWC BGR") {
    io::Preprocess p;
    p.height = p.width = 4;
    p.mean = {0.5f, 0.25f, 0.125f};  // by output channel: B, G, R
    p.std = {0.25f, 2.0f, 0.5f};
    p.bgr = true;
    p.nhwc = true;
    const std::vector<float> t = io::to_tensor(two_by_two(), p);
    REQUIRE(t.size() == 48);
    for (int i = 0; i < 16; ++i) {
      INFO("pixel " << i);
      CHECK(t[i * 3 + 0] == Approx((kBlue4x4[i] / 255.0f - 0.5f) / 0.25f).epsilon(1e-6));
      CHECK(t[i * 3 + 1] == Approx((10.0f / 255.0f - 0.25f) / 2.0f).epsilon(1e-6));
      CHECK(t[i * 3 + 2] == Approx((kRed4x4[i] / 255.0f - 0.125f) / 0.5f).epsilon(1e-6));
    }
  }
  SECTION("4x4 -> 2x2 averages each 2x2 block") {
    // Source coordinate (o + 0.5) * 2 - 0.5 = 0.5, 2.5: halfway between two pixels on each axis.
    io::Image img{4, 4, 3, {}};
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const auto r = static_cast<std::uint8_t>(10 * (4 * y + x));
        img.pixels.insert(img.pixels.end(), {r, static_cast<std::uint8_t>(255 - r), 3});
      }
    io::Preprocess p;
    p.height = p.width = 2;
    p.scale = 1.0f;
    const std::vector<float> t = io::to_tensor(img, p);
    // Red blocks: {0,10,40,50}, {20,30,60,70}, {80,90,120,130}, {100,110,140,150}.
    CHECK(std::vector<float>(t.begin(), t.begin() + 4) == std::vector<float>{25, 45, 105, 125});
    CHECK(std::vector<float>(t.begin() + 4, t.begin() + 8) ==
          std::vector<float>{230, 210, 150, 130});
    CHECK(std::vector<float>(t.begin() + 8, t.end()) == std::vector<float>{3, 3, 3, 3});
  }
  SECTION("same size is the identity") {
    io::Preprocess p;
    p.height = p.width = 2;
    p.scale = 1.0f;
    const std::vector<float> t = io::to_tensor(two_by_two(), p);
    CHECK(std::vector<float>(t.begin(), t.begin() + 4) == std::vector<float>{0, 100, 200, 40});
  }
  SECTION("bad arguments") {
    io::Preprocess p;
    CHECK_THROWS_WITH(io::to_tensor(two_by_two(), p), Catch::Contains("output size 0x0"));
    p.height = p.width = 2;
    p.std[1] = 0.0f;
    CHECK_THROWS_WITH(io::to_tensor(two_by_two(), p), Catch::Contains("std[1] is 0"));
    p.std[1] = 1.0f;
    io::Image short_image = two_by_two();
    short_image.pixels.pop_back();
    CHECK_THROWS_AS(io::to_tensor(short_image, p), ops::InvalidArgument);
  }
}

TEST_CASE("to_tensor crops, then turns by 180 degrees, before resizing", "[io]") {
  // A 3x2 image whose red channel numbers its pixels row by row: 0 1 2 / 3 4 5 (x 10).
  io::Image img{3, 2, 3, {}};
  for (int i = 0; i < 6; ++i) img.pixels.insert(img.pixels.end(), {static_cast<std::uint8_t>(10 * i), 7, 9});
  io::Preprocess p;
  p.scale = 1.0f;
  auto red = [](const std::vector<float>& t, std::size_t n) { return std::vector<float>(t.begin(), t.begin() + n); };
  SECTION("crop keeps the rectangle's pixels") {
    p.height = 2;
    p.width = 2;
    p.crop = std::array<int, 4>{1, 0, 2, 2};
    CHECK(red(io::to_tensor(img, p), 4) == std::vector<float>{10, 20, 40, 50});
  }
  SECTION("rotate180 reverses the pixel order exactly") {
    p.height = 2;
    p.width = 3;
    p.rotate180 = true;
    CHECK(red(io::to_tensor(img, p), 6) == std::vector<float>{50, 40, 30, 20, 10, 0});
    CHECK(io::rotate180(io::rotate180(img)).pixels == img.pixels);
  }
  SECTION("crop first, then the turn") {
    p.height = 1;
    p.width = 2;
    p.crop = std::array<int, 4>{0, 1, 2, 1};  // 30 40
    p.rotate180 = true;
    CHECK(red(io::to_tensor(img, p), 2) == std::vector<float>{40, 30});
  }
  SECTION("a crop outside the image is an error naming both sizes") {
    p.height = p.width = 1;
    p.crop = std::array<int, 4>{2, 0, 2, 2};
    CHECK_THROWS_WITH(io::to_tensor(img, p), Catch::Contains("crop 2x2 at (2, 0)") && Catch::Contains("3x2 image"));
    p.crop = std::array<int, 4>{0, 0, 0, 1};
    CHECK_THROWS_AS(io::to_tensor(img, p), ops::InvalidArgument);
  }
}
