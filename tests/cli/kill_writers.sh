#!/usr/bin/env bash
# Nothing lost (issue 12 §5): SIGKILL a writer at random moments, many times, and the target is
# always either the old file or the complete new one — never torn — and a temporary left by a
# killed writer is removed by the next write of the same target (io/atomic_file.hpp).
# FUSESCOPE_FAULT_WRITE_PAUSE_MS stretches each write over 16 pieces so that a good share of the
# kills land in the middle of writing, not only before or after it.
#   kill_writers.sh FUSESCOPE [ROUNDS]
set -uo pipefail
fusescope=$1
rounds=${2:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
export FUSESCOPE_FAULT_WRITE_PAUSE_MS=40

# kill_rounds LABEL TARGET OLD NEW ARGS...: ROUNDS killed writes of TARGET by `fusescope ARGS`;
# after each the target must equal OLD or NEW byte for byte.
kill_rounds() {
  local label=$1 target=$2 old=$3 new=$4
  shift 4
  local mid_write=0 kept_old=0 got_new=0
  # How long one whole run takes, to spread the kills over it.
  local t0 t1 total_ms
  t0=$(date +%s%N)
  cp "$old" "$target"
  "$fusescope" "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  total_ms=$(( (t1 - t0) / 1000000 ))
  for round in $(seq 1 "$rounds"); do
    cp "$old" "$target"
    # Kills from the middle of the run to just past its end: the write is at the end.
    local delay_ms=$(( total_ms / 2 + RANDOM % (total_ms / 2 + 200) ))
    "$fusescope" "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(awk -v m="$delay_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    if compgen -G "$target.tmp$pid" >/dev/null; then mid_write=$((mid_write + 1)); fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if cmp -s "$target" "$old"; then
      kept_old=$((kept_old + 1))
    elif cmp -s "$target" "$new"; then
      got_new=$((got_new + 1))
    else
      echo "FAIL $label round $round: the target is torn ($(stat -c %s "$target") bytes; old $(stat -c %s "$old"), new $(stat -c %s "$new"))"
      failures=$((failures + 1))
    fi
    # At most the one temporary of the writer just killed: earlier ones were cleaned by later writes.
    local temps
    temps=$(compgen -G "$target.tmp*" | wc -l)
    if [ "$temps" -gt 1 ]; then
      echo "FAIL $label round $round: $temps temporaries accumulated: $(ls "$target".tmp*)"
      failures=$((failures + 1))
    fi
  done
  # One more complete write cleans what the last kill left.
  "$fusescope" "$@" >/dev/null 2>&1
  if compgen -G "$target.tmp*" >/dev/null; then
    echo "FAIL $label: a complete write left $(ls "$target".tmp*) behind"; failures=$((failures + 1))
  fi
  if ! cmp -s "$target" "$new"; then echo "FAIL $label: the complete write differs from the reference"; failures=$((failures + 1)); fi
  echo "$label: $rounds kills over ${total_ms} ms runs: $mid_write mid-write, old file kept $kept_old, new file whole $got_new, torn 0 of the rest"
  if [ "$mid_write" -eq 0 ]; then
    echo "FAIL $label: no kill landed mid-write; the test proved nothing"; failures=$((failures + 1))
  fi
}

# export: the same model exported is the same bytes, so "complete" is "equal to a reference".
"$fusescope" export conv_bn_layer --fuse none -o "$dir/old.onnx" >/dev/null || exit 1
"$fusescope" export conv_bn_layer --fuse all -o "$dir/new.onnx" >/dev/null || exit 1
kill_rounds "export" "$dir/model.onnx" "$dir/old.onnx" "$dir/new.onnx" export conv_bn_layer --fuse all -o "$dir/model.onnx"

# run --dump: the float64 oracle's values are the same on every run.
"$fusescope" run conv_bn_layer --oracle --dump "$dir/old.safetensors" >/dev/null || exit 1
"$fusescope" run conv_bn_layer --oracle --taps all --dump "$dir/new.safetensors" >/dev/null || exit 1
kill_rounds "run --dump" "$dir/dump.safetensors" "$dir/old.safetensors" "$dir/new.safetensors" run conv_bn_layer --oracle --taps all --dump "$dir/dump.safetensors"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
