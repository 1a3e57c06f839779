// Limits before work (issue 12 §1), the parts tensor_limits does not cover: ONNX files whose
// ranks, initializer bytes, external-data paths, node counts or fan-in are absurd or hostile, and
// images whose header declares more pixels than anyone should decode. Each is refused with the
// tensor, node or file named and the sizes given, as bad input (FormatError / InvalidArgument:
// exit 2), within a second and without allocating what the file claims.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>

#include "graph/tensor_limits.hpp"
#include "io/image.hpp"
#include "io/onnx_import.hpp"
#include "io/safetensors.hpp"  // FormatError
#include "onnx_test_model.hpp"

using namespace fusescope;
using namespace fusescope::testing::onnx_model;

namespace {

// The message of the FormatError importing `m` gives, checking it came within a second.
std::string import_error(const OnnxModel& m, const TempDir& dir) {
  const fs::path path = m.write(dir);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = message_of<io::FormatError>([&] { io::import_onnx(path); });
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  return message;
}

// x [1, 4] -> Relu -> y, with an initializer `w` fed to nothing but present in the file.
OnnxModel relu_model() {
  OnnxModel m;
  m.input("x", {1, 4});
  m.node("Relu", "relu", {"x"}, {"y"});
  m.output("y");
  return m;
}

void make_external(onnx::TensorProto& t, const std::string& location) {
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  t.clear_raw_data();
  auto* kv = t.add_external_data();
  kv->set_key("location");
  kv->set_value(location);
}

}  // namespace

