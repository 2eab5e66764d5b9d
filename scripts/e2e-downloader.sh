#!/usr/bin/env bash
# `npm run e2e:downloader`: the downloader against nginx, a real HTTP server (Range, keep-alive, TLS,
# `limit_rate` as a CDN's per-connection cap, `max_ranges 0` as a server that ignores Range).
# Installs Debian's nginx-light when it is missing (without starting its service); the tests start
# their own nginx on loopback ports and stop it. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "e2e:downloader: needs nginx (apt-get install nginx-light), or run as root to have it installed" >&2
    exit 1
  fi
  echo "e2e:downloader: installing nginx-light" >&2
  # Debian starts a package's service on install; this one is not wanted (port 80, a daemon left behind).
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npx vitest run --config tests/e2e/downloader/vitest.config.mts "$@"
