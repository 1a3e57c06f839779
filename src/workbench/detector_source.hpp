// Detector models by name, for every front end (`fusescope detect`, the window's camera panel,
// `run`/`gui` given a detector's name): "blazeface-front" and "blazeface-back" are the fetched
// MediaPipe files, "dpn-shapes" the committed assets/dpn-shapes model with its decoder config;
// any other .onnx is BlazeFace-shaped, or YOLO-style with a decoder config (--decoder). A
// detector comes with the spec its decoder needs (vision::DetectorSpec).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "vision/detector.hpp"

namespace fusescope::workbench {

// Where the fetched models lie: $FUSESCOPE_MODELS_DIR, else assets/models beside the build
// folder that holds this binary (build/fusescope -> assets/models), else ./assets/models.
std::filesystem::path models_dir();

// Where the committed assets lie (assets/dpn-shapes): assets/ beside the build folder that holds
// this binary, else ./assets.
std::filesystem::path assets_dir();

// The names of the detectors fusescope knows ("blazeface-front", "blazeface-back", "dpn-shapes").
std::vector<std::string> named_detectors();

// The file behind a named detector; nullopt when `name` names none. Throws
// ops::InvalidArgument when it names one whose file is absent (saying what fetches it).
std::optional<std::string> named_detector_file(const std::string& name);

struct DetectorModel {
  std::string name;  // as given
  std::string path;  // the ONNX file
  graph::Graph graph;
  vision::DetectorSpec spec;
  std::string decoder;  // the YOLO-style decoder config's file ("" for BlazeFace)
  std::string kind;     // "BlazeFace front", "YOLO-style decoder X, 4 classes"
};

// A named detector or an .onnx (at `shape` when its input has dynamic dims): BlazeFace-shaped,
// or decoded by the config `decoder` (dpn-shapes brings its own; the BlazeFace models refuse
// one). The config is read before the model, so a bad one is reported without the import's
// wait. Throws ops::InvalidArgument for an unknown name, a missing file, a config or model no
// decoder understands; io::FormatError for a malformed model file.
DetectorModel load_detector(const std::string& model, const std::string& shape = "", const std::string& decoder = "");

}  // namespace fusescope::workbench
