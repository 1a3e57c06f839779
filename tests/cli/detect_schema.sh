#!/usr/bin/env bash
# `fusescope detect` on a real video, then every JSON line it wrote checked against
# docs/detect.schema.json by an independent validator (Debian's python3-jsonschema), plus the
# cross-field rules a schema cannot say (cx = x + w/2, indices increasing, one line per frame).
# Exits 77 (CTest: SKIPPED) when the video, the model or the validator is absent.
#   detect_schema.sh FUSESCOPE SOURCE_DIR VIDEO FRAMES MODEL [extra detect flags...]
set -uo pipefail
fusescope=$1 src=$2 video=$3 frames=$4 model=$5
shift 5
if [ ! -e "$video" ]; then echo "SKIPPED: $video is absent (apt install opencv-doc)"; exit 77; fi
if ! /usr/bin/python3 -c "import jsonschema" 2>/dev/null; then
  echo "SKIPPED: python3-jsonschema is absent (scripts/install-deps.sh installs it)"; exit 77
fi
out=$(mktemp --suffix=.jsonl)
trap 'rm -f "$out"' EXIT
"$fusescope" detect --source "$video" --model "$model" --frames "$frames" -o "$out" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then echo "fusescope detect exited $rc"; exit "$rc"; fi
/usr/bin/python3 - "$src/docs/detect.schema.json" "$out" "$frames" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
lines = open(sys.argv[2]).read().splitlines()
want = int(sys.argv[3])
errors = 0
if len(lines) != want:
    print(f"{len(lines)} lines, expected {want}"); errors += 1
previous, detections = -1, 0
for n, line in enumerate(lines, 1):
    record = json.loads(line)
    for e in validator.iter_errors(record):
        print(f"line {n}: {'/'.join(map(str, e.absolute_path))}: {e.message}"); errors += 1
    if record.get("index", -1) <= previous:
        print(f"line {n}: index {record.get('index')} does not follow {previous}"); errors += 1
    previous = record.get("index", previous)
    for d in record.get("detections", []):
        detections += 1
        if abs(d["cx"] - (d["x"] + d["w"] / 2)) > 1e-6 or abs(d["cy"] - (d["y"] + d["h"] / 2)) > 1e-6:
            print(f"line {n}: centre is not the box's"); errors += 1
print(f"{len(lines)} lines, {detections} detections, {errors} error(s) against {sys.argv[1]}")
sys.exit(1 if errors else 0)
PY
