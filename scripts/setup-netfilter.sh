#!/usr/bin/env bash
# Installs what the Happy Eyeballs tests need to blackhole one address family
# on a private loopback: `ip` (iproute2) and `nft` (nftables), from Debian.
# Only as root (the tests skip themselves otherwise); quiet when both are there.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "setup-netfilter.sh: not root; the Happy Eyeballs tests will be skipped" >&2
  exit 0
fi
missing=()
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-netfilter.sh: please install ${missing[*]} (no apt-get here)" >&2
  exit 1
fi
log=$(mktemp)
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  echo "setup-netfilter.sh: installing ${missing[*]} failed; log:" >&2
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
