#!/usr/bin/env bash
# A compute pipeline the driver cannot create (FUSESCOPE_FAULT_PIPELINE_CREATE=N, the process' Nth
# vkCreateComputePipelines fails with VK_ERROR_UNKNOWN; src/gpu/fault_injection.hpp) through every
# CLI path that computes: exit 1, a message naming the kernel (and, where the executor made it,
# the node that needed it), no output file and no temporary left behind. The controls at the end
# prove the hook hits only the Nth creation: with N past the last creation the same commands work.
#   pipeline_faults.sh FUSESCOPE
set -uo pipefail
fusescope=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0

# expect EXIT LABEL REGEX OUTFILE -- ENV... -- ARGS...
expect() {
  local want=$1 label=$2 regex=$3 outfile=$4
  shift 5  # and the first "--"
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local rc
  env "${envs[@]}" timeout 120 "$fusescope" "$@" >"$dir/out.txt" 2>&1
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $label: exit $rc, expected $want"; sed 's/^/  | /' "$dir/out.txt"; failures=$((failures + 1)); return
  fi
  if ! grep -Eq "$regex" "$dir/out.txt"; then
    echo "FAIL $label: output does not match '$regex'"; sed 's/^/  | /' "$dir/out.txt"; failures=$((failures + 1)); return
  fi
  if [ "$want" -ne 0 ] && [ -n "$outfile" ] && compgen -G "$outfile*" >/dev/null; then
    echo "FAIL $label: left $(ls "$outfile"*) behind"; failures=$((failures + 1)); return
  fi
  echo "ok   $label: exit $rc: $(grep -E "$regex" "$dir/out.txt" | head -1 | cut -c1-240)"
}

# The kernel by its label (shader[specialization]), what failed, and the driver's answer.
kernel="kernel [a-z0-9_]+\\[[0-9,]*\\]: the compute pipeline could not be created: vkCreateComputePipelines failed: VK_ERROR_UNKNOWN"
# Inside a network the executor names the node too.
node="fusescope: error: conv_bn_layer: node [A-Za-z0-9_./-]+ \\([a-z0-9_]+\\): $kernel"

expect 1 "run, the first pipeline fails" "$node" "$dir/run.safetensors" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=1 -- run conv_bn_layer --dump "$dir/run.safetensors"
# Fused, conv_bn_layer is one node: one pipeline, the fp16 conv.
expect 1 "run --fuse all --precision fp16, its one pipeline fails" "$node" "$dir/fp16.safetensors" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=1 -- run conv_bn_layer --fuse all --precision fp16 --dump "$dir/fp16.safetensors"
expect 1 "compare --layout nhwc, the third fails" "$node" "$dir/compare.json" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=3 -- compare conv_bn_layer --fuse bn --layout nhwc --json "$dir/compare.json"
expect 1 "bench, the second fails" "$node" "$dir/bench.json" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=2 -- bench conv_bn_layer --iters 2 --json "$dir/bench.json"
# detect builds its network before its preprocessing: the first is dpn-shapes' stem conv.
expect 1 "detect, the first fails" "fusescope: error: dpn-shapes: node [^ ]+ \\(conv2d\\): $kernel" "$dir/detect.jsonl" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=1 -- detect --source synthetic --model dpn-shapes --frames 2 -o "$dir/detect.jsonl"
expect 1 "a malformed fault variable is refused" "FUSESCOPE_FAULT_PIPELINE_CREATE='soon' is not a count" "" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=soon -- run conv_bn_layer

# Controls: a count no command reaches changes nothing (the hook is not simply "fail everything").
expect 0 "run, the 100000th would fail: none does" "dispatches" "" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=100000 -- run conv_bn_layer --dump "$dir/ok.safetensors"
[ -f "$dir/ok.safetensors" ] || { echo "FAIL control: run wrote no dump"; failures=$((failures + 1)); }
expect 0 "compare, the 100000th would fail: none does" "at-risk channels" "" \
  -- FUSESCOPE_FAULT_PIPELINE_CREATE=100000 -- compare conv_bn_layer --fuse bn --layout nhwc

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
