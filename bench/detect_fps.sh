#!/usr/bin/env bash
# End-to-end frames per second and median per-stage latency of `fusescope detect` on a video
# (default: opencv-doc's Megamind.avi, first 100 frames) for BlazeFace front and back and
# dpn-shapes (the DPN detector, assets/dpn-shapes, through the generic YOLO-style decoder),
# unfused and fully fused, on whatever Vulkan device fusescope picks (--device N /
# $FUSESCOPE_DEVICE). A model whose file is absent (BlazeFace before scripts/fetch-models.sh)
# is reported as skipped. A benchmark, not a test: it prints figures and judges nothing
# (issue 10's targets: BlazeFace front >= 30 FPS, dpn-shapes >= 15 FPS).
#   bench/detect_fps.sh [VIDEO] [FRAMES] [extra detect flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUSESCOPE_BUILD_DIR:-build}"
video="${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}"
frames="${2:-100}"
shift $(( $# > 2 ? 2 : $# )) || true
[ -f "$video" ] || { echo "detect_fps: $video is absent (apt install opencv-doc)" >&2; exit 1; }
./scripts/build.sh >/dev/null
bin="$BUILD_DIR/fusescope"
"$bin" devices 2>/dev/null | sed -n '1,2p' || true
printf '%-16s %-6s %7s %7s %9s %11s %10s %10s %9s %7s\n' model fuse frames FPS capture up+prep inference decode+NMS total dets
for model in blazeface-front blazeface-back dpn-shapes; do
  for fuse in none all; do
    if ! out="$("$bin" detect --source "$video" --model "$model" --fuse "$fuse" --frames "$frames" "$@" 2>&1)"; then
      printf '%-16s %-6s skipped: %s\n' "$model" "$fuse" "$(grep -m1 '^fusescope:' <<<"$out" || tail -n 1 <<<"$out")"
      continue
    fi
    # "N frames, D detections, K dropped, F FPS end to end"
    # "median ms: capture a, upload+preprocess b, inference c, decode+NMS d, total e"
    summary="$(grep -E '^[0-9]+ frames' <<<"$out")"
    medians="$(grep -E '^median ms' <<<"$out")"
    n="$(awk '{print $1}' <<<"$summary")"
    dets="$(awk '{print $3}' <<<"$summary")"
    fps="$(sed -E 's/.* ([0-9.]+) FPS.*/\1/' <<<"$summary")"
    read -r cap pre inf dec tot < <(sed -E 's/[^0-9.]+/ /g' <<<"${medians#median ms:}" | awk '{print $1, $2, $3, $4, $5}')
    printf '%-16s %-6s %7s %7s %9s %11s %10s %10s %9s %7s\n' "$model" "$fuse" "$n" "$fps" "$cap" "$pre" "$inf" "$dec" "$tot" "$dets"
  done
done
echo "(latency columns: median ms per frame; FPS: frames / wall time of the whole loop, model load excluded)"
