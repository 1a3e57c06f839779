#!/usr/bin/env bash
# The progress line (src/cli/progress_line.hpp) is drawn on a terminal, silenced by --quiet, and
# never written to a pipe or a file. The terminal is a pseudo-terminal from util-linux `script`
# (exit 77, SKIPPED, without it).
#   progress.sh FUSESCOPE
set -uo pipefail
fusescope=$1
command -v script >/dev/null || { echo "SKIPPED: util-linux 'script' (a pseudo-terminal) not found"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
esc=$'\033'
# What a progress line is made of: its stages and the erase-line code. (A terminal turns every
# newline into \r\n, so a carriage return alone proves nothing there; in a pipe it does.)
has_progress() { grep -q -e "fusescope: calibrating" -e "fusescope: float64" -e "fusescope: timed run" \
                   -e "creating pipelines" -e "$esc\[K" "$1"; }
has_progress_or_cr() { has_progress "$1" || grep -q $'\r' "$1"; }

# On a terminal (stdout and stderr both the pty): the steps show. Each command here has a step
# that reports on its first node, so the line is drawn however fast the machine is.
on_tty() {  # on_tty NAME EXPECTED-STAGE ARGS...
  local name=$1 stage=$2; shift 2
  script -qec "$(printf '%q ' "$fusescope" "$@")" /dev/null >"$dir/$name.tty" 2>&1 </dev/null
  grep -q "fusescope: $stage" "$dir/$name.tty" || fail "$name on a terminal: no '$stage' progress line"
  grep -q "$esc\[K" "$dir/$name.tty" || fail "$name on a terminal: the line is not erased"
}
on_tty run "calibrating BatchNorm" run conv_bn_layer
on_tty run_oracle "float64 oracle on the CPU" run conv_bn_layer --oracle
on_tty compare "float64 oracle on the CPU" compare conv_bn_layer --fuse bn
on_tty bench "timed run 1 of 2" bench conv_bn_layer --iters 2
on_tty bench_pipelines "fuse none: creating pipelines" bench conv_bn_layer --iters 1

# --quiet on a terminal: nothing of it.
script -qec "$(printf '%q ' "$fusescope" --quiet compare conv_bn_layer --fuse bn)" /dev/null >"$dir/quiet.tty" 2>&1 </dev/null
grep -q "at-risk channels" "$dir/quiet.tty" || fail "--quiet compare did not run: $(cat "$dir/quiet.tty")"
has_progress "$dir/quiet.tty" && fail "--quiet still draws progress: $(cat -v "$dir/quiet.tty" | head -5)"
script -qec "$(printf '%q ' "$fusescope" run conv_bn_layer -q)" /dev/null >"$dir/quiet_after.tty" 2>&1 </dev/null
has_progress "$dir/quiet_after.tty" && fail "-q after the subcommand still draws progress"

# stderr to a pipe and to a file, stdout to a file: not a byte of progress anywhere.
for args in "run conv_bn_layer --oracle" "compare conv_bn_layer --fuse bn" "bench conv_bn_layer --iters 2" \
            "export conv_bn_layer -o $dir/m.onnx"; do
  # shellcheck disable=SC2086
  "$fusescope" $args 2>&1 >"$dir/stdout.txt" | cat >"$dir/stderr_pipe.txt"
  has_progress_or_cr "$dir/stderr_pipe.txt" && fail "'$args': progress in a pipe: $(cat -v "$dir/stderr_pipe.txt" | head -3)"
  has_progress_or_cr "$dir/stdout.txt" && fail "'$args': progress in stdout's file"
  # shellcheck disable=SC2086
  "$fusescope" $args >/dev/null 2>"$dir/stderr_file.txt"
  has_progress_or_cr "$dir/stderr_file.txt" && fail "'$args': progress in stderr's file"
done
[ $failures -eq 0 ] && echo "progress: on a terminal only, silenced by --quiet"
exit $((failures > 0))
