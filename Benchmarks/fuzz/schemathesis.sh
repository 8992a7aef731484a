#!/usr/bin/env bash
# Property-based contract test of a live server against its own OpenAPI document (`roto openapi`) with
# schemathesis from PyPI, installed into a virtual environment under .build (idempotent). Every generated
# call, valid or not, must get no 5xx, a documented status code and content type, documented headers and
# a body that matches the documented schema. Half of the generated `session_id`s (path and body) are a live
# 3 s 720p session's and half of the `frame_index`es are frames it has. Left out: the slow operations
# (init-selection, preview-selection, task creation) and /metrics. Fixed seed and pinned versions, so a run
# is reproducible; exits non-zero on any failure. Further arguments go to `st run`.
# Usage: schemathesis.sh /path/to/roto [st run options…]   (MAX_EXAMPLES=100 SEED=1 by default, ~2.5 min)
set -euo pipefail
ROTO=$(realpath "${1:?path to the roto binary}"); shift
source "$(dirname "$0")/../lib.sh"
VENV=$(bash "$(dirname "$0")/../../scripts/pyvenv.sh" schemathesis-venv st schemathesis==4.32.5 hypothesis==6.170.27)

# Scratch dir: the document, the config and schemathesis' own files (it writes into its working dir).
work=$(mktemp -d)
PID="" DATA=""
trap 'stop_server; rm -rf "$work"' EXIT
"$ROTO" openapi > "$work/openapi.yaml"
start_server "$ROTO"
sid=$(new_session "$(clip h264-720p30-3s 1280x720 30 3)")
wait_proxy "$sid"
cat > "$work/schemathesis.toml" <<EOF
[dictionaries]
session = { values = ["$sid"] }
frames = { values = [0, 1, 89] }
[parameters]
"path.session_id" = { dictionary = "session", probability = 0.5 }
"body.session_id" = { dictionary = "session", probability = 0.5 }
"body.frame_index" = { dictionary = "frames", probability = 0.5 }
EOF

# 18/s stays under the server's 20 requests/s per account, so no call ends in 429; the key is a
# throwaway, so the reproducing curl commands are printed unsanitised.
status=0
start=$(date +%s)
(cd "$work" && "$VENV/bin/st" --config-file schemathesis.toml run openapi.yaml --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $KEY" --workers 1 --rate-limit 18/s --seed "${SEED:-1}" \
  --max-examples "${MAX_EXAMPLES:-100}" --generation-database none --output-sanitize false --no-color \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-operation-id initSelection --exclude-operation-id previewSelection --exclude-operation-id createTask \
  --exclude-operation-id metrics "$@") | tee "$work/st.log" || status=1
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "server down after the run" >&2; status=1; }
if [ $status -ne 0 ]; then echo "--- server log (tail)"; tail -n 20 "$DATA/log"; fi

echo "--- schemathesis: $([ $status -eq 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s," \
  "seed ${SEED:-1}, max examples ${MAX_EXAMPLES:-100}; $(grep -A1 '^Test cases:' "$work/st.log" | tail -n 1 | sed 's/^ *//')"
exit $status
