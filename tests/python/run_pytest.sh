#!/usr/bin/env bash
# One tests/python/test_*.py file under Debian's pytest, against the module in the build tree
# (CTest python.<name>; the environment comes from CMakeLists.txt). Exit 77, which CTest reads as
# SKIPPED (never as passed), when the module was not built or a package the file names on its
# "# needs: a b" line cannot be imported by the interpreter the module was built for.
set -euo pipefail
test_file=$1
if [ "${FUSESCOPE_PYTHON_BUILT:-OFF}" != ON ]; then
  echo "SKIPPED: the Python module was not built (FUSESCOPE_PYTHON is OFF: pybind11-dev and python3-dev were not found; scripts/install-deps.sh installs them)"
  exit 77
fi
python=${FUSESCOPE_PYTHON_INTERPRETER:-/usr/bin/python3}
needs=$(sed -n 's/^# needs: //p' "$test_file" | head -n 1)
for module in $needs; do
  if ! "$python" -c "import $module" >/dev/null 2>&1; then
    echo "SKIPPED: $python cannot import $module, which $(basename "$test_file") needs"
    exit 77
  fi
done
if [ "${FUSESCOPE_SANITIZED:-OFF}" = ON ]; then
  # An ASan-instrumented module in an uninstrumented interpreter: the ASan runtime has to be the
  # first library in the process, so it is preloaded with libstdc++ (cmake/Sanitizers.cmake
  # finds both and says why each). Leak
  # checking is off here: at exit LSan would report the interpreter's own arenas and torch's, not
  # ours; the C++ suite checks fusescope's leaks under the same build.
  if [ -z "${FUSESCOPE_ASAN_PRELOAD:-}" ]; then
    echo "SKIPPED: sanitizer build, but the compiler's shared ASan runtime or libstdc++ was not found to preload into $python"
    exit 77
  fi
  export LD_PRELOAD="$FUSESCOPE_ASAN_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
export PYTHONPATH="$FUSESCOPE_PYTHON_DIR${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
exec "$python" -m pytest -q -p no:cacheprovider "$test_file"
