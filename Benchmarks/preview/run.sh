#!/usr/bin/env bash
# preview-selection speed: wall time of one preview (clicks on frame 0, proxy ready) for a 10 s
# 1080p30 and a 10 s 2160×2160 60 fps clip (testsrc2, one click; the 1080p30 clip also with three objects,
# one click each), and for a 10 s 1080p30 clip of real
# video (davis2016-dev's cows, forwards, backwards and forwards again at 30 fps, upscaled; its first 3
# clicks of clicks.json, then the same clicks also on frame 200: two anchors) when $DAVIS (default
# ../shared/bench/davis2016-dev) has it; its ratio to a plain
# ffmpeg render of the same clip (`ffmpeg -i clip -vf scale=1280:-2 -c:v libx264 -preset ultrafast -f
# mp4 out.mp4`, no tracking at all) timed in the same run, and the server's peak RSS. Each clip is
# rendered and previewed REPEAT times (default 3), interleaved; medians, their ratio, and the ranges.
# Also the server's CPU time (user + system, all threads) during each preview: the work done, whatever
# its spread over the cores (it still moves with a shared machine's slow and fast spells).
# THINK=S waits S seconds between the click and the preview-selection call, as a person looking at the
# mask would: the server makes the preview ahead meanwhile (`--preview-ahead`, 1 s by default), and the
# wall time printed is the wait that is left; the CPU time is then only what the call itself took.
# Usage: [REPEAT=N] [THINK=S] run.sh /path/to/roto
set -euo pipefail
ROTO=${1:?path to the roto binary}
source "$(dirname "$0")/../lib.sh"
REPEAT=${REPEAT:-3}
THINK=${THINK:-0}
DAVIS="${DAVIS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/bench/davis2016-dev}"

bench() { # label file [points JSON] [a second frame marked with the same points] [more objects on frame 0]
  # (the last: a JSON list of {"object_id", "points"}, each added after the first object)
  local label=$1 file=$2 points=${3:-'[{"x":0.5,"y":0.5}]'} second=${4:-} more=${5:-[]}
  local t0 t1 c0 c1 plain=() previews=() cpu=() i
  # REPEAT runs of each, interleaved (render, preview, render, …), so a slow or fast spell of the
  # machine falls on both; the medians are reported, with the ranges.
  start_server "$ROTO"
  local sid
  sid=$(new_session "$file")
  wait_proxy "$sid"
  for i in $(seq "$REPEAT"); do
    t0=$(date +%s.%N)
    ffmpeg -hide_banner -loglevel error -y -i "$file" -vf scale=1280:-2 -c:v libx264 -preset ultrafast -f mp4 "$OUT/plain.mp4"
    t1=$(date +%s.%N); plain+=("$(python3 -c "print($t1-$t0)")")
    # A new selection version each time (clear, then the same points), so no preview comes from cache.
    api /v1/videos/multi-elements/clear-selection "{\"session_id\":\"$sid\"}" >/dev/null
    api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":0,\"points\":$points}" >/dev/null
    if [ -n "$second" ]; then
      api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":$second,\"points\":$points}" >/dev/null
    fi
    local object
    while read -r object; do
      [ -z "$object" ] || api /v1/videos/multi-elements/add-selection "{\"session_id\":\"$sid\",\"frame_index\":0,$object}" >/dev/null
    done < <(python3 -c 'import json,sys; [print(json.dumps(o)[1:-1]) for o in json.loads(sys.argv[1])]' "$more")
    sleep "$THINK"
    c0=$(cpu_ticks "$PID"); t0=$(date +%s.%N)
    api /v1/videos/multi-elements/preview-selection "{\"session_id\":\"$sid\"}" > "$DATA/p.json"
    t1=$(date +%s.%N); c1=$(cpu_ticks "$PID"); previews+=("$(python3 -c "print($t1-$t0)")")
    cpu+=("$(python3 -c "import os; print(($c1-$c0)/os.sysconf('SC_CLK_TCK'))")")
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]==0, d' "$DATA/p.json"
  done
  local cached0 cached1
  cached0=$(date +%s.%N); api /v1/videos/multi-elements/preview-selection "{\"session_id\":\"$sid\"}" >/dev/null; cached1=$(date +%s.%N)
  local peak; peak=$(peak_rss_mib "$PID")
  stop_server
  python3 - "$label" "${previews[*]}" "${plain[*]}" "$cached0" "$cached1" "$peak" "${cpu[*]}" <<'PY'
import statistics, sys
label, previews, plain, c0, c1, peak, cpu = sys.argv[1:]
p = [float(v) for v in previews.split()]; f = [float(v) for v in plain.split()]
c = [float(v) for v in cpu.split()]
pm, fm = statistics.median(p), statistics.median(f)
spread = lambda v: f" ({min(v):.2f}–{max(v):.2f})" if len(v) > 1 else ""
ratios = sorted(a / b for a, b in zip(p, f))
print(f"{label:<22} preview {pm:6.2f} s{spread(p)} | plain ffmpeg render {fm:5.2f} s{spread(f)} | ratio {pm/fm:4.2f}x"
      f" (pairs {ratios[0]:.2f}–{ratios[-1]:.2f}x) | cached preview {(float(c1)-float(c0))*1000:4.0f} ms"
      f" | server CPU {statistics.median(c):5.2f} s{spread(c)} | server peak RSS {peak} MiB | n={len(p)}")
PY
}

echo "bench-preview on $(nproc) cores$([ "$THINK" = 0 ] || echo ", $THINK s between the click and the preview call")"
bench "1080p30 10 s" "$(clip h264-1080p30-10s 1920x1080 30)"
# Three objects (the object_id extension): two more clicks, each its own object.
bench "1080p30, three objects" "$(clip h264-1080p30-10s 1920x1080 30)" '[{"x":0.5,"y":0.5}]' "" \
  '[{"object_id":1,"points":[{"x":0.2,"y":0.3}]},{"object_id":2,"points":[{"x":0.8,"y":0.7}]}]'
bench "2160x2160p60 10 s" "$(clip h264-2160x2160p60-10s 2160x2160 60)"
if [ -f "$DAVIS/cows/video.mp4" ]; then
  real="$OUT/cows-1080p30-10s.mp4"
  if [ ! -s "$real" ]; then
    ffmpeg -hide_banner -loglevel error -y -i "$DAVIS/cows/video.mp4" -filter_complex \
      "[0:v]split=3[a][b][c];[b]reverse[r];[a][r][c]concat=n=3:v=1:a=0,setpts=N/30/TB,scale=1920:1080,trim=end_frame=300[v]" \
      -map "[v]" -r 30 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -threads 2 "$real.part.mp4"
    mv "$real.part.mp4" "$real"
  fi
  cows=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["clicks"][:3]))' "$DAVIS/cows/clicks.json")
  bench "cows 1080p30 10 s" "$real" "$cows"
  # Two marked frames (the same clicks on frame 200, the cow a little off them there): the clip between
  # is walked from both anchors and blended, the rest forwards from frame 200.
  bench "cows, frames 0 + 200" "$real" "$cows" 200
fi
