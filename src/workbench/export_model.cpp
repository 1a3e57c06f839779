#include "workbench/export_model.hpp"

#include <fmt/format.h>

#include "io/onnx_export.hpp"
#include "ops/shape.hpp"

namespace fusescope::workbench {

void check_export_path(const std::filesystem::path& out) {
  std::filesystem::path dir = out.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw ops::InvalidArgument(fmt::format("-o {}: the directory {} does not exist", out.string(), dir.string()));
  }
  if (std::filesystem::is_directory(out, ec)) {
    throw ops::InvalidArgument(
        fmt::format("-o {}: is a directory; give a file name such as model.onnx", out.string()));
  }
}

void export_model(const graph::Graph& fused, const std::string& model, FuseMode mode, fusion::FoldPrecision fold,
                  const std::filesystem::path& out) {
  check_export_path(out);
  io::OnnxExportOptions eo;
  eo.metadata = {{"fusescope.model", model}, {"fusescope.fuse", to_string(mode)}};
  if (mode != FuseMode::none) {
    // The flag's own spelling, so a script can pass it back to `fusescope run --fold`.
    eo.metadata.push_back({"fusescope.fold", fold == fusion::FoldPrecision::float64 ? "float64" : "float32"});
  }
  eo.doc_string = fmt::format("{} exported by fusescope with --fuse {}", model, to_string(mode));
  io::export_onnx(fused, out, eo);
}

}  // namespace fusescope::workbench
