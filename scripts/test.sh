#!/usr/bin/env bash
# Every test: install what is missing, fetch the real models (cached; skipped offline), build,
# run the whole suite through CTest (the shader suite runs each kernel against the float64 oracle
# with the validation layer on), then print each kernel's worst measured error.
# FUSESCOPE_DEVICE=N runs the suite on device N.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/fetch-models.sh
# ONNX Runtime for Node (the third-party check of our ONNX exports, test zoo_export_vs_onnxruntime):
# cached and offline-safe; when it cannot be had, its one line says why and that test is skipped.
tools/ort/install.sh || echo "test: ONNX Runtime is not installed; zoo_export_vs_onnxruntime will be SKIPPED"
./scripts/build.sh
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
export FUSESCOPE_ERROR_LOG="$PWD/$BUILD_DIR/kernel-errors.tsv"
rm -f "$FUSESCOPE_ERROR_LOG"
start=$(date +%s%N)
(cd "$BUILD_DIR" && ctest --output-on-failure --parallel "$(nproc)" "$@")
end=$(date +%s%N)
echo
echo "worst error per kernel against the float64 oracle (all cases of this run):"
if [ -s "$FUSESCOPE_ERROR_LOG" ]; then
  printf "  %-32s %6s %12s %12s\n" "check" "cases" "rel-L2" "max-abs"
  awk -F'\t' '{ if (!($1 in rel) || $3+0 > rel[$1]) rel[$1] = $3+0;
                if (!($1 in mab) || $4+0 > mab[$1]) mab[$1] = $4+0; n[$1]++ }
       END { for (k in rel) printf "  %-32s %6d %12.3e %12.3e\n", k, n[k], rel[k], mab[k] }' \
    "$FUSESCOPE_ERROR_LOG" | sort
fi
awk -v ns=$((end - start)) 'BEGIN { printf "suite wall time (ctest): %.1f s\n", ns / 1e9 }'
