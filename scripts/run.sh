#!/usr/bin/env bash
# The main job: install what is missing, fetch the real models (cached; skipped offline), build,
# list the Vulkan devices, run the conv+BN+ReLU demo (unfused vs run-time fused vs folded, each
# against the float64 oracle), compare the whole Keras ResNet50 unfused vs fully fused, layer by
# layer, against the float64 oracle — and then the window: ResNet50 on a real photo
# (opencv-doc's butterfly.jpg), stepped to the end of its first residual block, compare panel
# open. With a display the window opens; without one its screenshots are written through Xvfb.
# The ResNet50 runs at 64x64 (compare) and 128x128 (window) so they take seconds on a CPU Vulkan
# driver; on a GPU, FUSESCOPE_RUN_SIZE=224 gives the full-size network.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/fetch-models.sh
./scripts/build.sh
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
"$BUILD_DIR/fusescope" devices
echo
"$BUILD_DIR/fusescope" demo "$@"
echo
"$BUILD_DIR/fusescope" compare resnet50-keras --fuse all --size "${FUSESCOPE_RUN_SIZE:-64}"
echo
IMAGE=/usr/share/doc/opencv-doc/examples/data/butterfly.jpg
window=("$BUILD_DIR/fusescope" gui resnet50-keras --size "${FUSESCOPE_RUN_SIZE:-128}" --input "$IMAGE"
        --run-to conv2_block1_out --panel compare)
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  echo "opening the window (close it to finish): ${window[*]}"
  "${window[@]}"
else
  out="$BUILD_DIR/screenshots"
  FUSESCOPE_RUN_SIZE="${FUSESCOPE_RUN_SIZE:-128}" ./scripts/screenshots.sh "$out"
  echo
  echo "no display: the window's screenshots are $PWD/$out/stepper.png, $PWD/$out/compare.png and $PWD/$out/camera.png"
  echo "on a machine with a display, open the window itself with:"
  echo "  ${window[*]}"
  echo "and its camera panel (dpn-shapes on moving shapes) with:"
  echo "  $BUILD_DIR/fusescope gui dpn-shapes --source synthetic"
fi
