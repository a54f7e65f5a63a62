#!/usr/bin/env bash
# Installs what the local stack needs, only when it is missing: Debian packages (PostgreSQL 15, Mosquitto,
# libmodbus, socat, chromium for the dashboard's browser tests), and from npm into .pdm/tools Azurite, jsmodbus (the
# Modbus tests' independent peer) and standardwebhooks (the webhook tests' independent signature verifier). Safe to
# run any number of times.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quiet=${1:-}
say() { [ "$quiet" = "--quiet" ] || echo "setup: $*"; }

packages=(postgresql-15 mosquitto mosquitto-clients libmodbus5 socat zip chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: need root to install ${missing[*]} (or install them yourself)" >&2; exit 1; }
  echo "setup: installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages at pinned versions, each installed only when that version is not there yet.
tools="$root/.pdm/tools"
npm_tool() {
  local name=$1 version=$2
  grep -qs "\"version\": \"$version\"" "$tools/node_modules/$name/package.json" && return 0
  command -v npm >/dev/null || { echo "setup: npm is required (Node 20) to install $name" >&2; exit 1; }
  echo "setup: installing $name@$version (npm, into .pdm/tools)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "$name@$version" >/dev/null
}
npm_tool azurite 3.35.0
npm_tool jsmodbus 5.0.0
npm_tool standardwebhooks 1.1.1
say "ready (packages present, azurite, jsmodbus and standardwebhooks at .pdm/tools)"
