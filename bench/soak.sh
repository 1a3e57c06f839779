#!/usr/bin/env bash
# Soak (issue 12 §6; a script, not a test): the longest-lived modes run for a while each, their
# memory sampled every few seconds. On lavapipe device memory is host memory, so RSS covers both;
# on a GPU, VmRSS is the host side only. Prints each mode's samples and its growth after warm-up
# (the first quarter of the samples): the target is < 5 % and no error or validation message.
#   bench/soak.sh [SECONDS_PER_MODE=600] [MODEL=resnet45]
# Modes:
#   bench   — one process running the same network again and again (`bench --iters` huge),
#             executors reused: the library's replay path
#   detect  — `detect` on an endless source (synthetic frames), ended by SIGINT (the file must be whole)
#   window  — the window in play mode (bench/gui_play.cpp: MODEL loaded, play from the start again
#             whenever it reaches the end, the tensor where play stands selected: a picture made
#             and uploaded every step), on the user's display or a private Xvfb; RSS without the
#             validation layer (whose own bookkeeping grows ~2 MiB/s in this loop on lavapipe),
#             then a minute with it on, which must report nothing
# SOAK_MODES="bench detect window" picks modes (default: all three).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
model=${2:-resnet45}
fusescope=${FUSESCOPE:-build/fusescope}
interval=5
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# soak LABEL LIMIT COMMAND...: runs COMMAND until it ends or LIMIT seconds pass (then SIGINT),
# sampling its RSS.
soak() {
  local label=$1 limit=$2
  shift 2
  "$@" >"$out/$label.log" 2>&1 &
  local pid=$! samples=()
  local end=$((SECONDS + limit))
  while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do
    sleep "$interval"
    local r
    r=$(rss_kib "$pid")
    [ -n "$r" ] && samples+=("$r")
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  local rc=$?
  local n=${#samples[@]}
  if [ "$n" -lt 4 ]; then echo "$label: too few samples ($n); exit $rc"; tail -5 "$out/$label.log"; return; fi
  local warm=${samples[$((n / 4))]} last=${samples[$((n - 1))]}
  local max=0
  for s in "${samples[@]}"; do [ "$s" -gt "$max" ] && max=$s; done
  local growth
  growth=$(awk -v a="$warm" -v b="$last" 'BEGIN { printf "%.2f", (b - a) * 100.0 / a }')
  echo "$label: $n samples every ${interval} s; RSS after warm-up $((warm / 1024)) MiB, at the end $((last / 1024)) MiB, peak $((max / 1024)) MiB: growth $growth %; exit $rc"
  echo "  samples (MiB): $(for s in "${samples[@]}"; do printf '%d ' $((s / 1024)); done)"
  grep -iE "error|validation" "$out/$label.log" | head -5 | sed 's/^/  ! /'
}

modes=${SOAK_MODES:-bench detect window}
set -m  # background jobs keep SIGINT (as under a user's Ctrl-C)
if [[ " $modes " == *" bench "* ]]; then
  # bench ends by itself (so --validation can report): iterations sized from a short run.
  "$fusescope" --validation bench "$model" --fuse all --iters 3 --json "$out/calibrate.json" >/dev/null || exit 1
  ms=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['candidates'][0]['median_wall_ms'])" "$out/calibrate.json")
  iters=$(awk -v s="$seconds" -v m="$ms" 'BEGIN { n = int(s * 1000 / m); print (n < 10 ? 10 : n) }')
  echo "bench: $iters iterations of $model at $ms ms"
  soak bench $((seconds * 4)) "$fusescope" --validation bench "$model" --fuse all --iters "$iters" --warmup 1
fi
if [[ " $modes " == *" detect "* ]]; then
  soak detect "$seconds" "$fusescope" detect --source synthetic --model dpn-shapes --fuse all -o "$out/detect.jsonl"
  if [ -s "$out/detect.jsonl" ]; then
    echo "detect: $(wc -l <"$out/detect.jsonl") whole line(s) written after SIGINT"
  fi
fi
if [[ " $modes " == *" window "* ]]; then
  player="$(dirname "$fusescope")/fusescope_gui_play"
  xvfb_pid=""
  if [ -z "${DISPLAY:-}" ]; then
    # Our own Xvfb, not xvfb-run: RSS must be sampled from the player itself, not a wrapper.
    if ! command -v Xvfb >/dev/null 2>&1; then
      echo "window: SKIPPED: no DISPLAY and no Xvfb (apt-get install xvfb)"; player=""
    else
      Xvfb -displayfd 3 -screen 0 1600x1000x24 -noreset 3>"$out/display" >/dev/null 2>&1 &
      xvfb_pid=$!
      for _ in $(seq 50); do [ -s "$out/display" ] && break; sleep 0.1; done
      export DISPLAY=":$(cat "$out/display")"
    fi
  fi
  if [ -n "$player" ]; then
    # Loading takes a while before play starts: the player stops itself after $seconds.
    soak window $((seconds + 300)) "$player" "$model" "$seconds" --no-validation
    grep -E "^gui_play:" "$out/window.log" | sed 's/^/  /'
    if "$player" "$model" 60 >"$out/window-validation.log" 2>&1; then
      echo "window, 60 s with the validation layer: no message; $(grep -E '^gui_play:' "$out/window-validation.log")"
    else
      echo "window, 60 s with the validation layer: FAILED"; tail -5 "$out/window-validation.log" | sed 's/^/  ! /'
    fi
  fi
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
fi
