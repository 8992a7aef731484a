#!/usr/bin/env python3
"""Mutation fuzzing of a live Roto server's JSON API (selection and task routes).

Each call takes a valid request body, breaks one thing in it (a field removed, replaced by a value of
another type or out of range, an extra field, a broken point, a truncated body) and checks the answer:
never a 5xx, always the envelope (`code` int, `message` string, `request_id`), and a refused call
leaves the session's state (`GET .../sessions/{id}`) or, for task creation, the task list exactly as it
was. Prints each violation and
exits 1 if there was one.

usage: fuzz_api.py BASE_URL API_KEY SESSION_ID [--seed N] [--calls N]
"""
import argparse, copy, json, random, sys, time, urllib.error, urllib.request

P = "/v1/videos/multi-elements"
WEIRD = [None, True, False, 0, -1, 1, 2**31, 2**63, -2**63, 10**30, 1.5, -0.0, 1e308, -1e-9, 0.5, 1.0000001,
         "0", "", "x" * 3000, "\u0000", "😀", "NaN", "1e400", [], {}, [1], {"a": 1}, 123456789012345678,
         [{"image": "data:image/png;base64,AAAA"}], [{"image": "iVBORw0KGgo="}], [{"image": None}], [{"img": "x"}],
         [{"image": "http://127.0.0.1/x.png"}], [{"image": "/9j/" + "A" * 100}], "http://127.0.0.1:1/cb",
         "https://[::1]/x", "<<<image_3>>> and <<<video_1>>>", "<<<image_0>>>", {"enabled": "yes"},
         {"enabled": None}, "kling-v1-6", "kling-v2", "pro", "std", "10", "5", 5, "addition", "swap", "removal",
         "REMOVAL"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base"); ap.add_argument("key"); ap.add_argument("session")
    ap.add_argument("--seed", type=int, default=1); ap.add_argument("--calls", type=int, default=500)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    def call(method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(a.base + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + a.key, "Content-Type": "application/json"})
        time.sleep(0.06)  # stay under the default rate limit (20 req/s per account)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def state(path):
        # What a refused call must leave alone: the session's points, or (task creation) the set of tasks
        # (their statuses move on by themselves).
        status, reply = call("GET", f"{P}?pageSize=500" if path == P else f"{P}/sessions/{a.session}")
        try:
            data = json.loads(reply).get("data")
        except ValueError:
            return ("unreadable", status, reply[:100])
        return sorted(t["task_id"] for t in data) if path == P and isinstance(data, list) else data

    def mutate(body):
        b = copy.deepcopy(body)
        keys = list(b)
        r = rng.random()
        if r < 0.2:
            del b[rng.choice(keys)]
        elif r < 0.3:
            b[rng.choice(["extra", "object_id", "label", "frame_index"])] = rng.choice(WEIRD)
        elif r < 0.7 or "points" not in b:
            b[rng.choice(keys)] = rng.choice(WEIRD)
        elif rng.random() < 0.7:
            rng.choice(b["points"])[rng.choice(["x", "y", "label"])] = rng.choice(WEIRD)
        else:
            b["points"] = [{"x": rng.random(), "y": rng.random()} for _ in range(rng.randint(0, 14))]
        return b

    s = a.session
    bodies = {
        f"{P}/add-selection": {"session_id": s, "frame_index": 3, "points": [{"x": 0.5, "y": 0.5}]},
        f"{P}/delete-selection": {"session_id": s, "frame_index": 3, "points": [{"x": 0.5, "y": 0.5}]},
        f"{P}/clear-selection": {"session_id": s},
        f"{P}/init-selection": {"video_id": "1"},
        P: {"session_id": s, "edit_mode": "removal", "prompt": "remove it", "duration": "5", "mode": "std",
            "external_task_id": "e", "image_list": [], "watermark_info": {"enabled": True}},
    }
    call("POST", f"{P}/add-selection", {"session_id": s, "frame_index": 1, "points": [{"x": 0.3, "y": 0.3}]})
    bad = 0
    for _ in range(a.calls):
        path, base = rng.choice(list(bodies.items()))
        body = mutate(base)
        raw = None
        if rng.random() < 0.05:
            raw = json.dumps(body).encode()
            raw = raw[:rng.randint(0, len(raw))]
        before = state(path)
        status, reply = call("POST", path, body, raw)
        try:
            env = json.loads(reply)
            ok = isinstance(env.get("code"), int) and isinstance(env.get("message"), str) and "request_id" in env
        except ValueError:
            env, ok = {}, False
        if status >= 500 or not ok:
            bad += 1
            print("BAD", status, path, json.dumps(body)[:300], reply[:300])
        elif env["code"] not in (0, 1302) and state(path) != before:
            bad += 1
            print("STATE CHANGED by a refused call", path, json.dumps(body)[:300], env["message"][:200])
    queries = ["?pageNum=0", "?pageNum=1001", "?pageSize=0", "?pageSize=501", "?pageNum=abc", "?pageSize=1e3",
               "?pageNum=-1", "?pageNum=99999999999999999999", "?pageSize=", "?pageNum=1&pageNum=2", "",
               "/", "/x", "/" + "1" * 40, "/%00", "/..%2F..", "/123456789012345678", "/-1"]
    for q in queries:
        status, reply = call("GET", P + q)
        if status >= 500:
            bad += 1
            print("BAD GET", q, status, reply[:200])
    print(f"fuzz seed {a.seed}: {a.calls + len(queries)} calls, {bad} violations")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
