#!/usr/bin/env bash
# Installs exactly the Debian packages fusescope needs that are not installed yet.
# Idempotent: when everything is present it only checks and returns (well under a second);
# `apt-get update` runs only when something is missing.
set -euo pipefail

PACKAGES=(
  # build; help2man writes the man page from `fusescope --help` (cmake/MakeManPage.cmake)
  build-essential cmake ninja-build ccache pkg-config help2man
  # the fuzz targets (scripts/fuzz.sh, tests/fuzz): clang-14 and its libFuzzer/ASan/UBSan runtimes
  clang-14 libclang-rt-14-dev
  # Vulkan: loader + headers, lavapipe (CPU driver the suite runs on), validation layers, vulkaninfo
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  # shaders: GLSL -> SPIR-V at build time, runtime compile, disassembly/validation
  glslc libshaderc-dev glslang-dev spirv-tools
  # libraries
  catch2 libcli11-dev nlohmann-json3-dev libfmt-dev
  # ONNX import: the generated onnx protobuf classes (libonnx_proto) and protobuf itself
  libonnx-dev libprotobuf-dev
  # real images for the ONNX Runtime parity goldens (tests/golden/ort/): opencv-doc's samples
  # (imageTextR.png / imageTextN.png text, messi5.jpg a face) under /usr/share/doc/opencv-doc/
  opencv-doc
  # frame sources (src/vision): OpenCV's videoio (FFmpeg/V4L2 backends) and imgcodecs; not
  # libopencv-dev, which pulls every module (VTK included): third_party/OpenCVModules.cmake finds these
  libopencv-videoio-dev libopencv-imgcodecs-dev
  # GUI (src/app): window, ImGui, fonts; Xvfb + xauth give the [gui] tests a display without one
  libglfw3-dev libimgui-dev libglm-dev libstb-dev xvfb xauth fonts-dejavu-core
  # tools/ort/check_zoo_export.sh (CTest zoo_export_vs_onnxruntime) reads and writes ONNX tensors
  python3-numpy python3-onnx
  # faces for the BlazeFace goldens (tests/golden/blazeface/): skimage's astronaut.png and
  # camera.png; PIL reads pictures in tools/blazeface_reference.py, which regenerates them
  python3-skimage python3-pil
  # validates `fusescope detect`'s JSON lines against docs/detect.schema.json (tests/cli/detect_schema.sh)
  python3-jsonschema
  # ONNX's own backend node tests (CTest onnx_conformance.*, tools/onnx_conformance_report.sh)
  libonnx-testdata
  # the PyTorch corpus (tools/torch_corpus.py, CTest torch_corpus.*): torchvision's CNNs exported by
  # torch.onnx.export (PIL, above, reads the opencv-doc photographs that calibrate their BatchNorms)
  python3-torch python3-torchvision
  # the Python module (python/, `import fusescope`): pybind11 and the headers of Debian's python3
  # (python3-numpy, above, gives it numpy arrays); its tests (tests/python, ctest -L python) run
  # under Debian's pytest
  pybind11-dev python3-dev python3-pytest
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
