// Model files fusescope knows by name, and where they lie: the fetched ones (scripts/
// fetch-models.sh) under models_dir(), the ones this project made (assets/dpn-shapes) under
// assets_dir(). Every front end resolves "blazeface-front" or "dpn-shapes" here, so the same
// word names the same file in `run`, `detect`, the window and its camera panel.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fusescope::io {

struct NamedModelFile {
  std::string name;      // "blazeface-front"
  bool fetched = true;   // true: under models_dir(); false: under assets_dir()
  std::string relative;  // the file's path below that folder
  std::string maker;     // what makes the file when it is absent
};

// blazeface-front, blazeface-back (MediaPipe's, fetched), dpn-shapes (tools/dpn_shapes.py).
const std::vector<NamedModelFile>& named_model_files();

// $FUSESCOPE_MODELS_DIR, else assets/models beside the build folder that holds this binary
// (build/fusescope -> assets/models), else ./assets/models.
std::filesystem::path models_dir();
// assets/ beside the build folder that holds this binary, else ./assets.
std::filesystem::path assets_dir();

// The file `name` names; nullopt when it names none. Throws ops::InvalidArgument when it names
// one whose file is absent, saying what makes it.
std::optional<std::string> named_model_file(const std::string& name);

}  // namespace fusescope::io
