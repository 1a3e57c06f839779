#!/usr/bin/env bash
# Runs a test command only when the files it needs are there: each path in
# FUSESCOPE_REQUIRE_FILES (colon-separated) that is absent makes it exit 77, which CTest reports
# as SKIPPED (SKIP_RETURN_CODE 77), never as passed. Used for the real-model detect tests
# (scripts/fetch-models.sh fetches the models; `apt install opencv-doc` the pictures and videos).
# usage: run_if_present.sh COMMAND [ARGS...]
set -uo pipefail
IFS=':' read -r -a required <<<"${FUSESCOPE_REQUIRE_FILES:-}"
for f in "${required[@]}"; do
  if [ -n "$f" ] && [ ! -e "$f" ]; then
    echo "SKIPPED: $f is absent (scripts/fetch-models.sh fetches the models; apt install opencv-doc the data)"
    exit 77
  fi
done
exec "$@"
