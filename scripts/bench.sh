#!/usr/bin/env bash
# Side-by-side benchmarks (not part of the tests): clawsock vs ws@8 vs Node's
# global WebSocket (Node 24 and 22) against a fast Rust peer, with a raw Rust
# client as the ceiling. See docs/notes/bench.md.
#
#   npm run bench                     full run (5 runs per scenario, ~6-8 min on 2 cores)
#   npm run bench -- --quick          smaller sizes, 2 runs (~1 min): a smoke test
#   npm run bench -- --runs 7 --only recv-small,rtt
#   CLAWSOCK_BENCH_BUILD=1 npm run bench   rebuild the addon (release) first
#
# Writes bench/results/latest.json, latest.md and ratios.svg.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "bench dependencies (bench/node_modules)"
if [ ! -d bench/node_modules/ws ] || [ ! -d bench/node_modules/@openclaw/gateway-client ]; then
  if [ -f bench/package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd bench && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

if [ "${CLAWSOCK_BENCH_BUILD:-0}" = 1 ] || ! ls clawsock.*.node >/dev/null 2>&1; then
  step "build the addon (release)"
  npx napi build --platform --release --no-js --dts native.d.ts
fi

step "bench peer (bench/server, target dir bench/target)"
CARGO_TARGET_DIR=bench/target cargo build --release --quiet --manifest-path bench/server/Cargo.toml

step "Node 24 and 22 (.cache/)"
N24=$(node -p "require('./__test__/harness/node-versions.js').nodeBinary(24)")
node -p "require('./__test__/harness/node-versions.js').nodeBinary(22)" >/dev/null

step "run (machine load now: $(cut -d' ' -f1-3 /proc/loadavg))"
cd bench
exec "$N24" run.js "$@"
