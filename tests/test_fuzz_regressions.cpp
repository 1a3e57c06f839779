// Inputs the fuzz targets (tests/fuzz) once crashed on, each refused now with the error a user
// would see (exit 2): the exception type main.cpp maps to "invalid input" and the words that
// name the culprit. CTest fuzz.replay.* feeds the same files through the fuzz targets' own entry
// points; these cases pin down the message, which a replay that only checks "no crash" cannot.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"
#include "vision/decoder_config.hpp"

using namespace fusescope;

namespace {

const std::filesystem::path kRegressions = std::filesystem::path(FUSESCOPE_SOURCE_DIR) / "tests/fuzz/regressions";

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the E that `run` throws; another exception type escapes and fails the test.
template <class E, class Run>
std::string message_of(Run&& run) {
  try {
    run();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("nothing was thrown");
  return {};
}

}  // namespace

TEST_CASE("fuzz regression: a folded Add with one input is refused naming the node", "[fuzz][onnx]") {
  // The fuzzer dropped the second input of an Add that the importer folds on the host (its one
  // input a Constant), and the fold read input 1 past the end of the node's input list (ASan:
  // heap-buffer-overflow). Its own input (fold-add-with-one-input.onnx, replayed by
  // fuzz.replay.onnx_model) also holds an unsupported op, which is what it is refused for now;
  // add-with-one-input.onnx is the same defect alone, written with the onnx package.
  const std::string bytes = read_bytes(kRegressions / "onnx_model/add-with-one-input.onnx");
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::import_onnx_bytes(bytes, "add.onnx"); }),
               Catch::Matchers::Contains("node 'add_one_input' (Add): input 1 is missing"));
}

TEST_CASE("fuzz regression: a decoder config number beyond double's range is invalid JSON, not a crash",
          "[fuzz][detect]") {
  // nlohmann::json reports 1e99999 as out_of_range, not parse_error: the config reader let it
  // escape as an unnamed library exception (exit 1, "error: [json.exception.out_of_range.406]").
  const std::string text = read_bytes(kRegressions / "decoder_config/number-overflow.json");
  REQUIRE_THAT(message_of<ops::InvalidArgument>([&] { vision::parse_decoder_config(text, "overflow.json"); }),
               Catch::Matchers::Contains("overflow.json: not valid JSON") &&
                   Catch::Matchers::Contains("number overflow"));
  // Found beside it by reading, not by the fuzzer: a mean beyond float's range would have been
  // converted to infinity and normalised every pixel to -inf.
  const std::string huge_mean = R"({"input": {"mean": [1e300, 0, 0]}, "outputs": [{"name": "p", "stride": 8}],
                                    "box": {"format": "ltrb"}, "classes": ["a"]})";
  REQUIRE_THAT(message_of<ops::InvalidArgument>([&] { vision::parse_decoder_config(huge_mean, "mean.json"); }),
               Catch::Matchers::Contains("mean.json: input.mean[0]: 1e+300: beyond a float's range"));
}

TEST_CASE("fuzz regression: a Shape node without its input is refused naming the node", "[fuzz][onnx]") {
  // ONNX's test_shape_end_0 with the node's one input erased: the host fold of Shape read input 0
  // of an empty input list (UBSan: member access within null pointer, in protobuf's Get).
  const std::string bytes = read_bytes(kRegressions / "onnx_model/shape-without-input.onnx");
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::import_onnx_bytes(bytes, "shape.onnx"); }),
               Catch::Matchers::Contains("node 'y' (Shape): input 0 is missing"));
}

TEST_CASE("fuzz regression: a tiny GIF declaring 18693x16708 pixels is refused before decoding", "[fuzz][io]") {
  // 168 bytes asked stb for 1.2 GB of RGBA (and then more): libFuzzer's 2 GiB limit stopped it.
  const std::filesystem::path gif = kRegressions / "image/gif-declares-18693x16708.gif";
  // From a file and from bytes in memory, the same header check names it.
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::load_image(gif); }),
               Catch::Matchers::Contains("gif-declares-18693x16708.gif: the image declares 18693x16708 pixels"));
  const std::string bytes = read_bytes(gif);
  const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::decode_image(data, "gif"); }),
               Catch::Matchers::Contains("gif: the image declares 18693x16708 pixels (312 megapixels, 0.9 GiB as RGB), "
                                         "more than the 67 megapixels (8192x8192) fusescope decodes"));
}

