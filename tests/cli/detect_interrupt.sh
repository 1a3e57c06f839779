#!/usr/bin/env bash
# `fusescope detect` on an endless source (synthetic) stopped by Ctrl-C (SIGINT): it must exit 0
# within a few seconds and leave a whole JSONL file, one parseable line per frame it finished.
#   detect_interrupt.sh FUSESCOPE
set -uo pipefail
fusescope=$1
out=$(mktemp --suffix=.jsonl)
rm -f "$out"
trap 'rm -f "$out"' EXIT
"$fusescope" detect --source synthetic --model blazeface-front -o "$out" &
pid=$!
# Wait until frames are flowing (a first line is in the output's temporary: the model is loaded
# and its pipelines compiled, which a cold shader cache makes slow), then interrupt.
flowing() { [ -n "$(find "$(dirname "$out")" -maxdepth 1 -name "$(basename "$out")*" -size +0 2>/dev/null)" ]; }
for _ in $(seq 1 600); do flowing && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if ! flowing; then echo "no frame written within 60 s"; kill -KILL "$pid" 2>/dev/null; exit 1; fi
sleep 1
kill -INT "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "still running 10 s after SIGINT"; kill -KILL "$pid"; exit 1; fi
wait "$pid"
rc=$?
if [ "$rc" -ne 0 ]; then echo "exit $rc after SIGINT, expected 0"; exit 1; fi
if [ ! -s "$out" ]; then echo "no JSON lines written"; exit 1; fi
lines=$(wc -l <"$out")
/usr/bin/python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$out" || { echo "a line does not parse"; exit 1; }
echo "interrupted: exit 0, $lines whole line(s)"
