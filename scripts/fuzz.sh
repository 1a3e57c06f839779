#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan; build-fuzz/, see tests/fuzz/) and runs each
# for SECONDS (default 60), one after another, then prints per target: executions, coverage
# (libFuzzer's "cov": edges reached; "ft": features), corpus size, crashes and slow units (inputs
# that took over 10 s but finished: listed, not failures). Exits 1 when any target crashed, leaked
# or ran out of memory; the input is kept in build-fuzz/fuzz/crashes/<target>/
# (replay it with `build-fuzz/fusescope_fuzz_<target> FILE`; minimise with -minimize_crash=1).
# usage: scripts/fuzz.sh [--short] [SECONDS] [TARGET...]
#   --short: the short form the suite runs (CTest fuzz.short_form; default 10 s each, build in
#   build-fuzz-short/): only the parsers are compiled with clang and instrumented, linked against
#   the plain build's libraries in $FUSESCOPE_FUZZ_PREBUILT (default build/, which must be built);
#   tests/fuzz/CMakeLists.txt says what that gives up.
# Exits 77 (a skip, for CTest) when clang-14 or its libFuzzer runtime is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
short=0
if [ "${1:-}" = "--short" ]; then
  short=1
  shift
fi
SECONDS_EACH="${1:-$([ "$short" = 1 ] && echo 10 || echo 60)}"
shift || true
ALL_TARGETS=(onnx_model safetensors image decoder_config command_line)
[ $# -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL_TARGETS[@]}")
if [ "$short" = 1 ]; then
  BUILD_DIR="${FUSESCOPE_FUZZ_BUILD_DIR:-build-fuzz-short}"
  PREBUILT="$(realpath "${FUSESCOPE_FUZZ_PREBUILT:-build}")"
  prebuilt_flag=(-DFUSESCOPE_FUZZ_PREBUILT="$PREBUILT")
else
  BUILD_DIR="${FUSESCOPE_FUZZ_BUILD_DIR:-build-fuzz}"
  prebuilt_flag=()
fi

if ! command -v clang++-14 >/dev/null 2>&1 ||
   ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: clang-14 with libFuzzer is not installed (apt install clang-14 libclang-rt-14-dev; scripts/install-deps.sh)"
  exit 77
fi

# The short form configures every time (two seconds): its prebuilt folder may have changed.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ] || [ "$short" = 1 ]; then
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER=clang++-14 -DFUSESCOPE_FUZZ=ON "${prebuilt_flag[@]}" >/dev/null
fi
# Only the fuzz targets and the seed generator: the suite, tools and window binaries are not needed.
cmake --build "$BUILD_DIR" --target fusescope_fuzz_all --parallel "${FUSESCOPE_BUILD_JOBS:-$(nproc)}"

WORK="$BUILD_DIR/fuzz"
SEEDS="$WORK/seeds"
mkdir -p "$WORK"
# Seeds: fusescope's own writers (tests/fuzz/make_seeds.cpp), regenerated each run (a second).
# Run without leak checks: the generator is not under test, the targets are.
rm -rf "$SEEDS"
ASAN_OPTIONS=detect_leaks=0 "$BUILD_DIR/fusescope_fuzz_seeds" "$SEEDS"
# JPEG, progressive JPEG, GIF and BMP of the PNG seeds (python3-pil): the decoders stb has besides PNG.
if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
  /usr/bin/python3 - "$SEEDS/image" <<'PY'
import pathlib, sys
from PIL import Image
d = pathlib.Path(sys.argv[1])
for png in sorted(d.glob("c*.png")):
    im = Image.open(png).convert("RGB")
    im.save(d / (png.stem + ".jpg"), quality=90)
    im.save(d / (png.stem + "-progressive.jpg"), quality=75, progressive=True)
    im.save(d / (png.stem + ".gif"))
    im.save(d / (png.stem + ".bmp"))
PY
fi
# ONNX's own node test models (Debian's libonnx-testdata, already used by the conformance tests):
# hundreds of small, valid one-op models; third-party seeds beside fusescope's own exports.
for m in /usr/share/libonnx-testdata/data/node/test_*/model.onnx; do
  [ -f "$m" ] && cp "$m" "$SEEDS/onnx_model/node-$(basename "$(dirname "$m")").onnx"
done
# Every committed regression input is a seed too: the fuzzer starts from what once broke.
for t in "${ALL_TARGETS[@]}"; do
  cp tests/fuzz/regressions/"$t"/* "$SEEDS/$t/" 2>/dev/null || true
done

# Dictionaries from the parsers' own string literals (op and attribute names, JSON keys and
# enum words, flag names), so they follow the code without a list to keep in step.
literals() { grep -ohE '"-{0,2}[A-Za-z_][A-Za-z0-9_.:-]{1,40}"' "$@" | sort -u; }
literals src/io/onnx_import.cpp >"$WORK/onnx_model.dict"
{ literals src/io/safetensors.cpp; printf '"{"\n"}"\n"["\n"]"\n":"\n","\n"\\"data_offsets\\""\n'; } >"$WORK/safetensors.dict"
{ literals src/vision/decoder_config.cpp; printf '"{"\n"}"\n"["\n"]"\n":"\n","\n"true"\n"false"\n"null"\n"1e308"\n"-1"\n'; } >"$WORK/decoder_config.dict"
{ literals src/cli/*.cpp; printf '"\\x0a"\n'; } >"$WORK/command_line.dict"
printf '"\\x89PNG\\x0d\\x0a\\x1a\\x0a"\n"IHDR"\n"IDAT"\n"IEND"\n"PLTE"\n"tRNS"\n"\\xff\\xd8\\xff"\n"\\xff\\xc0"\n"\\xff\\xc2"\n"\\xff\\xc4"\n"\\xff\\xda"\n"\\xff\\xdb"\n"GIF89a"\n"BM"\n"P6"\n"#?RADIANCE"\n"8BPS"\n' >"$WORK/image.dict"

# Findings: libFuzzer's crash-, leak-, oom- and timeout- artifacts. A slow-unit- one (an input
# that took over 10 s but finished) is counted apart: not a failure, a place to look.
findings() { find "$crashes" -type f ! -name 'slow-unit-*' | wc -l; }
slow_units() { find "$crashes" -type f -name 'slow-unit-*' | wc -l; }
printf "\n%-16s %8s %12s %8s %8s %8s %8s %6s\n" target seconds executions edges features corpus crashes slow
failed=0
summary=()
for t in "${TARGETS[@]}"; do
  corpus="$WORK/corpus/$t"
  crashes="$WORK/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$WORK/$t.log"
  before=$(findings)
  slow_before=$(slow_units)
  # -rss_limit_mb/-malloc_limit_mb: one input may not take more than 2 GiB (an unchecked size
  # taken from a file shows up as an "out-of-memory" finding); -timeout: 10 s for one input.
  set +e
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/fuzz/ubsan.supp" \
  "$BUILD_DIR/fusescope_fuzz_$t" "$corpus" "$SEEDS/$t" -dict="$WORK/$t.dict" \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -error_exitcode=1 -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  set -e
  after=$(findings)
  slow=$(($(slow_units) - slow_before))
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  new=$((after - before))
  printf "%-16s %8s %12s %8s %8s %8s %8s %6s\n" "$t" "$SECONDS_EACH" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new" "$slow"
  if [ "$rc" -ne 0 ] || [ "$new" -ne 0 ]; then
    failed=1
    summary+=("$t: exit $rc; $(grep -m1 -E 'ERROR: |runtime error|deadly signal|out-of-memory|uncaught' "$log" || echo 'see log'); log $log; inputs in $crashes")
  fi
done
for s in "${summary[@]}"; do echo "fuzz: $s"; done
exit "$failed"
