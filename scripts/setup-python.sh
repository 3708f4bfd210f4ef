#!/usr/bin/env bash
# Create the Python venvs that the loopback test peers run in:
#   .cache/py-uvicorn-new  <- __test__/peers/requirements-uvicorn-new.txt
#   .cache/py-uvicorn-old  <- __test__/peers/requirements-uvicorn-old.txt
#   .cache/py-proxy        <- __test__/peers/requirements-proxy.txt (proxy.py, the forward proxy)
# Idempotent: a venv is rebuilt only when its requirements file changed (or it is broken).
# Quiet on success; on failure prints pip's output and exits non-zero.
# Env: PYTHON (default python3), CLAWSOCK_PY_FORCE=1 rebuilds both venvs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
cache="$root/.cache"
mkdir -p "$cache"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off

setup_venv() {
  local name="$1" req="$2" imports="$3"
  local venv="$cache/$name"
  local stamp="$venv/.clawsock-requirements"
  local want
  want="$("$py" --version 2>&1); $(sha256sum "$req" | cut -d' ' -f1)"

  if [[ "${CLAWSOCK_PY_FORCE:-}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
     && "$venv/bin/python" -c "import $imports" >/dev/null 2>&1; then
    return 0
  fi

  rm -rf "$venv"
  local log="$cache/$name.setup.log"
  if ! { "$py" -m venv "$venv" \
         && "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"; } >"$log" 2>&1; then
    echo "setup-python.sh: creating $venv failed; log:" >&2
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
  printf '%s' "$want" >"$stamp"
}

if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup-python.sh: $py lacks venv/ensurepip (Debian: apt-get install python3-venv)" >&2
  exit 1
fi

peers='uvicorn, fastapi, websockets, wsproto'
setup_venv py-uvicorn-new "$root/__test__/peers/requirements-uvicorn-new.txt" "$peers" &
new_pid=$!
setup_venv py-uvicorn-old "$root/__test__/peers/requirements-uvicorn-old.txt" "$peers" &
old_pid=$!
setup_venv py-proxy "$root/__test__/peers/requirements-proxy.txt" proxy &
proxy_pid=$!
rc=0
wait "$new_pid" || rc=1
wait "$old_pid" || rc=1
wait "$proxy_pid" || rc=1
exit "$rc"
