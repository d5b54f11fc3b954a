#!/usr/bin/env bash
# Set up a fresh Debian machine for Eclor: the system packages the tests and the demo use, and a
# virtual environment in .venv with the project installed in editable mode with every extra.
# Safe to re-run: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package
declare -A PACKAGES=(
  [mosquitto]=mosquitto
  [mosquitto_passwd]=mosquitto
  [influxd]=influxdb
  [socat]=socat
  [mbpoll]=mbpoll
  [psql]=postgresql-client
  [chromium]=chromium
)
missing=()
for binary in "${!PACKAGES[@]}"; do
  if ! command -v "$binary" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$binary" ]; then
    missing+=("${PACKAGES[$binary]}")
  fi
done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[all,dev]'
echo "setup: done"
