#!/usr/bin/env bash
# Runs the [gui] tests (a real window, swapchain and validation layer) on a display:
# the user's DISPLAY when set, else a private Xvfb through `xvfb-run -a`. With neither, exits 77,
# which CTest reports as SKIPPED (never as passed).
# usage: run_gui_tests.sh path/to/fusescope_gui_tests [catch2 arguments...]
set -uo pipefail
binary="$1"
shift
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$binary" "$@"
fi
if ! command -v xvfb-run >/dev/null 2>&1; then
  echo "SKIPPED: no DISPLAY and no xvfb-run (apt-get install xvfb xauth) for the [gui] tests"
  exit 77
fi
# -noreset: an X server resets when its last client disconnects, and a window opened during
# that reset fails ("Failed to open display"); each test case closes and reopens GLFW.
# -a takes the first display number without a lock file and, should that server fail to start
# (another xvfb-run took the number at the same moment), tries the next one.
exec xvfb-run -a -s "-screen 0 1600x1000x24 -noreset" "$binary" "$@"
