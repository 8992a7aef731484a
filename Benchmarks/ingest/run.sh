#!/usr/bin/env bash
# bench-ingest: init-selection wall time (download excluded: the clip is uploaded first through the
# upload extension, so init-selection reads it locally) and the server's peak RSS, for a 10 s 1080p30
# and a 10 s 2160p60 H.264 MP4. The spec caps each side at 2160 px, so "2160p60" is the largest clip the
# API accepts: 2160×2160 at 60 fps (4.7 MP a frame; 3840×2160 is refused with 1201). Two more are
# re-encoded: 10 s of HEVC 1080p30 with PCM sound (as a phone or camera records: the video re-encoded
# to H.264, the sound to AAC) and 10 s of 1080i at 29.97 frames a second (top field first, deinterlaced).
# Prints medians over RUNS calls. Usage: run.sh /path/to/roto
set -euo pipefail
ROTO=${1:?path to the roto binary}
RUNS=${RUNS:-5}
source "$(dirname "$0")/../lib.sh"

bench() { # label file
  local label=$1 file=$2
  start_server "$ROTO"
  local base_rss; base_rss=$(peak_rss_mib "$PID")
  local url; url=$(upload "$file")
  local times=()
  for _ in $(seq "$RUNS"); do
    local t; t=$(curl -s -o "$DATA/r.json" -w '%{time_total}' -X POST \
      "http://127.0.0.1:$PORT/v1/videos/multi-elements/init-selection" -H "Authorization: Bearer $KEY" \
      -d "{\"video_url\":\"$url\"}")
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]==0, d' "$DATA/r.json"
    times+=("$t")
  done
  local peak; peak=$(peak_rss_mib "$PID")
  stop_server
  python3 - "$label" "$base_rss" "$peak" "${times[@]}" <<'PY'
import statistics, sys
label, base, peak, *ts = sys.argv[1:]
ts = sorted(float(t) for t in ts)
print(f"{label:<34} init-selection median {statistics.median(ts)*1000:6.0f} ms  min {ts[0]*1000:5.0f} ms  max {ts[-1]*1000:5.0f} ms"
      f"  | server peak RSS {peak} MiB (idle {base} MiB)")
PY
}

c1080=$(clip h264-1080p30-10s 1920x1080 30)
c2160=$(clip h264-2160x2160p60-10s 2160x2160 60)
echo "bench-ingest on $(nproc) cores, $RUNS runs each (download excluded)"
bench "1080p30 10 s (remux)" "$c1080"
bench "2160x2160p60 10 s (remux)" "$c2160"
h1080="$OUT/hevc-pcm-1080p30-10s.mov"
if [ ! -s "$h1080" ]; then
  echo "making $h1080" >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" -f lavfi \
    -i "sine=frequency=440:sample_rate=48000" -t 10 -c:v libx265 -preset ultrafast -x265-params log-level=error \
    -pix_fmt yuv420p -c:a pcm_s16le -ac 2 -threads 2 "$h1080.part.mov"
  mv "$h1080.part.mov" "$h1080"
fi
bench "HEVC+PCM 1080p30 10 s (re-encode)" "$h1080"
i1080="$OUT/h264-1080i2997-10s.mp4"
if [ ! -s "$i1080" ]; then
  echo "making $i1080" >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=60000/1001" -t 10 \
    -vf "tinterlace=mode=interleave_top,setfield=tff" -c:v libx264 -preset ultrafast -flags +ildct+ilme \
    -x264opts tff=1 -pix_fmt yuv420p -threads 2 "$i1080.part.mp4"
  mv "$i1080.part.mp4" "$i1080"
fi
bench "1080i29.97 10 s (deinterlace)" "$i1080"
