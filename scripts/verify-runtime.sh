#!/usr/bin/env bash
# Reproduces the Dockerfile's two stages without a container engine and tries
# the result the way an administrator would:
#
#   build stage    the files the Dockerfile copies, `npm ci` (which builds),
#                  `npm prune --omit=dev`
#   runtime stage  only node_modules, dist/, package.json and the example
#                  configuration, NODE_ENV=production
#   checks         --help, --version, check-config on a generated configuration,
#                  and one `once` against the simulator (started from the
#                  runtime copy, speaking Edukoppeling) and a mail catcher:
#                  a database is made, at least one mail arrives, the audit
#                  log verifies.
#
# The test PKI and the mail catcher come from this checkout's build/ (tooling
# is never part of the image), so run `npm run build` (or `npm test`) first.
# Any failure ends the script with a non-zero status and says which step.
#
# With --node24 both stages run on Node 24, the image's Node (scripts/node24.sh
# fetches it from the npm registry when this machine's is older), and
# better-sqlite3 is compiled against its headers, as the image's build does.
#
#   bash scripts/verify-runtime.sh [--node24] [--keep]   (--keep leaves the temp folder)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
KEEP=0
NODE24=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --node24) NODE24=1 ;;
    *) echo "verify-runtime: unknown option $arg (use --node24, --keep)" >&2; exit 64 ;;
  esac
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verzuim-runtime.XXXXXX")"
PIDS=()
STARTED=$SECONDS

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $KEEP == 1 ]]; then echo "verify-runtime: left $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { echo "verify-runtime: [$((SECONDS - STARTED))s] $*"; }
fail() {
  echo "verify-runtime: FAILED: $*" >&2
  for log in "$WORK"/*.log; do
    [[ -f "$log" ]] || continue
    echo "--- last lines of $(basename "$log")" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

# Waits up to $2 seconds for file $1 to hold a line matching $3.
wait_for() {
  local file=$1 timeout=$2 pattern=$3 i
  for ((i = 0; i < timeout * 10; i++)); do
    if [[ -f "$file" ]] && grep -q -- "$pattern" "$file"; then return 0; fi
    sleep 0.1
  done
  return 1
}

for need in "$REPO/build/tools/mail-catcher/mail-catcher.js" "$REPO/build/tools/testpki/generate.js" "$REPO/build/tools/demo/local-config.js"; do
  [[ -f "$need" ]] || fail "$need is missing: build the checkout first (npm run build)"
done

if [[ $NODE24 == 1 ]]; then
  NODE24_DIR="$(bash "$REPO/scripts/node24.sh")" || fail "no Node 24"
  # node, npm and node-gyp (for better-sqlite3) from Node 24; its headers from
  # the same package, as nodejs.org may be out of reach.
  export PATH="$NODE24_DIR/bin:$PATH"
  export npm_config_nodedir="$NODE24_DIR"
fi
step "on Node $(node --version)"

# --- build stage: exactly what the Dockerfile copies, from the files git tracks.
BUILD="$WORK/build"
mkdir -p "$BUILD"
step "copying the tracked files the Dockerfile's build stage copies"
(cd "$REPO" && git ls-files -z -- package.json package-lock.json tsconfig.json tsconfig.build.json src tools) \
  | tar -C "$REPO" --null -T - -cf - | tar -C "$BUILD" -xf -
step "npm ci (installs and builds) in $BUILD"
(cd "$BUILD" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm-ci.log" 2>&1 || fail "npm ci in the build copy"
step "npm prune --omit=dev"
(cd "$BUILD" && npm prune --omit=dev --no-audit --no-fund --loglevel=error) >"$WORK/npm-prune.log" 2>&1 || fail "npm prune --omit=dev"

# --- runtime stage: what the image holds, nothing else.
APP="$WORK/app"
mkdir -p "$APP/config"
cp -a "$BUILD/node_modules" "$BUILD/dist" "$APP/"
cp "$REPO/package.json" "$REPO/LICENSE" "$APP/"
cp "$REPO/config/verzuim-relay.example.yaml" "$APP/config/"
for dev in typescript vitest dependency-cruiser smtp-server mailparser @types/node; do
  [[ ! -e "$APP/node_modules/$dev" ]] || fail "the development dependency $dev is still in the runtime's node_modules"
done
export NODE_ENV=production
relay() { (cd "$APP" && node dist/app/cli.js "$@"); }

step "node dist/app/cli.js --help"
relay --help >"$WORK/help.out" 2>&1 || fail "--help: $(cat "$WORK/help.out")"
grep -q 'check-config' "$WORK/help.out" || fail "--help does not list the commands"
version="$(node -p "require('$REPO/package.json').version")"
[[ "$(relay --version)" == "verzuim-relay $version" ]] || fail "--version does not print $version"

# --- a test PKI, a mail catcher and the simulator, on this machine alone.
step "test PKI, mail catcher, simulator (Edukoppeling)"
PKI="$WORK/pki"
node "$REPO/certs.example/make-test-pki.mjs" --out "$PKI" --no-variants >"$WORK/pki.log" 2>&1 || fail "making the test PKI"

cat >"$WORK/sink.mjs" <<EOF
import { readFileSync } from 'node:fs';
const { startMailCatcher } = await import('$REPO/build/tools/mail-catcher/mail-catcher.js');
const catcher = await startMailCatcher({ cert: readFileSync('$PKI/server.crt'), key: readFileSync('$PKI/server.key'), dir: '$WORK/mail', port: 0 });
console.log(JSON.stringify({ event: 'sink.listening', port: catcher.port }));
process.on('SIGTERM', () => catcher.close().then(() => process.exit(0)));
EOF
node "$WORK/sink.mjs" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
(cd "$APP" && exec node dist/app/cli.js simulator --protocol edukoppeling --cert "$PKI/server.crt" --key "$PKI/server.key" \
  --client-ca "$PKI/root.pem" --port 0 --meldingen 5 --seed 3) >"$WORK/simulator.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/sink.log" 30 'sink.listening' || fail "the mail catcher did not start"
wait_for "$WORK/simulator.log" 30 'simulator.listening' || fail "the simulator did not start from the runtime copy"
smtp_port="$(node -e "for (const l of require('fs').readFileSync(process.argv[1],'utf8').split('\n')) { try { const j = JSON.parse(l); if (j.event === 'sink.listening') console.log(j.port) } catch {} }" "$WORK/sink.log")"
rod_url="$(node -e "for (const l of require('fs').readFileSync(process.argv[1],'utf8').split('\n')) { try { const j = JSON.parse(l); if (j.event === 'simulator.listening') console.log(j.url) } catch {} }" "$WORK/simulator.log")"
[[ -n "$smtp_port" && -n "$rod_url" ]] || fail "no port for the mail catcher or url for the simulator"

# The demo's own local configuration (tools/demo/local-config.ts): its paths are relative to the file,
# pki/ and data/ beside it, which is where this script made them.
CONFIG="$WORK/verzuim-relay.yaml"
mkdir -p "$WORK/data"
node --input-type=module -e "
  const { localConfig } = await import('$REPO/build/tools/demo/local-config.js');
  process.stdout.write(localConfig({ rodUrl: '$rod_url', smtpPort: $smtp_port, pageSize: 5, protocol: 'edukoppeling' }));
" >"$CONFIG" || fail "writing the configuration"
export VERZUIM_RELAY_CONFIG="$CONFIG"

step "check-config"
relay check-config >"$WORK/check-config.log" 2>&1 || fail "check-config on the generated configuration"

step "once against the simulator"
relay once >"$WORK/once.log" 2>&1 || fail "once ended with status $?"
[[ -f "$WORK/data/verzuim-relay.db" ]] || fail "once made no database"
mails=$(find "$WORK/mail" -name '*.eml' 2>/dev/null | wc -l)
((mails > 0)) || fail "once delivered no mail"
relay audit verify >"$WORK/audit.log" 2>&1 || fail "audit verify after the cycle"

step "passed on Node $(node --version): production install, --help, check-config, once (database made, $mails mail(s) delivered), audit verify in $((SECONDS - STARTED))s"
