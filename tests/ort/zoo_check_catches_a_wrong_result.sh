#!/usr/bin/env bash
# A test that cannot fail is a defect: this one shows that zoo_export_vs_onnxruntime can. It runs
# tools/ort/check_zoo_export.sh in checking mode on conv_bn_layer with fusescope's device run
# forced to fp16 storage (--precision fp16s: ~1e-3 off, a stand-in for a wrong kernel) while the
# export, ONNX Runtime and the float64 oracle stay exact. The check must exit 1 and name the model,
# fuse mode and output: ORT-vs-fusescope is over 1e-5 and the oracle finds fusescope, not ORT, far
# from the exact result. Exit 77 (SKIPPED) when the check skips (ONNX Runtime not installed).
#   usage: zoo_check_catches_a_wrong_result.sh FUSESCOPE_BINARY
set -uo pipefail
real=$1
here=$(cd "$(dirname "$0")" && pwd)
wrapper=$(mktemp)
trap 'rm -f "$wrapper"' EXIT
cat >"$wrapper" <<WRAP
#!/usr/bin/env bash
# fusescope, except that a device run (run without --oracle) stores activations in fp16
if [ "\$1" = run ] && ! printf '%s\n' "\$@" | grep -qx -- --oracle; then exec "$real" "\$@" --precision fp16s; fi
exec "$real" "\$@"
WRAP
chmod +x "$wrapper"
out=$(FUSESCOPE=$wrapper "$here/../../tools/ort/check_zoo_export.sh" --max-rel-l2 1e-5 conv_bn_layer 2>&1)
rc=$?
echo "$out"
[ "$rc" = 77 ] && exit 77
if [ "$rc" = 1 ] && grep -q "FAILED: conv_bn_layer --fuse none, output conv1_bn" <<<"$out" &&
   grep -q "FAILED: conv_bn_layer --fuse all, output conv1_bn" <<<"$out"; then
  echo "the check failed, as it must, naming conv_bn_layer/none and /all"
  exit 0
fi
echo "expected exit 1 naming conv_bn_layer --fuse none and all, output conv1_bn; got exit $rc" >&2
exit 1
