#!/usr/bin/env bash
# Installs ONNX Runtime for Node (onnxruntime-node, pinned in tools/ort/package.json) into the
# git-ignored tools/ort/node_modules/: the oracle behind tests/golden/ort/ (tools/README.md).
#
# npm installs it by name from the registry npm is configured with, with --ignore-scripts: the
# package's postinstall script would download CUDA/TensorRT binaries from a host this machine
# cannot reach, and the CPU build (bin/napi-v*/linux/x64/) is inside the package already.
#
# Idempotent and offline-safe: when the pinned version is installed and loads, it only checks
# (no npm, no network, well under a second). Otherwise it runs npm with short timeouts,
# --prefer-offline (npm's own cache is enough), and no package-lock (the lock file would name
# the registry's host). Exit 0 when ORT loads afterwards, 1 with one line saying why not.
set -euo pipefail
cd "$(dirname "$0")"

WANT="$(sed -n 's/.*"onnxruntime-node": *"\([^"]*\)".*/\1/p' package.json)"
say() { echo "ort/install: $*"; }

loads() {
  node --input-type=module -e "
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    const v = require('onnxruntime-node/package.json').version;
    if (v !== '$WANT') { console.error('version ' + v); process.exit(1); }
    require('onnxruntime-node');" >/dev/null 2>&1
}

command -v node >/dev/null || { say "node is not installed (Debian package nodejs)"; exit 1; }
if loads; then exit 0; fi
command -v npm >/dev/null || { say "npm is not installed (Debian package npm)"; exit 1; }

export npm_config_fetch_retries="${npm_config_fetch_retries:-1}"
export npm_config_fetch_timeout="${npm_config_fetch_timeout:-120000}"
if ! npm install --ignore-scripts --prefer-offline --no-package-lock --no-audit --no-fund \
       --loglevel=error >/dev/null 2>npm-install.err; then
  say "npm install onnxruntime-node@$WANT failed: $(grep -m1 'npm error' npm-install.err || head -n1 npm-install.err)"
  rm -f npm-install.err
  exit 1
fi
rm -f npm-install.err
if ! loads; then say "onnxruntime-node@$WANT installed but does not load on $(uname -m)"; exit 1; fi
say "onnxruntime-node@$WANT installed in tools/ort/node_modules"
