#!/usr/bin/env bash
# Every test: install what is missing, fetch the real models (cached; skipped offline), build,
# run the whole suite through CTest (the shader suite runs each kernel against the float64 oracle
# with the validation layer on), then print each kernel's worst measured error.
# FUSESCOPE_DEVICE=N runs the suite on device N.
# --sanitize: the same suite built with ASan + UBSan (LeakSanitizer included) into build-sanitize/
# (FUSESCOPE_SANITIZE, cmake/Sanitizers.cmake); any finding fails the test that made it. Further
# arguments go to ctest, e.g. `scripts/test.sh --sanitize -L fuzz` or `-E 'onnx_conformance|torch_corpus'`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  shift
  export FUSESCOPE_BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build-sanitize}"
  if [ ! -f "$FUSESCOPE_BUILD_DIR/CMakeCache.txt" ]; then
    generator=()
    if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
    cmake -S . -B "$FUSESCOPE_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DFUSESCOPE_SANITIZE=ON >/dev/null
  fi
  # Fatal findings with whole stacks. Leaks are checked at exit; the suppressions name only
  # third-party frames (the Vulkan loader, Mesa, LLVM's JIT; see the file for why each).
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
fi
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
