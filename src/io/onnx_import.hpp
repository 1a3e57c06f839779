// ONNX import: reads a .onnx model (protobuf, opsets 1-17 of the default domain, each op from the
// opset where it took the form fusescope implements: see kFirstOpset) into a Graph,
// one fusescope node per ONNX node. Node names are the ONNX node names (or, when empty, the
// node's first output name) and every value keeps its ONNX tensor name, so taps and compare
// tables speak the model's own names. Initializers and Constant nodes become graph constants;
// Identity aliases its input (no node). A model written by fusescope's exporter (producer_name
// "fusescope") gets each fused node's provenance back from its doc_string ("fused: a, b, c").
//
// Supported (first slice): Conv, BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid,
// HardSigmoid, HardSwish, Tanh, Sqrt, Exp (activation kinds), Add, Sub, Mul, Div, Pow, ReduceMean
// (axes attribute, keepdims), MaxPool, AveragePool, GlobalAveragePool,
// Concat, Flatten, Gemm (alpha, beta, transA, transB; C per output or broadcasting to [M, N]),
// Softmax, Constant, Identity; Reshape, Squeeze, Unsqueeze (views: graph::ReshapeAttrs), MatMul
// (an activation of any rank x a constant [K, N] or [K], as a gemm between two views); 1-D Conv,
// ConvTranspose, MaxPool and AveragePool run as their 2-D forms on N x C x 1 x W; MaxPool may be
// dilated; Slice of an activation along one axis with step 1 (or selecting one element), Cast to a float type (identity),
// Transpose (any permutation, rank 1-6), Pad (constant/reflect/edge; pads as an attribute
// before opset 11, constant inputs since); Resize (opsets 10-17) and Upsample (9) of H and W,
// nearest or linear, with constant scales or sizes folded into the node (coordinate modes
// half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn; not
// tf_crop_and_resize); ConvTranspose (2-D,
// constant weight and bias); Split (one slice node per output, named after the output).
// Folded on the host once the input shape is known, whenever all inputs are constants (Shape
// always): Shape, Cast, Gather, Slice, Concat, Unsqueeze, Squeeze, Reshape, Flatten,
// Add/Sub/Mul/Div/Pow, ConstantOfShape, Transpose; the results are host constants, never graph
// nodes (a ConstantOfShape feeding a Concat, as TensorFlow exports pad channels, becomes a
// constant input of the concat). Integer tensors stay exact int64 through all of it (PyTorch
// writes x[:, d:] as ends = INT64_MAX); Slice bounds clamp as the ONNX text says.
// Zero-size tensors (a Slice that selects nothing, a Split part of 0, an empty constant) never
// become graph values: a Concat drops them, and any other reader that would hand one to a
// kernel, or a graph output that is one, is refused naming the node.
#pragma once
#include <filesystem>
#include <optional>

#include "graph/graph.hpp"
#include "ops/shape.hpp"

namespace fusescope::io {

struct OnnxImportOptions {
  // The shape of the model's (single) input; required when the model leaves a dimension
  // dynamic (a symbolic batch or image size), and it must agree with the dimensions it fixes.
  std::optional<ops::Shape> input_shape;
};

// Throws io::FormatError (safetensors.hpp) for a missing, truncated or corrupt file, an opset
// outside 1-17 (or an op in an older version than fusescope implements), unsupported ops (one message listing every unsupported op type with its nodes),
// unsupported attributes, a node reading a name nothing defines (ONNX requires topological
// order), and dynamic input dimensions without options.input_shape; ops::InvalidArgument naming
// the node when shapes do not fit an op.
graph::Graph import_onnx(const std::filesystem::path& path, const OnnxImportOptions& options = {});

// The same from a serialized ModelProto in memory (a model rewritten before import, as the
// conformance runner does); `label` stands for the file in messages and names the graph.
graph::Graph import_onnx_bytes(const std::string& bytes, const std::string& label,
                               const OnnxImportOptions& options = {});

}  // namespace fusescope::io
