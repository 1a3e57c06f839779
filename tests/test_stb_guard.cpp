// io::check_before_stb: what stb_image 2.27 mishandles (JPEG tables and truncated scans, PNM,
// PNG, TGA and HDR structures) is refused with a message naming the table or field, and no real
// picture stb decodes is (every one opencv-doc and scikit-image install, baseline and progressive
// JPEGs).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/image.hpp"
#include "io/stb_guard.hpp"
#include "io/safetensors.hpp"
#include "test_support.hpp"

using namespace fusescope;
namespace fs = std::filesystem;

namespace {

// A 16x16 colour JPEG from stb_image_write: one DHT segment holding DC 0, AC 0, DC 1, AC 1, and
// one baseline scan reading table 0 for luma and 1 for both chroma components.
std::vector<std::uint8_t> baseline_jpeg() {
  std::vector<std::uint8_t> rgb(16 * 16 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 37 % 251);
  std::vector<std::uint8_t> out;
  auto sink = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::uint8_t*>(data);
    static_cast<std::vector<std::uint8_t>*>(context)->insert(static_cast<std::vector<std::uint8_t>*>(context)->end(),
                                                              bytes, bytes + size);
  };
  REQUIRE(stbi_write_jpg_to_func(sink, &out, 16, 16, 3, rgb.data(), 90));
  return out;
}

// Offsets of the tables in the first DHT segment: each table's class/id byte.
std::vector<std::size_t> dht_tables(const std::vector<std::uint8_t>& jpeg) {
  for (std::size_t i = 2; i + 4 < jpeg.size();) {
    REQUIRE(jpeg[i] == 0xFF);
    const std::size_t length = (std::size_t{jpeg[i + 2]} << 8) | jpeg[i + 3];
    if (jpeg[i + 1] == 0xC4) {
      std::vector<std::size_t> tables;
      for (std::size_t t = i + 4; t < i + 2 + length;) {
        tables.push_back(t);
        std::size_t codes = 0;
        for (int k = 1; k <= 16; ++k) codes += jpeg[t + k];
        t += 17 + codes;
      }
      return tables;
    }
    i += 2 + length;
  }
  FAIL("no DHT segment");
  return {};
}

std::string refusal(const std::vector<std::uint8_t>& bytes) {
  try {
    io::check_before_stb(bytes, "t.jpg");
  } catch (const io::FormatError& e) {
    return e.what();
  }
  return "(accepted)";
}

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("stb guard: a JPEG as written passes and decodes", "[io][stb-guard][bad-input]") {
  const auto jpeg = baseline_jpeg();
  CHECK(refusal(jpeg) == "(accepted)");
  const io::Image image = io::decode_image(jpeg, "t.jpg");
  CHECK(image.width == 16);
  CHECK(image.height == 16);
  REQUIRE(dht_tables(jpeg).size() == 4);
}

TEST_CASE("stb guard: a scan reading a Huffman table no DHT defined is refused, naming it", "[io][stb-guard][bad-input]") {
  auto jpeg = baseline_jpeg();
  const auto tables = dht_tables(jpeg);
  SECTION("DC table 1 defined as 2") {
    REQUIRE(jpeg[tables[2]] == 0x01);
    jpeg[tables[2]] = 0x02;
    CHECK_THAT(refusal(jpeg), Catch::Contains("t.jpg: corrupt JPEG: the scan at byte") &&
                                  Catch::Contains("reads the DC Huffman table 1, which no DHT segment before it defines"));
  }
  SECTION("AC table 0 defined as 3") {
    REQUIRE(jpeg[tables[1]] == 0x10);
    jpeg[tables[1]] = 0x13;
    CHECK_THAT(refusal(jpeg), Catch::Contains("reads the AC Huffman table 0, which no DHT segment"));
  }
  // Through the decoder, as `run --input` reaches it: refused before stb reads a table.
  jpeg[tables[2]] = 0x02;
  CHECK_THROWS_AS(io::decode_image(jpeg, "t.jpg"), io::FormatError);
}

