#!/usr/bin/env bash
# `npm run up:dev`: deploy the dev stack on the local Docker engine with the Pulumi CLI version
# pinned in package.json (config.pulumiCli) and a local file backend in ./.pulumi (no Pulumi Cloud
# account needed).
#
# What it needs to reach (README, "End-to-end: Docker"): the Pulumi CLI (on PATH) and, on first
# use, its docker provider plugin (downloaded into PULUMI_HOME, ~/.pulumi, unless already there);
# the Docker engine (DOCKER_HOST or the local socket), which pulls node:24-bookworm-slim for the
# downloader's build and the service image; the hub (model-cache:hubEndpoint) for the download.
set -euo pipefail
cd "$(dirname "$0")/.."
want="$(node -p 'require("./package.json").config.pulumiCli')"
if ! command -v pulumi >/dev/null; then
  cat >&2 <<EOF
up:dev: no Pulumi CLI on PATH. Install v$want, e.g.
  curl -fsSL https://get.pulumi.com | sh -s -- --version $want && export PATH="\$HOME/.pulumi/bin:\$PATH"
or put an existing pulumi $want on PATH. Its docker provider plugin is downloaded on first use;
offline, pre-populate PULUMI_HOME (pulumi plugin install resource docker <version>) on a machine that can.
EOF
  exit 1
fi
have="$(pulumi version | sed 's/^v//')"
if [[ "$have" != "$want" ]]; then
  echo "up:dev: pulumi $have on PATH, the project pins $want (package.json config.pulumiCli); continuing" >&2
fi
if ! docker info >/dev/null 2>&1; then
  echo "up:dev: no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset, the local socket}); start Docker first" >&2
  exit 1
fi
mkdir -p .pulumi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi}"
# The dev stack holds no secret unless you add a hub token; an empty passphrase is fine locally.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
pulumi stack select dev --create
pulumi up --stack dev --yes "$@"
