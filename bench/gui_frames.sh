#!/usr/bin/env bash
# The window's frame times (bench/gui_frames.cpp): empty, idle with a model loaded, during a
# background run, and selection latency. Under Xvfb when there is no display.
#   bench/gui_frames.sh [MODEL] [SIZE] [FRAMES]     default: resnet50-keras 224 200
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
./scripts/build.sh >/dev/null
bin="$BUILD_DIR/fusescope_gui_frames"
if [ -n "${DISPLAY:-}" ]; then exec "$bin" "$@"; fi
exec xvfb-run -a -s "-screen 0 1600x1000x24 -noreset" "$bin" "$@"
