#!/usr/bin/env bash
# Configures (once) and builds fusescope into build/ — Ninja and ccache when present, so a
# rebuild after a small change is incremental and fast.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
