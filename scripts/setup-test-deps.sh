#!/usr/bin/env bash
# Installs what the test suite needs from Debian, beyond what `npm ci` provides:
#   chromium      the browser tests drive through playwright-core, which never downloads one of its
#                 own (at $EDGEFL_CHROMIUM if set, else /usr/bin/chromium)
#   python3-onnx  the official ONNX checker the tests run (through $EDGEFL_PYTHON if set, else
#                 /usr/bin/python3)
# `npm test` runs it first; run it by hand as root (or through sudo) when npm test says so.
# Safe to run again: when everything is usable it changes nothing and uses no network, and it runs
# `apt-get update` only when something has to be installed.
#
#   bash scripts/setup-test-deps.sh [--check] [PACKAGE...]
#
# PACKAGE narrows what is needed (default: both). --check installs nothing: it prints the packages
# that are not usable, one line, and exits 1 if there are any.
set -euo pipefail

check_only=false
if [ "${1:-}" = "--check" ]; then
  check_only=true
  shift
fi
packages=("$@")
if [ "${#packages[@]}" -eq 0 ]; then packages=(chromium python3-onnx); fi

log() { echo "setup-test-deps: $*"; }

# Each check is what the tests themselves rely on, not merely what dpkg records.
usable() {
  case "$1" in
    chromium) "${EDGEFL_CHROMIUM:-/usr/bin/chromium}" --version >/dev/null 2>&1 ;;
    python3-onnx) "${EDGEFL_PYTHON:-/usr/bin/python3}" -c 'import onnx' >/dev/null 2>&1 ;;
    *)
      log "no check for package $1" >&2
      return 1
      ;;
  esac
}

missing=()
for package in "${packages[@]}"; do
  if ! usable "$package"; then missing+=("$package"); fi
done

if [ "$check_only" = true ]; then
  if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
  echo "${missing[*]}"
  exit 1
fi

if [ "${#missing[@]}" -eq 0 ]; then
  log "${packages[*]}: already usable"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "missing ${missing[*]}, and this is not a Debian-like system with apt-get: install them by hand"
  exit 1
fi

# apt-get needs root; a regular user goes through sudo.
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    log "installing ${missing[*]} needs root: run this script as root (sudo is not available)"
    exit 1
  fi
  sudo=(sudo)
fi

log "installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
# Recommends are left out: the headless browser and the checker need none of them.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

for package in "${missing[@]}"; do
  if ! usable "$package"; then
    log "$package was installed but is still not usable; see the apt-get output above"
    exit 1
  fi
  log "$package installed"
done