TEST_CASE("stb guard: a JPEG whose scan data is too short for its declared blocks is refused as truncated",
          "[io][stb-guard][bad-input]") {
  // The 16x16 picture's SOF made to declare 4000x3000 pixels: its few hundred coded bytes cannot
  // hold a bit for each of the declared blocks' DC coefficients (stb would decode zeros for all).
  auto jpeg = baseline_jpeg();
  std::size_t sof = 2;
  while (!(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) sof += 2 + ((std::size_t{jpeg[sof + 2]} << 8) | jpeg[sof + 3]);
  REQUIRE(jpeg[sof + 5] == 0);
  REQUIRE(jpeg[sof + 6] == 16);  // height
  jpeg[sof + 5] = 3000 >> 8;
  jpeg[sof + 6] = 3000 & 255;
  jpeg[sof + 7] = 4000 >> 8;
  jpeg[sof + 8] = 4000 & 255;
  CHECK_THAT(refusal(jpeg), Catch::StartsWith("t.jpg: truncated JPEG: the scan at byte") &&
                                Catch::Contains("(4000x3000 pixels declared), at least a bit each"));
  // Cut after the frame header, before any scan: stb's own check would refuse it too, and it
  // is named as truncated instead of "bad png sig".
  const std::vector<std::uint8_t> header_only(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(sof + 19));
  CHECK_THAT(refusal(header_only),
             Catch::Contains("truncated JPEG: no scan before byte") && Catch::Contains("codes the DC coefficients of component 1"));
}

TEST_CASE("stb guard: a Huffman table declaring more than 256 codes is refused, naming it", "[io][stb-guard][bad-input]") {
  auto jpeg = baseline_jpeg();
  const auto tables = dht_tables(jpeg);
  // The AC 1 table's count of 1-bit codes (none) raised to 255: stb 2.27 would write that many
  // more code lengths into its 257-entry array.
  const std::size_t t = tables[3];
  REQUIRE(jpeg[t] == 0x11);
  int codes = 0;
  for (int k = 1; k <= 16; ++k) codes += jpeg[t + k];
  REQUIRE(jpeg[t + 1] == 0);
  jpeg[t + 1] = 255;
  CHECK_THAT(refusal(jpeg), Catch::Contains(fmt::format("t.jpg: corrupt JPEG: the AC Huffman table 1 (DHT segment at "
                                                        "byte")) &&
                                Catch::Contains(fmt::format("table at byte {}) declares {} codes; a Huffman table has at "
                                                            "most 256 symbols",
                                                            t, codes + 255)));
  // From a file too: the header check `detect --source photo.jpg` runs before OpenCV decodes.
  const fs::path file = fs::temp_directory_path() / fmt::format("fusescope-dht-{}.jpg", ::getpid());
  {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
  }
  CHECK_THROWS_WITH(io::check_image_dimensions(file), Catch::Contains("declares " + std::to_string(codes + 255) + " codes"));
  fs::remove(file);
}

TEST_CASE("stb guard: every JPEG and PNG opencv-doc and scikit-image install that stb decodes passes", "[io][stb-guard]") {
  std::vector<fs::path> files;
  for (const fs::path dir : {"/usr/share/doc/opencv-doc", "/usr/lib/python3/dist-packages/skimage/data"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) files.push_back(entry.path());
    }
  }
  if (files.size() < 100) {  // opencv-doc not installed (scripts/install-deps.sh installs it)
    WARN("found " << files.size() << " JPEGs and PNGs under opencv-doc and scikit-image; the check needs them");
    testing::note_skipped();
    return;
  }
  // A refusal costs a picture only where stb would have decoded the file: scikit-image's
  // truncated.jpg (400 bytes, cut inside its last Huffman table, no scan) is refused by both.
  int refused = 0, refused_by_both = 0;
  for (const fs::path& f : files) {
    const auto bytes = read_file(f);
    try {
      io::check_before_stb(bytes, f.string());
    } catch (const io::FormatError& e) {
      int w = 0, h = 0, channels = 0;
      stbi_uc* pixels = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 0);
      if (pixels == nullptr) {
        ++refused_by_both;
        continue;
      }
      stbi_image_free(pixels);
      UNSCOPED_INFO(e.what());
      ++refused;
    }
  }
  INFO(files.size() << " files checked, " << refused_by_both << " refused by stb too");
  CHECK(refused == 0);
  // Progressive JPEGs decode through the same path (their tables come between scans).
  const fs::path progressive = "/usr/share/doc/opencv-doc/examples/data/Blender_Suzanne1.jpg";
  if (fs::exists(progressive)) CHECK(io::load_image(progressive).width > 0);
}

