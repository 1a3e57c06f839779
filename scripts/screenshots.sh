#!/usr/bin/env bash
# Regenerates the README's pictures of the window from the current build, in scripted mode
# (`fusescope gui … --screenshot`), under Xvfb when there is no display:
#   docs/screenshots/stepper.png   resnet50-keras on butterfly.jpg, stepped to the end of the
#                                  first residual block, its output as a grid of channel maps
#   docs/screenshots/compare.png   the same moment in the compare panel: unfused | folded |
#                                  |difference|, metrics against the float64 oracle, rel-L2 vs depth
#   docs/screenshots/kernel.png    the kernel panel: resnet45's layer1.1.conv2 running a deliberately
#                                  broken edit (tests/sandbox/conv2d_wrong_index.comp), flagged
#   docs/screenshots/camera.png    dpn-shapes on the synthetic source, unfused and fused boxes
# usage: scripts/screenshots.sh [OUT_DIR]   (default docs/screenshots; the size is
# $FUSESCOPE_RUN_SIZE, default 128, so it takes seconds on a CPU Vulkan driver)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
OUT="${1:-docs/screenshots}"
SIZE="${FUSESCOPE_RUN_SIZE:-128}"
IMAGE=/usr/share/doc/opencv-doc/examples/data/butterfly.jpg
mkdir -p "$OUT"
on_display() {
  if [ -n "${DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1600x1000x24 -noreset" "$@"; fi
}
view=(resnet50-keras --size "$SIZE" --input "$IMAGE" --run-to conv2_block1_out --font-scale 1 --window-size 1280x800)
on_display "$BUILD_DIR/fusescope" gui "${view[@]}" --panel tensor --screenshot "$OUT/stepper.png"
on_display "$BUILD_DIR/fusescope" gui "${view[@]}" --panel compare --screenshot "$OUT/compare.png"
# The kernel panel (the shader sandbox): an edit with its weight index swapped, judged against the
# float64 oracle, its drift through every later layer in the plot.
on_display "$BUILD_DIR/fusescope" gui resnet45 --candidate algorithm-direct --select layer1.1.conv2 --panel kernel \
  --kernel-override layer1.1.conv2=tests/sandbox/conv2d_wrong_index.comp --font-scale 1 --window-size 1280x800 \
  --screenshot "$OUT/kernel.png"
# The camera panel: the seed network as a detector on the synthetic source's shapes.
on_display "$BUILD_DIR/fusescope" gui dpn-shapes --source synthetic --no-oracle --font-scale 1 --window-size 1280x800 \
  --screenshot "$OUT/camera.png"
