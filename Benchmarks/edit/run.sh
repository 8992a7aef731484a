#!/usr/bin/env bash
# Edit tasks: wall time of a removal task (std and pro) from creation to `succeed`, for a 5 s 720p30
# and a 10 s 1080p30 clip (one click on frame 0), before and after a preview of the selection (whose
# tracking the task then takes), with the server's peak RSS; a std removal created 12 s after the click
# with no preview call (THINK=S to change the wait; the preview made ahead meanwhile); a kill -9 in the middle of
# a task (no task lost or duplicated); then, when the edit-bench
# binary is given, removal quality (PSNR/SSIM inside the hole) on davis2016-dev.
# Usage: run.sh ROTO [EDIT_BENCH [ARGS...]]   (BENCH_EDIT_QUICK=1: the 720p timing only)
set -euo pipefail
ROTO=${1:?path to the roto binary}
EDIT_BENCH=${2:-}
source "$(dirname "$0")/../lib.sh"
# No preview made ahead: one started between two measured tasks would take the cores from the second.
export ROTO_PREVIEW_AHEAD=${ROTO_PREVIEW_AHEAD:-0}


bench() { # label file duration-class
  local label=$1 file=$2 duration=$3
  start_server "$ROTO"
  local sid
  sid=$(new_session "$file")
  api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":0,\"points\":[{\"x\":0.5,\"y\":0.5}]}" >/dev/null
  local std pro std2 pro2 peak
  std=$(removal_task "$sid" std "$duration")
  pro=$(removal_task "$sid" pro "$duration")
  # The same tasks once the selection has been previewed: they take the preview's tracking.
  api /v1/videos/multi-elements/preview-selection "{\"session_id\":\"$sid\"}" >/dev/null
  std2=$(removal_task "$sid" std "$duration")
  pro2=$(removal_task "$sid" pro "$duration")
  peak=$(peak_rss_mib "$PID")
  grep -h "task succeeded" "$DATA/log" | sed 's/^/    /' || true
  stop_server
  printf '%-16s removal std %-16s | pro %-16s | after a preview: std %-16s | pro %-16s | server peak RSS %s MiB\n' \
    "$label" "${std/ / s }" "${pro/ / s }" "${std2/ / s }" "${pro2/ / s }" "$peak"
}

# crash_check ROTO FILE: three removal tasks queued, the server killed with SIGKILL while the first is
# processing, restarted on the same data directory and port; prints how many tasks exist and succeeded.
crash_check() {
  local roto=$1 file=$2 sid ids=() status
  start_server "$roto"
  sid=$(new_session "$file")
  api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":0,\"points\":[{\"x\":0.5,\"y\":0.5}]}" >/dev/null
  for k in 1 2 3; do
    ids+=("$(api /v1/videos/multi-elements "{\"session_id\":\"$sid\",\"edit_mode\":\"removal\",\"prompt\":\"remove it\",\"external_task_id\":\"crash-$k\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["task_id"])')")
  done
  for _ in $(seq 600); do
    status=$(curl -s "http://127.0.0.1:$PORT/v1/videos/multi-elements/${ids[0]}" -H "Authorization: Bearer $KEY" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["task_status"])')
    [ "$status" = processing ] && break
    sleep 0.1
  done
  sleep 1
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true
  echo "    killed -9 with task 1 $status"
  "$roto" serve --port "$PORT" --data-dir "$DATA" --api-key "$KEY" --log-level warning >>"$DATA/log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  for _ in $(seq 3000); do
    status=$(curl -s "http://127.0.0.1:$PORT/v1/videos/multi-elements?pageSize=50" -H "Authorization: Bearer $KEY" \
      | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d), sum(t["task_status"]=="succeed" for t in d), sum(t["task_status"] in ("submitted","processing") for t in d), len({t["task_id"] for t in d}))')
    [ "$(echo "$status" | cut -d" " -f3)" = 0 ] && break
    sleep 0.2
  done
  stop_server
  read -r total ok open distinct <<<"$status"
  printf 'kill -9 during a removal: %s tasks after the restart (%s distinct ids, %s succeeded, %s unfinished); 3 were created\n' \
    "$total" "$distinct" "$ok" "$open"
}

# after_a_look LABEL FILE DURATION: a std removal created THINK seconds (default 12) after the click with
# no preview-selection call, with previews made ahead on (after 1 s): the task takes the tracking of the
# preview made meanwhile. Prints its time and where the task's objects came from.
after_a_look() {
  local label=$1 file=$2 duration=$3 sid t
  ROTO_PREVIEW_AHEAD=1 start_server "$ROTO"
  sid=$(new_session "$file")
  wait_proxy "$sid"
  api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":0,\"points\":[{\"x\":0.5,\"y\":0.5}]}" >/dev/null
  sleep "${THINK:-12}"
  t=$(removal_task "$sid" std "$duration")
  local source
  source=$(curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^roto_task_tracking_total{source="\([a-z]*\)"} 1$/\1/p')
  stop_server
  printf '%-16s removal std created %s s after the click, no preview call: %s (objects from: %s)\n' \
    "$label" "${THINK:-12}" "${t/ / s }" "${source:-?}"
}

export ROTO_BENCH_LOG_LEVEL=info
echo "bench-edit on $(nproc) cores"
bench "720p30 5 s" "$(clip h264-720p30-5s 1280x720 30 5)" 5
after_a_look "720p30 5 s" "$(clip h264-720p30-5s 1280x720 30 5)" 5
[ -n "${BENCH_EDIT_QUICK:-}" ] && exit 0
bench "1080p30 10 s" "$(clip h264-1080p30-10s 1920x1080 30)" 10
crash_check "$ROTO" "$(clip h264-720p30-5s 1280x720 30 5)"

if [ -n "$EDIT_BENCH" ]; then
  shift 2
  "$EDIT_BENCH" "$@"
fi
