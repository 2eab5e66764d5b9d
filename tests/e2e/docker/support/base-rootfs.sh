#!/usr/bin/env bash
# Builds the rootfs tarball of the test engine's stand-in for the Dockerfile's base image
# (node:<major>-bookworm-slim): debootstrap'd Debian bookworm (minbase) + this machine's Node binary
# and npm, with the official image's `node` user and group at uid/gid 1000 and home /home/node.
# No registry is reachable here, so nothing can be pulled; this is only ever tagged inside the test
# engine. Cached outside the repo, keyed by every input, so a warm machine builds nothing.
#
# Usage: base-rootfs.sh <node binary> <npm package dir> <cache dir>  → prints the tarball's path.
set -euo pipefail
node_bin="$1"
npm_dir="$2"
cache_dir="$3"
suite=bookworm
# The mirror apt already uses on this machine (Debian's own by default).
mirror="${MODEL_CACHE_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

node_sum="$(sha256sum "$node_bin" | cut -c1-16)"
npm_version="$(node -p "require('$npm_dir/package.json').version")"
script_sum="$(sha256sum "$0" | cut -c1-12)"
# The CAs this machine trusts: where TLS to the npm registry is intercepted, the build stage's
# `npm ci` needs them (the official image's Node carries only the public ones).
ca_bundle="${MODEL_CACHE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
ca_sum="$( [[ -f "$ca_bundle" ]] && sha256sum "$ca_bundle" | cut -c1-12 || echo none)"
key="${suite}-node${node_sum}-npm${npm_version}-ca${ca_sum}-${script_sum}"
out="$cache_dir/base-rootfs-$key.tar"
if [[ -s "$out" ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache_dir"
work="$(mktemp -d "$cache_dir/.rootfs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
if [[ -f "$ca_bundle" ]]; then
  install -D -m 0644 "$ca_bundle" "$root/usr/local/share/model-cache-e2e/ca-certificates.crt"
fi
# As the official image: group and user `node`, 1000:1000, home /home/node, shell /bin/bash.
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# Slim like the -slim image: no apt lists, docs or caches.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$out"
echo "$out"
