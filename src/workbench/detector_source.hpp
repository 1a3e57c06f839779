// Detector models by name, for every front end (`fusescope detect`, the window's camera panel,
// `run`/`gui` given a detector's name): "blazeface-front" and "blazeface-back" are the fetched
// MediaPipe files; any other .onnx is taken as BlazeFace-shaped. A detector comes with the spec
// its decoder needs (vision::DetectorSpec).
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

// The names of the detectors fusescope knows ("blazeface-front", "blazeface-back").
std::vector<std::string> named_detectors();

// The file behind a named detector; nullopt when `name` names none. Throws
// ops::InvalidArgument when it names one whose file is absent (saying what fetches it).
std::optional<std::string> named_detector_file(const std::string& name);

struct DetectorModel {
  std::string name;  // as given
  std::string path;  // the ONNX file
  graph::Graph graph;
  vision::DetectorSpec spec;
  std::string kind;  // "BlazeFace front", ...
};

// A named detector or a BlazeFace-shaped .onnx (at `shape` when its input has dynamic dims).
// Throws ops::InvalidArgument for an unknown name, a missing file or a model whose inputs and
// outputs no decoder understands; io::FormatError for a malformed file.
DetectorModel load_detector(const std::string& model, const std::string& shape = "");

}  // namespace fusescope::workbench
