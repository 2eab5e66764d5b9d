#!/usr/bin/env bash
# Builds the real parts of the Kubernetes end-to-end suite from the Go module proxy with the
# ordinary `go` client, into ${MODEL_CACHE_TOOLS:-$HOME/.cache/model-cache}/e2e/<tool>-<version>/,
# keyed by version: a warm machine builds nothing. Prints what it used, and the environment the
# suite reads (`--env` prints only that, as `export NAME=value` lines).
#
#   pulumi          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at the CLI pin in package.json
#   language-nodejs github.com/pulumi/pulumi/sdk/v3 v3.68.0: pulumi-language-nodejs, the newest the proxy serves
#   kubernetes      github.com/pulumi/pulumi-kubernetes/provider/v4 (pulumi-resource-kubernetes)
#   kubernetes-cp   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from k8s.io/kubernetes
#   etcd            go.etcd.io/etcd/server/v3
#   kwok            sigs.k8s.io/kwok/cmd/kwok (fake nodes and pod lifecycle; there is no kubelet)
#
# Modules with replace directives (k8s.io/kubernetes' staging modules, etcd's sibling modules,
# pulumi's ../sdk) are built from a wrapper module generated here that requires the module and
# replaces each local path with the published module of the same release.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${MODEL_CACHE_TOOLS:-$HOME/.cache/model-cache}/e2e"
export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=mod" CGO_ENABLED=0
LDFLAGS_BASE="-s -w"

trap 'echo "e2e-tools: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

ENV_ONLY=0
[[ "${1:-}" == "--env" ]] && ENV_ONLY=1

say() { [[ $ENV_ONLY == 1 ]] && echo "$*" >&2 || echo "$*"; }

# --- pins -------------------------------------------------------------------------------------
# The CLI pin: package.json's config.pulumiCli.
PULUMI_VERSION="${PULUMI_CLI_VERSION:-$(node -p 'const p = require(process.argv[1]); (p.config && p.config.pulumiCli) || p.devDependencies.pulumi' "$ROOT/package.json")}"
# @pulumi/kubernetes' provider. The module proxy serves exactly one pseudo-version of
# provider/v4 here: the commit of the v4.25.0 release (f47bc2d6f199, 2026-01-15); the commit of the
# 4.34.2 release is refused ("This module version is not available"). See docs/kubernetes.md,
# "End-to-end: Kubernetes".
# package.json pins @pulumi/kubernetes to that release, so the provider the suite runs is the one
# the SDK asks for and the one a deploy downloads.
K8S_PROVIDER_VERSION="$(node -p 'require(process.argv[1]).dependencies["@pulumi/kubernetes"]' "$ROOT/package.json")"
case "$K8S_PROVIDER_VERSION" in
  4.25.0) K8S_PROVIDER_MODULE_VERSION="v4.0.0-20260115033456-f47bc2d6f199" ;;
  *)
    echo "e2e-tools: no provider/v4 module version known for @pulumi/kubernetes $K8S_PROVIDER_VERSION;" \
      "add the pseudo-version of its release commit here (the module proxy served only 4.25.0's)" >&2
    exit 1
    ;;
esac
# The provider at that commit is built against client-go v0.33; v1.34 is within client-go's
# supported skew (one minor either side), and is the oldest Kubernetes line the proxy serves here.
KUBERNETES_VERSION="v1.34.4"
# The Node.js language plugin: its own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused
# by the module proxy ("This module version is not available"), and so is every version of it;
# v3.68.0 is the newest release whose sdk/v3 module still carries the plugin's package
# (github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs), so that is the real plugin
# built here. It runs programs (Run); policy packs it cannot start (RunPlugin came later), so the
# suites hand the CLI the pack as an executable analyzer that runs the SDK's own run-policy-pack.
LANGUAGE_HOST_VERSION="v3.68.0"
ETCD_VERSION="v3.6.16"
KWOK_VERSION="v0.8.0"

