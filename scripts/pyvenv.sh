#!/usr/bin/env bash
# Makes (once) a Python virtual environment .build/NAME with the given PyPI packages, and prints its path.
# Idempotent: an environment that already has bin/EXECUTABLE is left as it is. Installs python3-venv
# with apt-get when Debian's python3 lacks it.
# Usage: VENV=$(bash scripts/pyvenv.sh NAME EXECUTABLE PACKAGE==VERSION...)
set -euo pipefail
NAME=${1:?name}; EXE=${2:?executable}; shift 2
VENV=$(cd "$(dirname "$0")/.." && pwd)/.build/$NAME
if [ ! -x "$VENV/bin/$EXE" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    echo "pyvenv: python3 -m venv failed; installing python3-venv" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install -q "$@" >&2
fi
echo "$VENV"