TEST_CASE("stb guard: a PNG whose IDAT chunk claims more bytes than the file has is refused before stb allocates them",
          "[io][stb-guard][bad-input]") {
  io::Image image{20, 10, 3, std::vector<std::uint8_t>(20 * 10 * 3, 90)};
  const std::vector<std::uint8_t> png = io::encode_png(image);
  CHECK(refusal(png) == "(accepted)");
  // Without IEND (12 bytes) the IDAT is whole: passed on, for stb to give its own reason. 8 more
  // bytes (the CRC and 4 of the data) and the IDAT claims more than the file has.
  const std::vector<std::uint8_t> no_iend(png.begin(), png.end() - 12);
  CHECK(refusal(no_iend) == "(accepted)");
  const std::vector<std::uint8_t> cut(png.begin(), png.end() - 20);
  CHECK_THAT(refusal(cut), Catch::Contains("t.jpg: truncated PNG: the IDAT chunk at byte ") &&
                               Catch::Contains(" left"));
  CHECK_THROWS_AS(io::decode_image(cut, "t.png"), io::FormatError);
}

TEST_CASE("stb guard: a PNM header number beyond int is refused, naming the field", "[io][stb-guard][bad-input]") {
  auto pnm = [](const std::string& header) {
    std::vector<std::uint8_t> bytes(header.begin(), header.end());
    bytes.resize(bytes.size() + 12, 7);  // a few pixel bytes
    return bytes;
  };
  CHECK(refusal(pnm("P6 2 2 255\n")) == "(accepted)");
  CHECK(refusal(pnm("P5\n# a comment 99999999999\n3 4\n255\n")) == "(accepted)");
  CHECK_THAT(refusal(pnm("P5\n# a comment 99999999999\n2147483647 1\n255\n")),
             Catch::Contains("t.jpg: truncated PNM: 2147483647x1 pixels x 1 channel(s) need 2147483647 bytes after the "
                             "header; the file has 12"));
  CHECK_THAT(refusal(pnm("P6 2147483648 2 255\n")),
             Catch::Contains("t.jpg: corrupt PNM: the width at byte 3 is more than 2147483647"));
  CHECK_THAT(refusal(pnm("P5\n# comment\n4 99999999999 255\n")), Catch::Contains("the height at byte 15"));
  CHECK_THAT(refusal(pnm("P6 2 2 4294967296\n")), Catch::Contains("the maximum value at byte 7"));
  // P3 (ASCII pixels) is not a format stb reads: left to stb, which refuses it.
  CHECK(refusal(pnm("P3 99999999999 2 255\n")) == "(accepted)");
}

