"""Concurrent calls on one session: three clickers add points on up to 10 frames, one deleter removes
points it knows were added, and two previewers ask for previews, all at once for SECONDS. Fails (exit 1)
on any 5xx or reply without the envelope, any refusal other than 1201 (a frame already holds 10 points,
or a point deleted twice), a stored selection that differs from the points the accepted calls leave
(a lost update), or a final preview whose files cannot be downloaded. It also prints how many preview
files the session's folder holds at the end (four a preview: its three files and its tracked labels;
up to four previews are kept, plus those of a preview of an older selection that ended after a newer
one: kept for the call that asked for it, deleted with the session).

usage: concurrent.py BASE KEY SESSION_ID DATA_DIR [--seconds 40] [--seed 1]
"""
import argparse, json, os, random, sys, threading, time, urllib.error, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("base"); ap.add_argument("key"); ap.add_argument("session"); ap.add_argument("data")
ap.add_argument("--seconds", type=float, default=40); ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()


def call(path, body=None, method=None):
    req = urllib.request.Request(a.base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {a.key}", "Content-Type": "application/json"},
                                 method=method)
    while True:
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            try:
                out = json.load(e)
            except ValueError:
                return e.code, {}
            if e.code == 429:  # the account's rate limit: wait and ask again
                time.sleep(1)
                continue
            return e.code, out


sid = a.session
status, state = call(f"/v1/videos/multi-elements/sessions/{sid}", method="GET")
total = state["data"]["total_frame"]
frames = list(range(0, total, max(1, total // 10)))[:10]
call("/v1/videos/multi-elements/clear-selection", {"session_id": sid})
lock = threading.Lock()
points = set()  # (frame, x, y) the accepted calls leave
violations = []
urls = set()
stop = time.time() + a.seconds


def check(what, status, reply):
    if status >= 500 or not isinstance(reply, dict) or "code" not in reply or "request_id" not in reply:
        violations.append(f"{what}: HTTP {status} {str(reply)[:200]}")
        return None
    if reply["code"] not in (0, 1201):
        violations.append(f"{what}: code {reply['code']} {reply.get('message')}")
    return reply["code"]


def clicker(seed):
    rnd = random.Random(seed)
    while time.time() < stop:
        f = rnd.choice(frames)
        x, y = round(rnd.uniform(0.3, 0.7), 4), round(rnd.uniform(0.3, 0.7), 4)
        # Adds of distinct points and deletes of points already added commute: the expected set does
        # not depend on the order the server runs them in.
        s, r = call("/v1/videos/multi-elements/add-selection",
                    {"session_id": sid, "frame_index": f, "points": [{"x": x, "y": y}]})
        with lock:
            if check("add", s, r) == 0:
                points.add((f, x, y))
        time.sleep(0.2)


def deleter(seed):
    rnd = random.Random(seed)
    while time.time() < stop:
        with lock:
            pick = rnd.choice(sorted(points)) if points else None
        if pick:
            f, x, y = pick
            s, r = call("/v1/videos/multi-elements/delete-selection",
                        {"session_id": sid, "frame_index": f, "points": [{"x": x, "y": y}]})
            with lock:
                if check("delete", s, r) == 0:
                    points.discard(pick)
        time.sleep(0.3)


def previewer():
    while time.time() < stop:
        s, r = call("/v1/videos/multi-elements/preview-selection", {"session_id": sid})
        code = check("preview", s, r)
        if code == 0:
            with lock:
                urls.update(r["data"]["res"].values())
        time.sleep(0.05)


threads = [threading.Thread(target=clicker, args=(a.seed * 10 + i,)) for i in range(3)]
threads += [threading.Thread(target=deleter, args=(a.seed * 10 + 9,))]
threads += [threading.Thread(target=previewer) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()

status, state = call(f"/v1/videos/multi-elements/sessions/{sid}", method="GET")
stored = set()
for fr in state["data"]["frames"]:
    for o in fr["objects"]:
        for p in o["points"]:
            stored.add((fr["frame_index"], p["x"], p["y"]))
if stored != points:
    violations.append(f"selection: stored {len(stored)} points, the accepted calls leave {len(points)}")
previews = 0
if points:
    s, r = call("/v1/videos/multi-elements/preview-selection", {"session_id": sid})
    if check("final preview", s, r) == 0:
        for u in r["data"]["res"].values():
            with urllib.request.urlopen(u, timeout=600) as f:
                if not f.read():
                    violations.append(f"final preview: {u} is empty")
        urls.update(r["data"]["res"].values())
folder = os.path.join(a.data, "media", "sessions", sid)
files = [f for f in os.listdir(folder) if f.startswith("preview-")]
with lock:
    answered = len(urls)
print(f"concurrent calls on one session for {a.seconds:.0f} s: {len(points)} points at the end, "
      f"{answered} preview files answered, {len(files)} in the session's folder, {len(violations)} violations")
for v in violations[:20]:
    print("  " + v)
sys.exit(1 if violations else 0)
