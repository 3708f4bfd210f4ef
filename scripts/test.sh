#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (npm
# devDependencies, the Python peers, Node 24 and the OpenClaw gateway in
# .cache/), builds the addon, then runs the Rust checks, the TypeScript
# typecheck and the node:test suites (on this machine's Node, then on Node 24).
#
#   npm test            everything
#   CLAWSOCK_SKIP_NODE24=1 npm test    skip the second run on Node 24
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "npm dependencies"
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Not `npm ci`: our own platform packages (optionalDependencies) are only
  # published at release time, so the lock file cannot list them.
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

step "build the addon (release)"
npx napi build --platform --release --no-js --dts native.d.ts

step "test peers: Python (FastAPI/uvicorn, proxy.py) venvs"
bash scripts/setup-python.sh

step "test peers: nftables and iproute2 (Happy Eyeballs tests)"
bash scripts/setup-netfilter.sh

if [ -f scripts/setup-openclaw.sh ]; then
  step "test peers: Node 24 and the OpenClaw gateway"
  bash scripts/setup-openclaw.sh
fi

step "Rust: fmt, clippy, unit tests"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test

step "TypeScript: a plugin-shaped file against index.d.ts (tsc --strict)"
npx tsc -p __test__/types/tsconfig.json

tests=(__test__/*.test.js __test__/peers/selftest.js)

# The first run includes the full install proof (CLAWSOCK_E2E=1): the example
# channel plugin installed into the real OpenClaw gateway (~80 s more). The
# Node 24 run keeps the reduced form (local registry, install, load, talk).
step "node:test on $(node --version), with the full OpenClaw plugin proof"
CLAWSOCK_E2E=1 node --test --test-concurrency=1 "${tests[@]}"

if [ "${CLAWSOCK_SKIP_NODE24:-}" != 1 ]; then
  node24=$(node -p "require('./__test__/harness/node-versions.js').nodeBinary(24)")
  step "node:test on Node $("$node24" --version)"
  "$node24" --test --test-concurrency=1 "${tests[@]}"
fi
