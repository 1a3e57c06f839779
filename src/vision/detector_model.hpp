// A detector by name or file, with the spec its decoder needs: "blazeface-front" and
// "blazeface-back" (MediaPipe's, fetched) and "dpn-shapes" (this project's, with its decoder
// config) resolve through io/model_files; any other .onnx is BlazeFace-shaped, or YOLO-style with
// a decoder config (--decoder). `fusescope detect` and the window's camera panel load detectors
// here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "ops/shape.hpp"
#include "vision/detector.hpp"

namespace fusescope::vision {

// The detectors fusescope knows by name.
std::vector<std::string> named_detectors();

struct DetectorModel {
  std::string name;     // as given
  std::string path;     // the ONNX file
  graph::Graph graph;
  DetectorSpec spec;
  std::string decoder;  // the YOLO-style decoder config's file ("" for BlazeFace)
  std::string kind;     // "BlazeFace front", "YOLO-style decoder X, 4 classes"
};

// A named detector or an .onnx (at `input_shape` when its input has dynamic dims): BlazeFace-
// shaped, or decoded by the config `decoder` (dpn-shapes brings its own; the BlazeFace models
// refuse one). The config is read before the model, so a bad one is reported without the
// import's wait; tensor sizes are checked before anything is allocated (graph/tensor_limits).
// Throws ops::InvalidArgument for an unknown name, a missing file, a config or model no decoder
// understands; io::FormatError for a malformed model file.
DetectorModel load_detector(const std::string& model, const std::optional<ops::Shape>& input_shape = std::nullopt,
                            const std::string& decoder = "");

}  // namespace fusescope::vision
