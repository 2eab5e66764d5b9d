#!/usr/bin/env bash
# `npm run e2e:kubernetes [-- <vitest args>]`: builds whatever of the real tools is missing
# (scripts/e2e-tools.sh; a warm machine builds nothing), then runs tests/e2e/kubernetes with them.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file="$(mktemp)"
trap 'rm -f "$env_file"' EXIT
bash scripts/e2e-tools.sh --env >"$env_file"
# shellcheck disable=SC1090
source "$env_file"
exec npx vitest run --config tests/e2e/kubernetes/vitest.config.mts "$@"
