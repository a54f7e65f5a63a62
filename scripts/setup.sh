#!/usr/bin/env bash
# Installs what the local stack needs, only when it is missing: Debian packages (PostgreSQL 15, Mosquitto,
# libmodbus, socat), and from npm into .pdm/tools Azurite, jsmodbus (the Modbus tests'
# independent peer) and standardwebhooks (the webhook tests' independent signature verifier). Safe to run any number of times.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quiet=${1:-}
say() { [ "$quiet" = "--quiet" ] || echo "setup: $*"; }

packages=(postgresql-15 mosquitto mosquitto-clients libmodbus5 socat zip)
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

azurite_version=3.35.0
tools="$root/.pdm/tools"
if [ ! -x "$tools/node_modules/.bin/azurite" ]; then
  command -v npm >/dev/null || { echo "setup: npm is required (Node 20) to install Azurite" >&2; exit 1; }
  echo "setup: installing azurite@$azurite_version (npm, into .pdm/tools)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null
fi
jsmodbus_version=5.0.0
if ! grep -qs "\"version\": \"$jsmodbus_version\"" "$tools/node_modules/jsmodbus/package.json"; then
  command -v npm >/dev/null || { echo "setup: npm is required (Node 20) to install jsmodbus" >&2; exit 1; }
  echo "setup: installing jsmodbus@$jsmodbus_version (npm, into .pdm/tools)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "jsmodbus@$jsmodbus_version" >/dev/null
fi
standardwebhooks_version=1.1.1
if ! grep -qs "\"version\": \"$standardwebhooks_version\"" "$tools/node_modules/standardwebhooks/package.json"; then
  command -v npm >/dev/null || { echo "setup: npm is required (Node 20) to install standardwebhooks" >&2; exit 1; }
  echo "setup: installing standardwebhooks@$standardwebhooks_version (npm, into .pdm/tools)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "standardwebhooks@$standardwebhooks_version" >/dev/null
fi
say "ready (packages present, azurite, jsmodbus and standardwebhooks at .pdm/tools)"
