#!/usr/bin/env bash
# Injected device faults (src/gpu/fault_injection.hpp) through every CLI path that computes:
# a device with too little memory and a device lost at a chosen queue submission. Each must end
# in exit 1 with a message naming what failed, quickly (no hang on a fence that never signals),
# and leave no output file and no temporary behind.
#   device_faults.sh FUSESCOPE
set -uo pipefail
fusescope=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0

# expect LABEL REGEX OUTFILE -- ENV... -- ARGS...
expect() {
  local label=$1 regex=$2 outfile=$3
  shift 4  # and the first "--"
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local start end rc
  start=$(date +%s.%N)
  env "${envs[@]}" timeout 60 "$fusescope" "$@" >"$dir/out.txt" 2>&1
  rc=$?
  end=$(date +%s.%N)
  local secs
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $label: exit $rc, expected 1 ($secs s)"; sed 's/^/  | /' "$dir/out.txt"; failures=$((failures + 1)); return
  fi
  if ! grep -Eq "$regex" "$dir/out.txt"; then
    echo "FAIL $label: message does not match '$regex'"; sed 's/^/  | /' "$dir/out.txt"; failures=$((failures + 1)); return
  fi
  if [ -n "$outfile" ] && compgen -G "$outfile*" >/dev/null; then
    echo "FAIL $label: left $(ls "$outfile"*) behind"; failures=$((failures + 1)); return
  fi
  echo "ok   $label: exit 1 in $secs s: $(grep -E "$regex" "$dir/out.txt" | head -1 | cut -c1-220)"
}

oom="out of device memory: '[^']+' needs [0-9.]+ [KMG]?i?B \\([0-9]+ bytes\\), but only [0-9.]+ [KMG]?i?B of the device's 16.0 KiB are free"
expect "run, 16 KiB of device memory" "$oom" "$dir/run.safetensors" \
  -- FUSESCOPE_FAULT_DEVICE_MEMORY=16K -- run conv_bn_layer --dump "$dir/run.safetensors"
expect "compare, 16 KiB of device memory" "$oom" "$dir/compare.json" \
  -- FUSESCOPE_FAULT_DEVICE_MEMORY=16K -- compare conv_bn_layer --fuse bn --json "$dir/compare.json"
expect "bench, 16 KiB of device memory" "$oom" "$dir/bench.json" \
  -- FUSESCOPE_FAULT_DEVICE_MEMORY=16K -- bench conv_bn_layer --iters 2 --json "$dir/bench.json"
# Enough for the weights, not for the activations: the message names the largest activation.
expect "run at 256x256, 1 MiB of device memory" "conv_bn_layer:activations.*the activations of conv_bn_layer at their peak, [0-9.]+ MiB; the largest tensor is '[^']+' 1x[0-9]+x256x256, [0-9.]+ MiB" "$dir/big.safetensors" \
  -- FUSESCOPE_FAULT_DEVICE_MEMORY=1M -- run conv_bn_layer --size 256x256 --dump "$dir/big.safetensors"

lost="the GPU device was lost: vkQueueSubmit.* failed: VK_ERROR_DEVICE_LOST"
expect "run, device lost at the first submission" "$lost" "$dir/run.safetensors" \
  -- FUSESCOPE_FAULT_DEVICE_LOST=1 -- run conv_bn_layer --dump "$dir/run.safetensors"
expect "run, device lost at the 4th submission" "$lost" "$dir/run.safetensors" \
  -- FUSESCOPE_FAULT_DEVICE_LOST=4 -- run conv_bn_layer --dump "$dir/run.safetensors"
expect "compare, device lost at the 6th submission" "$lost" "$dir/compare.json" \
  -- FUSESCOPE_FAULT_DEVICE_LOST=6 -- compare conv_bn_layer --fuse bn --json "$dir/compare.json"
expect "bench, device lost at the 8th submission" "$lost" "$dir/bench.json" \
  -- FUSESCOPE_FAULT_DEVICE_LOST=8 -- bench conv_bn_layer --iters 4 --json "$dir/bench.json"
expect "detect, device lost at the 6th submission" "$lost" "$dir/detect.jsonl" \
  -- FUSESCOPE_FAULT_DEVICE_LOST=6 -- detect --source synthetic --model dpn-shapes --frames 4 -o "$dir/detect.jsonl"
expect "a malformed fault variable is refused" "FUSESCOPE_FAULT_DEVICE_MEMORY='lots' is not a byte count" "" \
  -- FUSESCOPE_FAULT_DEVICE_MEMORY=lots -- run conv_bn_layer

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
