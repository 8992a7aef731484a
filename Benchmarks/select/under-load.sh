#!/usr/bin/env bash
# add-selection and file-download latency while the server is busy with long jobs, against the same
# server idle: one session gets a click per frame (proxy ready, a new frame each click) and a download
# of a preview cover after each, first with nothing else running, then while a std removal task
# (5 s 720p) and a preview (10 s 1080p30) of two other sessions run, then while the session's own
# preview is made. Prints p50 / p95 / max, and how long the removal and the previews took. Usage: under-load.sh /path/to/roto
set -euo pipefail
ROTO=${1:?path to the roto binary}
CLICKS=${CLICKS:-20}
source "$(dirname "$0")/../lib.sh"
SRC=${DAVIS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/bench/davis2016-dev}
c720=$(clip h264-720p30-5s 1280x720 30 5)
c1080=$(clip h264-1080p30-10s 1920x1080 30)
start_server "$ROTO"
trap stop_server EXIT
python3 - "$PORT" "$KEY" "$DATA" "$c720" "$c1080" "$SRC/car-roundabout/video.mp4" "$CLICKS" <<'PY'
import json, os, sys, threading, time, urllib.request
port, key, data, c720, c1080, cclick, clicks = sys.argv[1:]
base = f"http://127.0.0.1:{port}"
def call(path, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": ctype})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.load(r)
    assert out["code"] == 0, out
    return out["data"], time.perf_counter() - t
def session(clip):
    up, _ = call("/v1/files", open(clip, "rb").read(), "video/mp4")
    d, _ = call("/v1/videos/multi-elements/init-selection", json.dumps({"video_url": up["url"]}).encode())
    proxy = os.path.join(data, "media", "sessions", d["session_id"], "proxy.mp4")
    while not os.path.exists(proxy): time.sleep(0.1)
    return d["session_id"], d["total_frame"]
def select(sid, f, x=0.5):
    return call("/v1/videos/multi-elements/add-selection",
                json.dumps({"session_id": sid, "frame_index": f, "points": [{"x": x, "y": 0.55}]}).encode())[1]
def clear(sid): call("/v1/videos/multi-elements/clear-selection", json.dumps({"session_id": sid}).encode())
def preview(sid): return call("/v1/videos/multi-elements/preview-selection", json.dumps({"session_id": sid}).encode())
A, _ = session(c720); B, _ = session(c1080); C, n = session(cclick)
select(A, 0); select(B, 0); select(C, 0)
cover = preview(C)[0]["res"]["video_cover"]
frames = iter(range(1, n))
def pct(xs, p):
    xs = sorted(xs); k = (len(xs) - 1) * p; f = int(k); c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)
def measure(label, k, busy=lambda: True, marked=None, download=True):
    if marked is None: clear(C); marked = 0
    clicks, gets = [], []
    while len(clicks) < k and busy():
        if marked == 10: clear(C); marked = 0
        clicks.append(select(C, next(frames), 0.45 + 0.01 * (len(clicks) % 10))); marked += 1
        if download:
            t = time.perf_counter(); urllib.request.urlopen(cover, timeout=600).read(); gets.append(time.perf_counter() - t)
        time.sleep(0.1)
    ms = lambda xs: f"p50 {pct(xs,.5)*1000:5.0f} ms p95 {pct(xs,.95)*1000:5.0f} ms max {max(xs)*1000:5.0f} ms"
    print(f"  {label:<26} add-selection {ms(clicks)}" + (f" | file download {ms(gets)}" if gets else "") + f" (n={len(clicks)})", flush=True)
print(f"add-selection (car-roundabout 1280x720, a new frame each click) and a cover download after each")
measure("idle", int(clicks))
times = {}
def job(name, f):
    t = time.perf_counter(); f(); times[name] = time.perf_counter() - t
def removal():
    tid = call("/v1/videos/multi-elements", json.dumps({"session_id": A, "edit_mode": "removal", "prompt": "remove it"}).encode())[0]["task_id"]
    while call(f"/v1/videos/multi-elements/{tid}")[0]["task_status"] not in ("succeed", "failed"): time.sleep(0.2)
jobs = [threading.Thread(target=job, args=("removal", removal)), threading.Thread(target=job, args=("preview", lambda: preview(B)))]
for j in jobs: j.start()
time.sleep(0.3)
measure("during removal + preview", int(clicks), busy=lambda: any(j.is_alive() for j in jobs))
for j in jobs: j.join()
print(f"  meanwhile: std removal of 5 s 720p {times['removal']:.1f} s, preview of 10 s 1080p30 {times['preview']:.1f} s")
# Clicks on the session whose preview is being made (a preview reads the selection and lets the session go).
clear(C); select(C, 0)
own = threading.Thread(target=job, args=("own", lambda: preview(C)))
own.start()
time.sleep(0.2)
# (No download: the new preview deletes the cover the others fetch.)
measure("during its own preview", int(clicks), busy=own.is_alive, marked=1, download=False)
own.join()
print(f"  meanwhile: its own preview (car-roundabout) {times['own']:.1f} s")
PY
