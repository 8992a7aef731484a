#!/usr/bin/env bash
# Mutation fuzzing of the API on a live server (see fuzz_api.py): a 4 s 720p session, then CALLS fuzzed
# calls for each of SEEDS seeds. Exits non-zero on any 5xx, broken envelope or state changed by a refused
# call. Then concurrent.py: clicks, deletes and previews on one session at once for CONCURRENT_SECONDS
# (default 40): no 5xx, no lost update, the final preview's files served.
# Usage: run.sh /path/to/roto   (CALLS=500 SEEDS="1 2 3" by default)
set -euo pipefail
ROTO=${1:?path to the roto binary}
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
start_server "$ROTO"
trap stop_server EXIT
sid=$(new_session "$(clip h264-720p30-4s 1280x720 30 4)")
wait_proxy "$sid"
status=0
for seed in ${SEEDS:-1 2 3}; do
  python3 "$HERE/fuzz_api.py" "http://127.0.0.1:$PORT" "$KEY" "$sid" --seed "$seed" --calls "${CALLS:-500}" || status=1
done
python3 "$HERE/concurrent.py" "http://127.0.0.1:$PORT" "$KEY" "$sid" "$DATA" --seconds "${CONCURRENT_SECONDS:-40}" || status=1
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "server down after fuzzing" >&2; status=1; }
exit $status
