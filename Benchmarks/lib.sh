# Shared helpers of the benchmark scripts (sourced, not run).
OUT=${BENCH_OUT:-$(pwd)/bench-out}
mkdir -p "$OUT"

# clip NAME SIZE RATE [SECONDS]: a testsrc2 H.264 clip (10 s by default; ultrafast, so normalisation
# remuxes it), cached.
clip() {
  local f="$OUT/$1.mp4"
  if [ ! -s "$f" ]; then
    echo "making $f" >&2
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$2:rate=$3" -t "${4:-10}" \
      -c:v libx264 -preset ultrafast -pix_fmt yuv420p -threads 2 "$f.part.mp4"
    mv "$f.part.mp4" "$f"
  fi
  echo "$f"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server ROTO: starts `roto serve` on a free port with a fresh data dir; sets PORT, DATA, PID, KEY.
start_server() {
  PORT=$(free_port); DATA=$(mktemp -d); KEY=bench-key
  "$1" serve --port "$PORT" --data-dir "$DATA" --api-key "$KEY" --log-level "${ROTO_BENCH_LOG_LEVEL:-warning}" >"$DATA/log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start: $(cat "$DATA/log")" >&2; return 1
}

# ROTO_BENCH_PHASES=1 (with ROTO_BENCH_LOG_LEVEL=info) prints the server's per-phase timings first.
stop_server() {
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true
  if [ -n "${ROTO_BENCH_PHASES:-}" ]; then grep 'phases=' "$DATA/log" >&2 || true; fi
  rm -rf "$DATA"
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks (all its threads, the ended
# ones included).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# peak_rss_mib PID: the process's peak resident set (VmHWM), in MiB.
peak_rss_mib() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status"; }

# upload FILE: uploads a video through the upload extension; prints its URL.
upload() {
  curl -sf -X POST "http://127.0.0.1:$PORT/v1/files" -H "Authorization: Bearer $KEY" -H 'Content-Type: video/mp4' \
    --data-binary @"$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["url"])'
}

# new_session FILE: uploads FILE and starts a selection session on it; prints the session id.
new_session() {
  local url
  url=$(upload "$1")
  api /v1/videos/multi-elements/init-selection "{\"video_url\":\"$url\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["session_id"])'
}

# wait_proxy SID: waits (up to 2 minutes) until the session's working-size proxy is ready.
wait_proxy() {
  for _ in $(seq 1200); do [ -f "$DATA/media/sessions/$1/proxy.mp4" ] && return; sleep 0.1; done
}

# api PATH JSON: POSTs to the API; prints the response body.
api() {
  curl -s -X POST "http://127.0.0.1:$PORT$1" -H "Authorization: Bearer $KEY" -d "$2"
}

# removal_task SID MODE DURATION: creates a removal task (mode std or pro, duration class "5" or "10"),
# waits for it; prints "seconds status".
removal_task() {
  # One Python process creates the task and polls it every 0.2 s: a curl and a Python start per poll
  # cost ~10 % of a core, taken from the server being measured (stop 33).
  python3 - "$PORT" "$KEY" "$1" "$2" "$3" <<'PY'
import json, sys, time, urllib.error, urllib.request
port, key, sid, mode, duration = sys.argv[1:]
def call(path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body and json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # a refusal: its envelope
        return json.load(e)
t0 = time.monotonic()
d = call("/v1/videos/multi-elements", {"session_id": sid, "edit_mode": "removal", "prompt": "remove it",
                                       "mode": mode, "duration": duration})
if d["code"] != 0:
    sys.exit(d["message"])
tid = d["data"]["task_id"]
status = ""
for _ in range(6000):
    status = call(f"/v1/videos/multi-elements/{tid}")["data"]["task_status"]
    if status in ("succeed", "failed"):
        break
    time.sleep(0.2)
print(f"{time.monotonic() - t0:.1f} {status}")
PY
}
