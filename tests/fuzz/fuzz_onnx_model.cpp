// libFuzzer target: bytes as an .onnx file, through everything `fusescope run model.onnx` does
// before the device: import (protobuf parse, checks, host constant folding, shape inference),
// the tensor size limits, then every fusion pipeline the CLI offers. No GPU is touched.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bad_input.hpp"
#include "graph/tensor_limits.hpp"
#include "io/onnx_import.hpp"
#include "workbench/candidate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fusescope;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return fuzz::reject_bad_input([&] {
    // No --shape: a model with dynamic input dimensions is refused at import, which is itself
    // a path worth fuzzing; the seeds fix their shapes.
    const graph::Graph g = io::import_onnx_bytes(bytes, "fuzz.onnx");
    // The CLI's own cap (graph::max_tensor_bytes(), 4 GiB) would let the fusion passes below
    // allocate gigabytes of folded weights per input; 64 MiB keeps each run within libFuzzer's
    // 2 GiB RSS limit and still admits every seed.
    graph::check_tensor_sizes(g, std::uint64_t{64} << 20, "fuzz.onnx");
    for (const auto mode : {workbench::FuseMode::bn, workbench::FuseMode::all, workbench::FuseMode::runtime}) {
      for (const auto fold : {fusion::FoldPrecision::float64, fusion::FoldPrecision::float32_pytorch}) {
        fusion::FusionReport report;
        workbench::fused_copy(g, mode, fold, &report);
      }
    }
  });
}