TEST_CASE("stb guard: an HDR file whose run-length data ends early is refused, not decoded forever",
          "[io][stb-guard][bad-input]") {
  // 16x2 pixels as stb_image_write writes them: run-length scanlines (widths 8..32767 are).
  std::vector<float> rgb(16 * 2 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<float>(i % 7) * 0.25f;
  std::vector<std::uint8_t> hdr;
  auto sink = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    out->insert(out->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  REQUIRE(stbi_write_hdr_to_func(sink, &hdr, 16, 2, 3, rgb.data()));
  CHECK(refusal(hdr) == "(accepted)");
  CHECK(io::decode_image(hdr, "t.hdr").width == 16);
  // The last row's exponents end with a run, [128 + n, value]. Without its value byte stb reads a
  // zero for it and finishes (n dark pixels, no hang): let through.
  REQUIRE(hdr[hdr.size() - 2] > 128);
  const std::vector<std::uint8_t> no_last_value(hdr.begin(), hdr.end() - 1);
  CHECK(refusal(no_last_value) == "(accepted)");
  CHECK(io::decode_image(no_last_value, "t.hdr").width == 16);
  // Cut where a count is missing: stb 2.27 would read zero counts past the end forever.
  for (std::size_t cut = 2; cut <= 8; ++cut) {
    const std::vector<std::uint8_t> truncated(hdr.begin(), hdr.end() - static_cast<std::ptrdiff_t>(cut));
    CHECK_THAT(refusal(truncated), Catch::Contains("t.jpg: truncated HDR: the run-length data of row 1 of 2 ends with "
                                                   "the file (byte " + std::to_string(truncated.size()) + ")"));
    CHECK_THROWS_AS(io::decode_image(truncated, "t.hdr"), io::FormatError);
  }
  // The 50 bytes that hung `fusescope run --input` before: a header and one scanline's 4-byte start.
  const std::string header = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 16\n";
  std::vector<std::uint8_t> tiny(header.begin(), header.end());
  tiny.insert(tiny.end(), {2, 2, 0, 16});
  CHECK_THAT(refusal(tiny), Catch::Contains("row 0 of 2 ends with the file (byte 50), 16 of its 16 pixels short"));
}

TEST_CASE("stb guard: a truncated or 16-bit PNM is refused; an 8-bit one decodes to the same RGB as before",
          "[io][stb-guard][bad-input]") {
  auto bytes = [](const std::string& header, std::vector<std::uint8_t> data) {
    std::vector<std::uint8_t> out(header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
  };
  // Grey replicated to RGB, colour as it is.
  const io::Image grey = io::decode_image(bytes("P5 2 1 255\n", {7, 200}), "g.pgm");
  CHECK(grey.pixels == std::vector<std::uint8_t>{7, 7, 7, 200, 200, 200});
  const io::Image colour = io::decode_image(bytes("P6 1 2 255\n", {1, 2, 3, 4, 5, 6}), "c.ppm");
  CHECK(colour.pixels == std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
  // One byte short: stb 2.27 would hand back an uninitialised byte for it.
  CHECK_THAT(refusal(bytes("P6 1 2 255\n", {1, 2, 3, 4, 5})),
             Catch::Contains("truncated PNM: 1x2 pixels x 3 channel(s) need 6 bytes after the header; the file has 5"));
  CHECK_THAT(refusal(bytes("P5 2 1 65535\n", {0x12, 0x34, 0xAB, 0xCD})),
             Catch::Contains("t.jpg: a 16-bit PNM (maximum value 65535) is not read"));
}

TEST_CASE("stb guard: a TGA too short for its declared pixels is refused; whole ones decode", "[io][stb-guard][bad-input]") {
  // 18-byte header: no id, no colour map, `type`, 4x2 pixels of 24 bits, top-left origin.
  auto tga = [](std::uint8_t type, std::vector<std::uint8_t> data) {
    std::vector<std::uint8_t> out{0, 0, type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 0, 24, 0x20};
    out.insert(out.end(), data.begin(), data.end());
    return out;
  };
  std::vector<std::uint8_t> raw;
  for (std::uint8_t i = 0; i < 8; ++i) raw.insert(raw.end(), {i, std::uint8_t(i + 10), std::uint8_t(i + 20)});  // B, G, R
  const io::Image image = io::decode_image(tga(2, raw), "t.tga");
  REQUIRE(image.width == 4);
  CHECK(std::vector<std::uint8_t>(image.pixels.begin(), image.pixels.begin() + 3) == std::vector<std::uint8_t>{20, 10, 0});
  raw.pop_back();
  CHECK_THAT(refusal(tga(2, raw)),
             Catch::Contains("t.jpg: truncated TGA: 4x2 pixels of 3 byte(s) need at least 24 bytes after the header; "
                             "the file has 23"));
  // Run-length: one packet of 8 copies (count byte 0x80 + 7, then one pixel) is the whole picture.
  CHECK(io::decode_image(tga(10, {0x87, 1, 2, 3}), "r.tga").pixels.size() == 4 * 2 * 3);
  CHECK_THAT(refusal(tga(10, {0x87, 1, 2})), Catch::Contains("run-length coded, need at least 4 bytes"));
}
