#!/usr/bin/env bash
# Runs every ONNX backend node test (Debian's libonnx-testdata) through fusescope in one process
# and prints each case's verdict, then pass / refused / wrong / unsupported-op / skipped counts
# per op type and in total (fusescope_onnx_conformance --report). The CTest suite runs the same
# cases one test each (label `conformance`); this is the summary view.
#   tools/onnx_conformance_report.sh [--fuse none|all] [NODE_TEST_DIR]
# Exit status as the runner's: 1 when any case gives a wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
fuse=()
if [ "${1:-}" = "--fuse" ]; then fuse=(--fuse "$2"); shift 2; fi
DATA="${1:-/usr/share/libonnx-testdata/data/node}"
RUNNER="$BUILD_DIR/fusescope_onnx_conformance"
if [ ! -x "$RUNNER" ]; then echo "onnx_conformance_report: build first ($RUNNER is missing)" >&2; exit 2; fi
if [ ! -d "$DATA" ]; then
  echo "onnx_conformance_report: $DATA is absent (apt-get install libonnx-testdata)" >&2
  exit 77
fi
export FUSESCOPE_CACHE_DIR="${FUSESCOPE_CACHE_DIR:-$PWD/$BUILD_DIR/cache}"
exec "$RUNNER" "${fuse[@]}" --report "$DATA"/test_*
