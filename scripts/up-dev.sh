#!/usr/bin/env bash
# `npm run up:dev`: deploy the dev stack on the local Docker engine with the Pulumi CLI version
# pinned in package.json (the `pulumi` npm package fetches that exact CLI on first use) and a
# local file backend in ./.pulumi (no Pulumi Cloud account needed).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .pulumi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi}"
# The dev stack holds no secret unless you add a hub token; an empty passphrase is fine locally.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
npx pulumi stack select dev --create
npx pulumi up --stack dev --yes "$@"
