#!/usr/bin/env bash
# Validates the OpenAPI 3.1 document that `roto openapi` prints (and GET /openapi.yaml serves) with
# openapi-spec-validator from PyPI, installed into a virtual environment under .build (idempotent).
# Usage: scripts/check-openapi.sh ROTO_BINARY
set -euo pipefail
ROTO=${1:?path to the roto binary}
cd "$(dirname "$0")/.."
VENV=.build/openapi-venv
if [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    echo "check-openapi: python3 -m venv failed; installing python3-venv" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install -q openapi-spec-validator==0.9.0
fi
doc=$(mktemp --suffix=.yaml)
trap 'rm -f "$doc"' EXIT
"$ROTO" openapi > "$doc"
"$VENV/bin/openapi-spec-validator" "$doc"
