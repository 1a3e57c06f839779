#!/usr/bin/env bash
# Ctrl-C (SIGINT) during a long `compare` or `bench`: the process must be gone within a second,
# end as interrupted (exit 130, 128 + SIGINT, as a shell reports it), and leave neither the
# --json report nor a temporary of it behind.
#   interrupt_reports.sh FUSESCOPE
set -uo pipefail
# Job control: without it, bash starts background commands with SIGINT ignored, which is not
# what a user's Ctrl-C meets.
set -m
fusescope=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0

# interrupt LABEL DELAY REPORT ARGS...: starts the command, sends SIGINT after DELAY seconds.
interrupt() {
  local label=$1 delay=$2 report=$3
  shift 3
  "$fusescope" "$@" >"$dir/out.txt" 2>&1 &
  local pid=$!
  sleep "$delay"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL $label: finished before the interrupt (${delay} s): make the run longer"; cat "$dir/out.txt"
    failures=$((failures + 1)); return
  fi
  local start end
  start=$(date +%s.%N)
  kill -INT "$pid"
  wait "$pid"
  local rc=$?
  end=$(date +%s.%N)
  local ms
  ms=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%d", (b - a) * 1000 }')
  if [ "$rc" -ne 130 ]; then
    echo "FAIL $label: exit $rc after SIGINT, expected 130"; sed 's/^/  | /' "$dir/out.txt"; failures=$((failures + 1)); return
  fi
  if [ "$ms" -gt 1000 ]; then
    echo "FAIL $label: took $ms ms to stop after SIGINT (limit 1000)"; failures=$((failures + 1)); return
  fi
  if compgen -G "$report*" >/dev/null; then
    echo "FAIL $label: left $(ls "$report"*) behind"; failures=$((failures + 1)); return
  fi
  echo "ok   $label: stopped $ms ms after SIGINT, exit 130, no report or temporary left"
}

interrupt "compare resnet50-keras" 4 "$dir/compare.json" compare resnet50-keras --fuse all --json "$dir/compare.json"
interrupt "bench resnet45" 4 "$dir/bench.json" bench resnet45 --iters 1000 --json "$dir/bench.json"
# Long on any machine of this kind: resnet45 at 4x its pixels, batch 2, every conv on the direct
# kernel (about 11 s here; at its default size it ran 0.4 s and finished before the interrupt).
interrupt "run --dump, resnet45 tapped" 3 "$dir/run.safetensors" run resnet45 --algorithm direct --size 64x256 --batch 2 \
  --taps all --dump "$dir/run.safetensors"

# Ctrl-C in the middle of writing the file (the write slowed down to 16 pieces, 150 ms apart):
# the handler removes the temporary before the signal ends the process.
FUSESCOPE_FAULT_WRITE_PAUSE_MS=150 "$fusescope" run conv_bn_layer --taps all --dump "$dir/slow.safetensors" >"$dir/out.txt" 2>&1 &
pid=$!
for _ in $(seq 1 200); do compgen -G "$dir/slow.safetensors.tmp*" >/dev/null && break; sleep 0.05; done
if ! compgen -G "$dir/slow.safetensors.tmp*" >/dev/null; then
  echo "FAIL mid-write: the temporary never appeared"; failures=$((failures + 1)); kill -KILL "$pid"
else
  sleep 0.3
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" -ne 130 ] || compgen -G "$dir/slow.safetensors*" >/dev/null; then
    echo "FAIL mid-write: exit $rc, left: $(ls "$dir"/slow.safetensors* 2>/dev/null)"; failures=$((failures + 1))
  else
    echo "ok   interrupted mid-write: exit 130, neither the dump nor its temporary left"
  fi
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
