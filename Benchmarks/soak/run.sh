#!/usr/bin/env bash
# Soak: one server, one session on a 5 s 720p30 clip of real video (davis2016-dev's cows), CYCLES
# cycles of clear-selection → add-selection (a point that moves, so no preview is served from cache) →
# preview-selection, and a std removal task every TASK_EVERY cycles, waited for. After each cycle it
# prints the server's resident memory, its data directory's size, its open descriptors and threads, and
# the preview's wall time: memory that climbs from cycle to cycle, or files, descriptors or threads that
# pile up, would show here. Then it leaves the server idle for IDLE seconds and prints its resident
# memory again (an idle server returns what its last preview freed, after 10–20 s).
# Usage: run.sh /path/to/roto
# env: CYCLES (default 13, so the last cycle is a preview), TASK_EVERY (default 4), IDLE (default 25), DAVIS
set -euo pipefail
ROTO=${1:?path to the roto binary}
CYCLES=${CYCLES:-13}
TASK_EVERY=${TASK_EVERY:-4}
IDLE=${IDLE:-25}
source "$(dirname "$0")/../lib.sh"
DAVIS="${DAVIS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/bench/davis2016-dev}"
[ -f "$DAVIS/cows/video.mp4" ] || { echo "no $DAVIS/cows/video.mp4" >&2; exit 1; }
clip="$OUT/cows-720p30-5s.mp4"
if [ ! -s "$clip" ]; then
  ffmpeg -hide_banner -loglevel error -y -i "$DAVIS/cows/video.mp4" \
    -vf "setpts=N/30/TB,scale=1280:720,trim=end_frame=150" -r 30 -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p -threads 2 "$clip.part.mp4"
  mv "$clip.part.mp4" "$clip"
fi
start_server "$ROTO"
trap stop_server EXIT
sid=$(new_session "$clip")
wait_proxy "$sid"
ok() { python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["code"]==0, d'; }
rss_mib() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$PID/status"; }
echo "soak on $(nproc) cores: server RSS after start $(rss_mib) MiB"
printf '%-6s %9s %10s %9s %4s %8s  %s\n' cycle "RSS MiB" "data MiB" "preview" fds threads task
for i in $(seq 1 "$CYCLES"); do
  x=$(python3 -c "print(0.45 + 0.01 * ($i % 5))")
  api /v1/videos/multi-elements/clear-selection "{\"session_id\":\"$sid\"}" | ok
  api /v1/videos/multi-elements/add-selection \
    "{\"session_id\":\"$sid\",\"frame_index\":0,\"points\":[{\"x\":$x,\"y\":0.5}]}" | ok
  t0=$(date +%s.%N)
  api /v1/videos/multi-elements/preview-selection "{\"session_id\":\"$sid\"}" | ok
  t1=$(date +%s.%N)
  task=""
  if [ $((i % TASK_EVERY)) -eq 0 ]; then
    task="removal $(removal_task "$sid" std 5 | cut -d' ' -f2)"
  fi
  printf '%-6s %9s %10s %8.2fs %4s %8s  %s\n' "$i" "$(rss_mib)" "$(du -sm "$DATA" | cut -f1)" \
    "$(python3 -c "print($t1 - $t0)")" "$(ls "/proc/$PID/fd" | wc -l)" "$(ls "/proc/$PID/task" | wc -l)" "$task"
done
echo "server peak RSS $(peak_rss_mib "$PID") MiB"
sleep 5
echo "server RSS after 5 s idle $(rss_mib) MiB"
sleep "$((IDLE > 5 ? IDLE - 5 : 0))"
echo "server RSS after $IDLE s idle $(rss_mib) MiB"
