#!/usr/bin/env bash
# The main job: install what is missing, fetch the real models (cached; skipped offline), build,
# list the Vulkan devices, run the conv+BN+ReLU demo (unfused vs run-time fused vs folded, each
# against the float64 oracle), then compare the whole Keras ResNet50 unfused vs fully fused,
# layer by layer, against the float64 oracle.
# The ResNet50 comparison runs at 64x64 so it takes seconds on a CPU Vulkan driver; on a GPU,
# FUSESCOPE_RUN_SIZE=224 gives the full-size network.
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