# --- the wrapper module -----------------------------------------------------------------------
# replaces_of <go.mod> <mapper>: prints the wrapper's replace lines for a module's go.mod. Local
# replaces (=> ./x, ../x) become `old => old <version>` with the version the mapper prints for
# `old` (an empty answer drops the line); replaces to other modules are copied as they are.
replaces_of() {
  local gomod="$1" mapper="$2" line old new
  awk '
    /^replace[ \t]*\(/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { print; next }
    /^replace[ \t]/ { sub(/^replace[ \t]+/, ""); print }
  ' "$gomod" | sed 's|//.*||' | while read -r line; do
    [[ -z "$line" ]] && continue
    old="$(echo "${line%%=>*}" | awk '{print $1}')"
    new="$(echo "${line#*=>}" | awk '{print $1}')"
    if [[ "$new" == .* || "$new" == /* ]]; then
      local v
      v="$("$mapper" "$old" || true)"
      if [[ -n "$v" ]]; then echo "replace $old => $old $v"; fi
    else
      echo "replace $line"
    fi
  done
  return 0
}

# wrapper <dir> <module> <version> <mapper>: a module in <dir> that requires <module>@<version>
# with the replaces above.
wrapper() {
  local dir="$1" module="$2" version="$3" mapper="$4" gomod
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$dir"
    go mod init "model-cache.e2e/$(basename "$dir")" >/dev/null 2>&1
    gomod="$(go mod download -json "$module@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.GoMod)})')"
    replaces_of "$gomod" "$mapper" >>go.mod
    go mod edit -require="$module@$version"
  )
}

# tool_dir <name> <version>; built <dir>: whether a previous build finished there.
tool_dir() { echo "$TOOLS/$1-$2"; }
built() { [[ -f "$1/.built" ]]; }

timed() {
  local what="$1"; shift
  local start=$SECONDS
  say "building $what …"
  if [[ $ENV_ONLY == 1 ]]; then "$@" >&2; else "$@"; fi
  say "built $what in $((SECONDS - start)) s"
}

# --- the Pulumi CLI -------------------------------------------------------------------------
same_as_pulumi() { [[ "$1" == github.com/pulumi/pulumi/* ]] && echo "v$PULUMI_VERSION"; }
build_pulumi() {
  local dir="$1" src="$1/src"
  wrapper "$src" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION" same_as_pulumi
  (
    cd "$src"
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION"
    go build -ldflags "$LDFLAGS_BASE -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$dir/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
}

# --- the Node.js language plugin ------------------------------------------------------------
build_language_host() {
  local dir="$1" src="$1/src"
  wrapper "$src" github.com/pulumi/pulumi/sdk/v3 "$LANGUAGE_HOST_VERSION" no_local
  (
    cd "$src"
    go build -ldflags "$LDFLAGS_BASE" -o "$dir/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  )
}

# --- the Kubernetes provider ----------------------------------------------------------------
provider_sdk() { [[ "$1" == github.com/pulumi/pulumi-kubernetes/sdk/v4 ]] && echo "v$K8S_PROVIDER_VERSION"; }
build_k8s_provider() {
  local dir="$1" src="$1/src" mod
  wrapper "$src" github.com/pulumi/pulumi-kubernetes/provider/v4 "$K8S_PROVIDER_MODULE_VERSION" provider_sdk
  (
    cd "$src"
    go get "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider@$K8S_PROVIDER_MODULE_VERSION"
    mod="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
    # The upstream main embeds schema-embed.json, which its own `go generate` writes (the release
    # build's step): copy the command as it is and run that generator with the release's version.
    mkdir -p cmd/pulumi-resource-kubernetes
    cp "$mod"/cmd/pulumi-resource-kubernetes/{main.go,generate.go,schema.json,terraform-mapping.json} cmd/pulumi-resource-kubernetes/
    chmod -R u+w cmd
    (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PROVIDER_VERSION" go run generate.go)
    go mod tidy
    go build -ldflags "$LDFLAGS_BASE -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
      -o "$dir/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  )
}

# --- kube-apiserver, kube-controller-manager ---------------------------------------------------
k8s_staging() { [[ "$1" == k8s.io/* ]] && echo "v0.${KUBERNETES_VERSION#v1.}"; }
build_kubernetes() {
  local dir="$1" src="$1/src" minor="${KUBERNETES_VERSION#v1.}"
  minor="${minor%%.*}"
  wrapper "$src" k8s.io/kubernetes "$KUBERNETES_VERSION" k8s_staging
  local x=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (
    cd "$src"
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      go get "k8s.io/kubernetes/cmd/$cmd@$KUBERNETES_VERSION"
    done
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      go build -tags providerless -ldflags "$LDFLAGS_BASE$x" -o "$dir/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    done
  )
}

# --- etcd -----------------------------------------------------------------------------------
etcd_sibling() { [[ "$1" == go.etcd.io/etcd/*/v3 ]] && echo "$ETCD_VERSION"; }
build_etcd() {
  local dir="$1" src="$1/src"
  wrapper "$src" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" etcd_sibling
  (
    cd "$src"
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -ldflags "$LDFLAGS_BASE" -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3
  )
}

# --- kwok -----------------------------------------------------------------------------------
no_local() { :; }
build_kwok() {
  local dir="$1" src="$1/src"
  wrapper "$src" sigs.k8s.io/kwok "$KWOK_VERSION" no_local
  (
    cd "$src"
    go get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    go build -ldflags "$LDFLAGS_BASE -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" -o "$dir/bin/kwok" sigs.k8s.io/kwok/cmd/kwok
    # kwok's own stages (node initialize and heartbeat, pod ready and delete), which the harness
    # passes to it beside the suite's Job pod stages.
    local mod
    mod="$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
    mkdir -p "$dir/stages"
    cp "$mod"/kustomize/stage/node/fast/node-initialize.yaml "$mod"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
      "$mod"/kustomize/stage/pod/fast/pod-ready.yaml "$mod"/kustomize/stage/pod/fast/pod-delete.yaml "$dir/stages/"
    chmod u+w "$dir"/stages/*
  )
}

# --- run --------------------------------------------------------------------------------------
ensure() {
  local name="$1" version="$2" builder="$3" dir
  dir="$(tool_dir "$name" "$version")"
  if built "$dir"; then
    say "using $name $version (cached in $dir)"
  else
    rm -rf "$dir/bin" && mkdir -p "$dir/bin"
    timed "$name $version" "$builder" "$dir"
    rm -rf "$dir/src"
    date -u +%FT%TZ >"$dir/.built"
  fi
  printf -v "DIR_${name//-/_}" '%s' "$dir/bin"
}

if ! command -v go >/dev/null; then
  echo "e2e-tools: no go on PATH (expected Go 1.26 at /usr/local/go)" >&2
  exit 1
fi
say "go: $(go version)"
ONLY="${E2E_TOOLS_ONLY:-pulumi language-nodejs kubernetes etcd kubernetes-cp kwok}"
for t in $ONLY; do
  case "$t" in
    pulumi) ensure pulumi "$PULUMI_VERSION" build_pulumi ;;
    language-nodejs) ensure pulumi-language-nodejs "${LANGUAGE_HOST_VERSION#v}" build_language_host ;;
    kubernetes) ensure pulumi-resource-kubernetes "$K8S_PROVIDER_VERSION" build_k8s_provider ;;
    etcd) ensure etcd "$ETCD_VERSION" build_etcd ;;
    kubernetes-cp) ensure kubernetes "$KUBERNETES_VERSION" build_kubernetes ;;
    kwok) ensure kwok "$KWOK_VERSION" build_kwok ;;
    *) echo "e2e-tools: unknown tool $t" >&2; exit 2 ;;
  esac
done

emit() { echo "export $1=$(printf '%q' "$2")"; }
{
  [[ -n "${DIR_pulumi:-}" ]] && emit E2E_PULUMI_BIN "$DIR_pulumi"
  [[ -n "${DIR_pulumi_language_nodejs:-}" ]] && emit E2E_LANGUAGE_HOST_BIN "$DIR_pulumi_language_nodejs"
  [[ -n "${DIR_pulumi_resource_kubernetes:-}" ]] && emit E2E_PROVIDER_BIN "$DIR_pulumi_resource_kubernetes"
  [[ -n "${DIR_pulumi_resource_kubernetes:-}" ]] && emit E2E_PROVIDER_VERSION "$K8S_PROVIDER_VERSION"
  [[ -n "${DIR_etcd:-}" ]] && emit E2E_ETCD_BIN "$DIR_etcd"
  [[ -n "${DIR_kubernetes:-}" ]] && emit E2E_KUBERNETES_BIN "$DIR_kubernetes"
  [[ -n "${DIR_kubernetes:-}" ]] && emit E2E_KUBERNETES_VERSION "$KUBERNETES_VERSION"
  [[ -n "${DIR_kwok:-}" ]] && emit E2E_KWOK_BIN "$DIR_kwok"
  : # (E2E_TOOLS_ONLY may leave the last one out)
} | if [[ $ENV_ONLY == 1 ]]; then cat; else sed 's/^export /  /'; fi
