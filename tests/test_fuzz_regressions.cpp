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
  // From a file the header check names it first; from bytes in memory the decoder's own check.
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::load_image(gif); }),
               Catch::Matchers::Contains("gif-declares-18693x16708.gif: the image declares 18693x16708 pixels"));
  const std::string bytes = read_bytes(gif);
  const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  REQUIRE_THAT(message_of<io::FormatError>([&] { io::decode_image(data, "gif"); }),
               Catch::Matchers::Contains("gif: cannot load image: it declares "
                                         "18693x16708 pixels, more than the 67108864 (8192x8192)"));
}
