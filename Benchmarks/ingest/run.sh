#!/usr/bin/env bash
# bench-ingest: init-selection wall time (download excluded: the clip is uploaded first through the
# upload extension, so init-selection reads it locally) and the server's peak RSS, for a 10 s 1080p30
# and a 10 s 2160p60 H.264 MP4. The spec caps each side at 2160 px, so "2160p60" is the largest clip the
# API accepts: 2160×2160 at 60 fps (4.7 MP a frame; 3840×2160 is refused with 1201).
# Prints medians over RUNS calls. Usage: run.sh /path/to/roto
set -euo pipefail
ROTO=${1:?path to the roto binary}
RUNS=${RUNS:-5}
OUT=${BENCH_OUT:-$(pwd)/bench-out}
mkdir -p "$OUT"

clip() { # name size rate
  local f="$OUT/$1.mp4"
  if [ ! -s "$f" ]; then
    echo "making $f" >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$2:rate=$3" -t 10 \
      -c:v libx264 -preset ultrafast -pix_fmt yuv420p -threads 2 "$f.part.mp4"
    mv "$f.part.mp4" "$f"
  fi
  echo "$f"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench() { # label file
  local label=$1 file=$2 port data pid key=bench-key
  port=$(free_port); data=$(mktemp -d)
  "$ROTO" serve --port "$port" --data-dir "$data" --api-key "$key" --log-level warning >"$data/log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  local base_rss; base_rss=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  local url; url=$(curl -sf -X POST "http://127.0.0.1:$port/v1/files" -H "Authorization: Bearer $key" \
      -H 'Content-Type: video/mp4' --data-binary @"$file" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["url"])')
  local times=()
  for _ in $(seq "$RUNS"); do
    local t; t=$(curl -s -o "$data/r.json" -w '%{time_total}' -X POST \
      "http://127.0.0.1:$port/v1/videos/multi-elements/init-selection" -H "Authorization: Bearer $key" \
      -d "{\"video_url\":\"$url\"}")
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]==0, d' "$data/r.json"
    times+=("$t")
  done
  local peak; peak=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$label" "$base_rss" "$peak" "${times[@]}" <<'PY'
import statistics, sys
label, base, peak, *ts = sys.argv[1:]
ts = sorted(float(t) for t in ts)
print(f"{label:<22} init-selection median {statistics.median(ts)*1000:7.0f} ms  min {ts[0]*1000:6.0f} ms  max {ts[-1]*1000:6.0f} ms"
      f"  | server peak RSS {int(peak)/1024:6.0f} MiB (idle {int(base)/1024:.0f} MiB)")
PY
  rm -rf "$data"
}

c1080=$(clip h264-1080p30-10s 1920x1080 30)
c2160=$(clip h264-2160x2160p60-10s 2160x2160 60)
echo "bench-ingest on $(nproc) cores, $RUNS runs each (download excluded)"
bench "1080p30 10 s (remux)" "$c1080"
bench "2160x2160p60 10 s (remux)" "$c2160"
