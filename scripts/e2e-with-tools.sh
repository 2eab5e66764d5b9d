#!/usr/bin/env bash
# `npm run e2e:kubernetes` / `npm run e2e:policy-charts` [-- <vitest args>]: builds whatever of
# the real tools is missing (scripts/e2e-tools.sh; a warm machine builds nothing), exports where
# they are, then runs the suite of the vitest config given first.
# Needs openssl (the control plane's certificates); installed from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
config="$1"
shift
if ! command -v openssl >/dev/null; then
  if [[ "$(id -u)" -ne 0 ]]; then echo "e2e: openssl is missing: apt-get install openssl" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
bash scripts/e2e-tools.sh --env >"$env_file"
# shellcheck disable=SC1090
source "$env_file"
exec npx vitest run --config "$config" "$@"
