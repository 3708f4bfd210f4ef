#!/usr/bin/env bash
# Builds a Linux addon with cargo-zigbuild (zig from PyPI `ziglang`, cargo-zigbuild from PyPI
# `cargo-zigbuild`, both into the venv .cache/zig/). glibc targets are linked against an old
# glibc baseline (default 2.17, CentOS 7 era), so the binary loads on old distributions too.
# Then scripts/release/check-glibc.js prints the size and the highest GLIBC_ symbol it needs
# (and fails if that is newer than the baseline).
#
#   bash scripts/release/build-zig.sh                       # x86_64-unknown-linux-gnu, glibc 2.17
#   TARGET=aarch64-unknown-linux-musl bash scripts/release/build-zig.sh
#   GLIBC=2.28 bash scripts/release/build-zig.sh            # another baseline
#   OUT=. bash scripts/release/build-zig.sh                 # replace the local build in the repo root
#
# Output: $OUT/clawsock.<platform>.node (default OUT: .cache/zig-out). It uses its own target
# dir (.cache/zig-target), so it never invalidates target/. A cold release build (LTO,
# codegen-units=1) takes ~6-8 minutes on 2 cores; that is why `npm test` does not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${CLAWSOCK_CACHE_DIR:-$ROOT/.cache}"
TARGET="${TARGET:-x86_64-unknown-linux-gnu}"
GLIBC="${GLIBC:-2.17}"
OUT="${OUT:-$CACHE/zig-out}"
VENV="$CACHE/zig"
if [ ! -x "$VENV/bin/cargo-zigbuild" ] || ! "$VENV/bin/python" -m ziglang version >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "ziglang${ZIGLANG_PIN:+==$ZIGLANG_PIN}" cargo-zigbuild
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET"
suffix="$(node -p "require('./scripts/release/targets.js').TABLE[process.argv[1]].suffix" "$TARGET")"
zigtarget="$TARGET"
case "$TARGET" in *-linux-gnu) zigtarget="$TARGET.$GLIBC" ;; esac
cargo zigbuild --release --lib --target "$zigtarget" --target-dir "$CACHE/zig-target"
mkdir -p "$OUT"
cp "$CACHE/zig-target/$TARGET/release/libclawsock.so" "$OUT/clawsock.$suffix.node"
case "$TARGET" in
  *-linux-gnu) node scripts/release/check-glibc.js "$OUT/clawsock.$suffix.node" --max "$GLIBC" ;;
  *) node scripts/release/check-glibc.js "$OUT/clawsock.$suffix.node" ;;
esac
