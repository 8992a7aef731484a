#!/usr/bin/env bash
# Validates the OpenAPI 3.1 document that `roto openapi` prints (and GET /openapi.yaml serves) with
# openapi-spec-validator from PyPI, installed into a virtual environment under .build (idempotent).
# Usage: scripts/check-openapi.sh ROTO_BINARY
set -euo pipefail
ROTO=$(realpath "${1:?path to the roto binary}")
cd "$(dirname "$0")/.."
VENV=$(bash scripts/pyvenv.sh openapi-venv openapi-spec-validator openapi-spec-validator==0.9.0)
doc=$(mktemp --suffix=.yaml)
trap 'rm -f "$doc"' EXIT
"$ROTO" openapi > "$doc"
"$VENV/bin/openapi-spec-validator" "$doc"
