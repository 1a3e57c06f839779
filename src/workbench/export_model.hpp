// A network written as ONNX the way every front end writes it: the graph (fused or not) with the
// model's name, fuse mode and fold arithmetic in the file's metadata, so a reader (or `fusescope
// run --fold`) can tell what it holds. `fusescope export` and the Python module's .export() call
// this; io::export_onnx does the writing (checked, whole or not at all).
#pragma once
#include <filesystem>
#include <string>

#include "fusion/fold_batchnorm.hpp"
#include "graph/graph.hpp"
#include "workbench/candidate.hpp"

namespace fusescope::workbench {

// Throws ops::InvalidArgument ("-o PATH: the directory D does not exist", "-o PATH: is a
// directory; ...") when `out` cannot be written as a file: called before slow work.
void check_export_path(const std::filesystem::path& out);

// Writes `fused` (the graph `model` became under `mode` and `fold`) to `out`.
void export_model(const graph::Graph& fused, const std::string& model, FuseMode mode,
                  fusion::FoldPrecision fold, const std::filesystem::path& out);

}  // namespace fusescope::workbench
