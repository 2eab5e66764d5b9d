#!/usr/bin/env bash
# Prints the bin directory of the Node.js runtime this project runs on (package.json config.node),
# installing it first from the npm registry's `node` package if it is not there yet.
# The system Node is used when it already is that major version.
# Usage: export PATH="$(bash scripts/node-runtime.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
want="$(node -p "require(\"./package.json\").config.node")"
if [[ -z "$want" ]]; then echo "scripts/node-runtime.sh: no config.node in package.json" >&2; exit 1; fi
if command -v node >/dev/null && [[ "$(node -p 'process.versions.node.split(".")[0]')" == "${want%%.*}" ]]; then
  dirname "$(command -v node)"
  exit 0
fi
# World-readable by default: some tests run the downloader as uid 1000.
if [[ -n "${MODEL_CACHE_TOOLS:-}" ]]; then root="$MODEL_CACHE_TOOLS"
elif [[ "$(id -u)" == 0 ]]; then root=/opt/model-cache
else root="$HOME/.cache/model-cache"; fi
dir="$root/node-$want"
bin="$dir/node_modules/node/bin"
if [[ ! -x "$bin/node" ]]; then
  echo "installing Node.js $want into $dir (npm registry package node@$want)" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save "node@$want" >&2
  chmod -R a+rX "$dir"
fi
"$bin/node" --version >&2
echo "$bin"
