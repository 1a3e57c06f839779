#!/usr/bin/env bash
# The main job: install what is missing, build, list the Vulkan devices, and run the
# conv+BN+ReLU demo (unfused vs run-time fused vs folded, each against the float64 oracle).
# Extra arguments go to `fusescope demo` (e.g. --device 1, --channels 64, --validation).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
"$BUILD_DIR/fusescope" devices
echo
"$BUILD_DIR/fusescope" demo "$@"
