#!/usr/bin/env bash
# `npm run e2e:docker`: the dev stack on a real Docker engine (README, "End-to-end: Docker").
# Installs what is missing (Debian's docker.io and debootstrap, the npm dependencies), then runs
# tests/e2e/docker, which starts its own dockerd (own data root, socket, no iptables, no bridge),
# builds the stand-in base image (cached under ${MODEL_CACHE_TOOLS:-~/.cache/model-cache}/e2e/docker)
# and stops the engine at the end. Extra arguments go to vitest (e.g. -t "checksum").
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "$(id -u)" -ne 0 ]]; then
  echo "e2e:docker: run as root: it starts its own dockerd and debootstraps the stand-in base image" >&2
  exit 1
fi
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]} > 0)); then
  echo "e2e:docker: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ -d node_modules ]] || npm ci --no-audit --no-fund
exec npx vitest run --config tests/e2e/docker/vitest.config.mts "$@"
