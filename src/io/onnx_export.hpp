// ONNX export: writes a Graph (fused or not) as an ONNX model that other runtimes can load.
//
// Opset 13 of the default domain, IR version 7 (ONNX 1.8, the release that introduced opset 13):
// the oldest opset in which every op we write has the semantics our graph has — Softmax over
// one axis (before 13 it flattened the trailing dims), Clip bounds as inputs (11), Slice with
// starts/ends/axes/steps inputs (10) — so the file loads in as many runtimes as possible.
// Ops newer than that are written as their ONNX definitions: HardSwish (opset 14) is
// x * HardSigmoid(x, 1/6, 1/2), SiLU x * Sigmoid(x), GELU (opset 20) its erf or tanh formula.
//
// Names: every ONNX node producing a graph value is named after the graph node and its output
// keeps the value's name, so a fused export still speaks the original model's names. A conv's
// epilogue becomes ordinary nodes after the Conv (BatchNormalization from run-time statistics,
// Add for the residual, the activation), named "<node>.batchnorm", "<node>.residual",
// "<node>.<activation>" with intermediate values "<output>.conv" etc. (made unique if taken).
// The node carrying the graph node's name has the doc_string "fused: a, b, c" (its provenance)
// when it computes more than itself; helper nodes say "part of <node>". The model carries
// producer_name "fusescope" and the caller's metadata (the fusion mode).
//
// Every value gets its shape (graph inputs/outputs, value_info for intermediates); constants
// are fp32 initializers (a [4, C] BatchNorm statistics tensor is split into the four [C]
// inputs ONNX wants). Transpose, Pad (pads and fill as inputs), ConvTranspose (weights in
// ONNX's own [C, OC/groups, KH, KW] layout, a folded bias as its bias input), Resize (scales,
// or sizes where only they reproduce our scales; every mode attribute written) and ReduceMean
// (axes as opset 13's attribute; a Reshape to [1] after a reduction to rank 0) are one node
// each. The model is checked with onnx::checker::check_model before it is returned or written.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.hpp"

namespace fusescope::io {

struct OnnxExportOptions {
  std::vector<std::pair<std::string, std::string>> metadata;  // model metadata_props, in order
  std::string doc_string;                                     // the model's description
};

// The checked model, serialised. Throws ops::InvalidArgument naming the node for a graph the
// exporter cannot write (an invalid graph, a Resize whose scales and sizes no ONNX input
// expresses together), and std::runtime_error quoting the checker (which names the node) if
// the checker rejects it.
std::string export_onnx_bytes(const graph::Graph& g, const OnnxExportOptions& options = {});

// Writes export_onnx_bytes to `path` through a temporary file next to it and a rename: the file
// appears whole or not at all. Throws FormatError (safetensors.hpp) for I/O failures.
void export_onnx(const graph::Graph& g, const std::filesystem::path& path, const OnnxExportOptions& options = {});

}  // namespace fusescope::io