TEST_CASE("hostile ONNX: rank above 8, for an input and for an initializer", "[bad-input][limits][onnx]") {
  TempDir dir;
  OnnxModel input_rank;
  input_rank.input("x", {1, 1, 1, 1, 1, 1, 1, 1, 4});
  input_rank.node("Relu", "relu", {"x"}, {"y"});
  input_rank.output("y");
  CHECK_THAT(import_error(input_rank, dir), Catch::Contains("input 'x' has rank 9, more than the 8 dimensions"));

  OnnxModel init_rank = relu_model();
  init_rank.initializer("w", {1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, {1, 2});
  init_rank.node("Add", "add", {"y", "w"}, {"z"});
  CHECK_THAT(import_error(init_rank, dir), Catch::Contains("'w'") && Catch::Contains("has rank 10, more than the 8"));

  // The graph-level check catches any other way a rank-9 tensor gets in.
  graph::Graph g("limits");
  graph::Value v;
  v.name = "deep";
  v.shape = {1, 1, 1, 1, 1, 1, 1, 1, 2};
  g.values().push_back(v);
  CHECK_THROWS_WITH(graph::check_tensor_sizes(g, 1 << 20, "t"),
                    Catch::Contains("t: tensor 'deep' has rank 9 (1x1x1x1x1x1x1x1x2), more than the 8 dimensions"));
}

TEST_CASE("hostile ONNX: an initializer whose bytes disagree with its shape", "[bad-input][limits][onnx]") {
  TempDir dir;
  OnnxModel m = relu_model();
  m.initializer("w", {1, 4}, {1, 2, 3, 4});
  m.g->mutable_initializer(0)->clear_dims();
  for (std::int64_t d : {1000, 1000}) m.g->mutable_initializer(0)->add_dims(d);  // claims 4 MB, holds 16 bytes
  m.node("Add", "add", {"y", "w"}, {"z"});
  CHECK_THAT(import_error(m, dir), Catch::Contains("'w'") && Catch::Contains("16 bytes of data for shape 1000x1000 (4000000 expected)"));
}

TEST_CASE("hostile ONNX: external data outside the model's folder, or missing", "[bad-input][limits][onnx]") {
  TempDir dir;
  fs::create_directories(dir.path / "models");
  auto model_with = [&](const std::string& location) {
    OnnxModel m = relu_model();
    m.initializer("w", {1, 4}, {1, 2, 3, 4});
    make_external(*m.g->mutable_initializer(0), location);
    m.node("Add", "add", {"y", "w"}, {"z"});
    std::string bytes;
    REQUIRE(m.model.SerializeToString(&bytes));
    const fs::path path = dir.path / "models" / "model.onnx";
    write_bytes(path, bytes);
    return path;
  };
  // A file that exists, but outside: refused without being opened.
  write_bytes(dir.path / "secret.bin", std::string(16, 'x'));
  for (const std::string& location : {std::string("../secret.bin"), (dir.path / "secret.bin").string(),
                                      std::string("sub/../../secret.bin")}) {
    INFO(location);
    const fs::path path = model_with(location);
    CHECK_THAT(message_of<io::FormatError>([&] { io::import_onnx(path); }),
               Catch::Contains("'w'") && Catch::Contains("keeps its data in '" + location + "', outside the model's folder"));
  }
  const fs::path missing = model_with("weights.bin");
  CHECK_THAT(message_of<io::FormatError>([&] { io::import_onnx(missing); }),
             Catch::Contains("'w'") && Catch::Contains("keeps its data in 'weights.bin', which does not exist"));
  // Inside and present: still a clear "not read yet", not a crash or a silent zero tensor.
  write_bytes(dir.path / "models" / "weights.bin", std::string(16, '\0'));
  CHECK_THAT(message_of<io::FormatError>([&] { io::import_onnx(missing); }),
             Catch::Contains("external file 'weights.bin', which fusescope does not read yet"));
}

TEST_CASE("hostile ONNX: absurdly deep and absurdly wide graphs", "[bad-input][limits][onnx]") {
  TempDir dir;
  OnnxModel deep;
  deep.input("x", {1, 4});
  std::string prev = "x";
  for (int i = 0; i < 200001; ++i) {
    const std::string out = fmt::format("v{}", i);
    deep.node("Relu", fmt::format("relu{}", i), {prev}, {out});
    prev = out;
  }
  deep.output(prev);
  CHECK_THAT(import_error(deep, dir), Catch::Contains("the graph has 200001 nodes, more than the 200000"));

  OnnxModel wide;
  wide.input("x", {1, 4});
  std::vector<std::string> inputs(10001, "x");
  set_attr(wide.node("Concat", "cat", inputs, {"y"}), "axis", std::int64_t{1});
  wide.output("y");
  CHECK_THAT(import_error(wide, dir), Catch::Contains("node 'cat' (Concat) has 10001 inputs"));
}

TEST_CASE("hostile images: a header declaring huge dimensions is refused before decoding", "[bad-input][limits][io]") {
  // 74 bytes of PNG each (tests/cli/bomb_*.png): a valid IHDR, a little zlib data. 16384x16384
  // is under stb's own limit (2^30 bytes) and would be decoded into 768 MiB; 100000x100000 is
  // over it, where stb's header check gives no sizes (read from the IHDR instead).
  const fs::path bomb = fs::path(FUSESCOPE_SOURCE_DIR) / "tests/cli/bomb_16384x16384.png";
  const fs::path huge = fs::path(FUSESCOPE_SOURCE_DIR) / "tests/cli/bomb_100000x100000.png";
  REQUIRE(fs::file_size(bomb) < 100);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THAT(message_of<io::FormatError>([&] { io::load_image(bomb); }),
             Catch::Contains("bomb_16384x16384.png: the image declares 16384x16384 pixels (268 megapixels, 0.8 GiB as RGB), "
                             "more than the 67 megapixels (8192x8192) fusescope decodes"));
  CHECK_THAT(message_of<io::FormatError>([&] { io::check_image_dimensions(huge); }),
             Catch::Contains("bomb_100000x100000.png: the image declares 100000x100000 pixels (10000 megapixels, 27.9 GiB"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("hostile images: a file over 2 GiB is refused before it is read into memory", "[bad-input][limits][io]") {
  // A sparse 3 GiB file (no disk used): stb reads at most INT_MAX bytes, so it is refused by its
  // size, from `run --input` and from detect's image folders alike, without a 3 GiB allocation.
  TempDir dir;
  const fs::path big = dir.path / "big.png";
  { std::ofstream(big, std::ios::binary) << "\x89PNG"; }
  fs::resize_file(big, std::uintmax_t{3} << 30);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THAT(message_of<io::FormatError>([&] { io::load_image(big); }),
             Catch::Contains("big.png: cannot load image: 3221225472 bytes is more than stb_image reads"));
  CHECK_THAT(message_of<io::FormatError>([&] { io::check_image_dimensions(big); }),
             Catch::Contains("3221225472 bytes is more than stb_image reads"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}
