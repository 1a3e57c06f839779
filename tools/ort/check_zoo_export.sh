#!/usr/bin/env bash
# Does ONNX Runtime compute what fusescope measured? For every zoo model and fusion mode:
#   fusescope export MODEL --fuse MODE -o M.onnx                 (the file a user would deploy)
#   node tools/ort/run_model.mjs --model M.onnx ...              (ONNX Runtime, CPU)
#   fusescope run MODEL --fuse MODE --input IN --dump OUT        (fusescope's own device run)
# on one seeded input, and prints the rel-L2 and max-abs of every output, ORT against fusescope.
# A second column set compares ORT on the fused file with ORT on the unfused one: the drift the
# fusion itself causes, as a third party computes it.
#
# usage: tools/ort/check_zoo_export.sh [--size N] [--opt disabled|basic|all] [--fold float64|float32] [MODEL...]
#   MODEL: zoo names (default: every model `fusescope models` lists); --size: square input size
#   for every model (default: each model's own). Environment: FUSESCOPE (the binary, default
#   build/fusescope), ORT_RUNNER (default tools/ort/run_model.mjs), PYTHON (default /usr/bin/python3,
#   with numpy and onnx). Exits 1 when a step fails; numbers are reported, not judged.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fusescope=${FUSESCOPE:-$root/build/fusescope}
runner=${ORT_RUNNER:-$root/tools/ort/run_model.mjs}
python=${PYTHON:-/usr/bin/python3}
size="" opt="all" fold="float64"
models=()
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --opt) opt=$2; shift 2 ;;
    --fold) fold=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "check_zoo_export: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
for tool in "$fusescope" "$runner"; do
  [ -e "$tool" ] || { echo "check_zoo_export: $tool is missing (build fusescope; install the ORT runner)" >&2; exit 1; }
done
if [ ${#models[@]} -eq 0 ]; then
  # The zoo's names: the first column of `fusescope models` up to the blank line after the table.
  mapfile -t models < <("$fusescope" models | awk 'NR == 1 { next } NF == 0 { exit } { print $1 }')
fi
size_args=()
[ -n "$size" ] && size_args=(--size "$size")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Seeded uniform [-1, 1) input named and shaped like the ONNX model's first input.
make_input() {
  "$python" - "$1" "$2" <<'EOF'
import json, struct, sys
import numpy as np, onnx
model = onnx.load(sys.argv[1], load_external_data=False)
inp = model.graph.input[0]
shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
x = np.random.default_rng(1234).uniform(-1, 1, size=shape).astype("<f4")
header = json.dumps({inp.name: {"dtype": "F32", "shape": shape, "data_offsets": [0, x.nbytes]}}).encode()
header += b" " * (-len(header) % 8)
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + x.tobytes())
EOF
}

# One line per tensor of $2 (the reference) also in $1: name rel-L2 max-abs.
compare() {
  "$python" - "$1" "$2" <<'EOF'
import json, struct, sys
import numpy as np
def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").astype(np.float64).reshape(t["shape"])
    return out
actual, reference = read(sys.argv[1]), read(sys.argv[2])
for name, r in reference.items():
    if name not in actual:
        print(f"{name} missing - -")
        continue
    a = actual[name]
    if a.shape != r.shape:
        print(f"{name} shape {list(a.shape)}vs{list(r.shape)} -")
        continue
    norm = np.linalg.norm(r)
    rel = np.linalg.norm(a - r) / norm if norm > 0 else float(np.linalg.norm(a - r) > 0)
    print(f"{name} {rel:.3e} {np.max(np.abs(a - r)):.3e}")
EOF
}

printf "%-30s %-5s %-26s %12s %12s   %14s\n" model fuse output "ORT-vs-fs" "max-abs" "ORT fused-vs-none"
failed=0
for model in "${models[@]}"; do
  safe=${model//[^A-Za-z0-9_.-]/_}
  for fuse in none bn all; do
    onnx_file="$work/$safe.$fuse.onnx"
    if ! "$fusescope" export "$model" "${size_args[@]}" --fuse "$fuse" --fold "$fold" -o "$onnx_file" >"$work/log" 2>&1; then
      echo "$model --fuse $fuse: export failed:" >&2; cat "$work/log" >&2; failed=1; continue
    fi
    [ "$fuse" = none ] && make_input "$onnx_file" "$work/$safe.in.safetensors"
    if ! node "$runner" --model "$onnx_file" --input "$work/$safe.in.safetensors" \
         --output "$work/$safe.$fuse.ort.safetensors" --opt "$opt" >"$work/log" 2>&1; then
      echo "$model --fuse $fuse: ONNX Runtime failed:" >&2; cat "$work/log" >&2; failed=1; continue
    fi
    if ! "$fusescope" run "$model" "${size_args[@]}" --fuse "$fuse" --fold "$fold" \
         --input "$work/$safe.in.safetensors" --dump "$work/$safe.$fuse.fs.safetensors" >"$work/log" 2>&1; then
      echo "$model --fuse $fuse: fusescope run failed:" >&2; cat "$work/log" >&2; failed=1; continue
    fi
    drift=()
    if [ "$fuse" != none ] && [ -f "$work/$safe.none.ort.safetensors" ]; then
      mapfile -t drift < <(compare "$work/$safe.$fuse.ort.safetensors" "$work/$safe.none.ort.safetensors" | awk '{ print $2 }')
    fi
    i=0
    while read -r name rel maxabs; do
      printf "%-30s %-5s %-26s %12s %12s   %14s\n" "$model" "$fuse" "$name" "$rel" "$maxabs" "${drift[$i]:--}"
      i=$((i + 1))
    done < <(compare "$work/$safe.$fuse.ort.safetensors" "$work/$safe.$fuse.fs.safetensors")
  done
done
exit $failed
