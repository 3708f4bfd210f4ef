#!/usr/bin/env bash
# The demo, from a fresh clone: installs what it needs (npm devDependencies,
# the Python peer, Node 24 and the OpenClaw gateway in .cache/), builds the
# addon, then runs examples/demo.js. Extra arguments go to the demo, e.g.
#   npm run demo -- --url ws://127.0.0.1:18789 --token "$OPENCLAW_GATEWAY_TOKEN"
set -euo pipefail
cd "$(dirname "$0")/.."
quiet() { "$@" >/tmp/clawsock-demo-setup.log 2>&1 || { cat /tmp/clawsock-demo-setup.log >&2; exit 1; }; }
echo "Preparing (first run installs and builds; later runs are quick)..."
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  quiet npm install --no-save --no-audit --no-fund --loglevel=error
fi
quiet npx napi build --platform --release --no-js --dts native.d.ts
quiet bash scripts/setup-python.sh
need_gateway=1
for a in "$@"; do [ "$a" = "--url" ] && need_gateway=0; done
if [ "$need_gateway" = 1 ] && [ -f scripts/setup-openclaw.sh ]; then quiet bash scripts/setup-openclaw.sh; fi
exec node examples/demo.js "$@"