// What stb_image 2.27 mishandled, refused by io/stb_guard.hpp before stb reads the file.
TEST_CASE("fuzz regression: what stb_image 2.27 mishandles is refused before it reads the file", "[fuzz][io]") {
  struct Regression {
    const char* file;
    const char* message;
  };
  const Regression regressions[] = {
      // 479 bytes whose scan reads DC table 1 and AC table 0, which no DHT defines: stb decoded
      // through its uninitialised tables and indexed its symbol table 134745086 entries out
      // (UBSan, in stbi__jpeg_huff_decode).
      {"jpeg-scan-reads-undefined-huffman-table.jpg",
       "jpeg-scan-reads-undefined-huffman-table.jpg: corrupt JPEG: the scan at byte 393 reads the AC Huffman table 0, "
       "which no DHT segment before it defines"},
      // 324 bytes starting FF FF D8 (stb skips fill bytes before the start marker, so it is a JPEG
      // to stb) with an AC table of 474 codes, which stb's table builder wrote into its 257-entry
      // array (UBSan: index 257 out of bounds, in stbi__build_huffman).
      {"jpeg-fill-bytes-before-soi-dht-over-256-codes.jpg",
       "corrupt JPEG: the AC Huffman table 1 (DHT segment at byte 145, table at byte 149) declares 474 codes; a Huffman "
       "table has at most 256 symbols"},
      // 133 bytes: "P6", then 121 digits, each multiplying stb's int by 10 in its header reader
      // (UBSan: signed integer overflow, in stbi__pnm_getinteger).
      {"pnm-width-overflows-int.ppm", "pnm-width-overflows-int.ppm: corrupt PNM: the width at byte 4 is more than 2147483647"},
      // 14 bytes: a 43x2 PGM with 16-bit samples and no pixel data. stb converted the grey
      // image to RGB as if 8-bit, then read the result as 16-bit (ASan: heap-buffer-overflow, in
      // stbi__convert_16_to_8).
      {"pgm-16-bit-truncated.pgm", "pgm-16-bit-truncated.pgm: a 16-bit PNM (maximum value 22222) is not read"},
      // 39 bytes of TGA header declaring 57599x216 16-bit pixels: stb read the missing data as
      // zeros for over 10 s under ASan (libFuzzer's timeout; ~2 s in the release build).
      {"tga-39-bytes-declaring-57599x216.tga",
       "tga-39-bytes-declaring-57599x216.tga: truncated TGA: 57599x216 pixels of 2 byte(s) need at least 24882768 "
       "bytes after the header; the file has 17"},
      // 236 bytes of progressive JPEG declaring 1283x40197 pixels with two AC scans of 4 and 8
      // bytes and no DC scan: stb decoded the missing data as zeros for 14 s under ASan
      // (libFuzzer's timeout; 0.3 s in the release build), then failed.
      {"jpeg-progressive-236-bytes-declaring-1283x40197.jpg",
       "jpeg-progressive-236-bytes-declaring-1283x40197.jpg: truncated JPEG: no scan before byte 236 codes the DC "
       "coefficients of component 1 (40197x1283 pixels declared)"},
      // 129 bytes with an IDAT declaring 1128612429: stb grew its buffer to that (a 2 GiB realloc,
      // over libFuzzer's limit) before reading the chunk and finding the data missing.
      {"png-idat-declares-more-than-the-file.png",
       "png-idat-declares-more-than-the-file.png: truncated PNG: the IDAT chunk at byte 87 declares 1128612429 bytes; the "
       "file has 34 left"},
  };
  for (const Regression& r : regressions) {
    INFO(r.file);
    CHECK_THAT(message_of<io::FormatError>([&] { io::load_image(kRegressions / "image" / r.file); }),
               Catch::Matchers::Contains(r.message));
  }
}
