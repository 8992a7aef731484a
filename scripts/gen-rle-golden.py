#!/usr/bin/env python3
"""Generates Tests/RotoVisionTests/Fixtures/rle-golden.json: masks and their pycocotools COCO RLE.

Each case stores the mask compactly as row-major run lengths (`row_runs`: alternating 0/1 runs over the
row-major pixel order, starting with 0) together with the `counts` string that
`pycocotools.mask.encode(np.asfortranarray(mask))` produces and the mask area. The Swift tests rebuild
the mask from `row_runs`, check that encoding gives `counts` byte for byte and that decoding `counts`
gives the mask back.

Usage: python3 scripts/gen-rle-golden.py   (installs numpy and pycocotools with pip if missing)
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    from pycocotools import mask as mask_utils
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "numpy", "pycocotools"])
    import numpy as np
    from pycocotools import mask as mask_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "RotoVisionTests", "Fixtures", "rle-golden.json")


def row_runs(m):
    flat = m.reshape(-1)
    runs = []
    cur, n = 0, 0
    for v in flat.tolist():
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    return runs


def blobs(rng, h, w, k, rmax):
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), np.uint8)
    for _ in range(k):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(1, rmax), rng.uniform(1, rmax)
        m |= (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8)
    return m


def cases():
    rng = np.random.default_rng(20240607)
    out = []

    def add(name, m):
        out.append((name, np.ascontiguousarray(m.astype(np.uint8))))

    add("1x1-empty", np.zeros((1, 1)))
    add("1x1-full", np.ones((1, 1)))
    add("1x7-row", np.array([[0, 1, 1, 0, 1, 0, 1]]))
    add("5x1-col", np.array([[1], [1], [0], [1], [0]]))
    add("4x4-empty", np.zeros((4, 4)))
    add("4x4-full", np.ones((4, 4)))
    for (y, x) in [(0, 0), (0, 9), (6, 0), (6, 9)]:
        m = np.zeros((7, 10))
        m[y, x] = 1
        add(f"7x10-pixel-{y}-{x}", m)
    m = np.zeros((64, 48))
    m[::2, ::2] = 1
    m[1::2, 1::2] = 1
    add("64x48-checkerboard", m)
    m = np.zeros((40, 90))
    m[:, ::3] = 1
    add("40x90-vstripes", m)
    m = np.zeros((90, 40))
    m[::5, :] = 1
    m[1::5, :] = 1
    add("90x40-hstripes", m)
    add("33x33-noise", rng.random((33, 33)) < 0.5)
    add("17x130-noise-sparse", rng.random((17, 130)) < 0.05)
    add("100x100-rect", np.pad(np.ones((40, 30)), ((10, 50), (60, 10))))
    m = np.ones((50, 70))
    m[10:20, 10:30] = 0
    add("50x70-full-with-hole", m)
    for i, (h, w, k, r) in enumerate([(120, 160, 3, 40), (240, 320, 6, 60), (360, 640, 4, 150),
                                      (480, 854, 8, 120), (720, 1280, 5, 300), (720, 1280, 12, 90),
                                      (1280, 720, 5, 200), (300, 301, 20, 30)]):
        add(f"{h}x{w}-blobs-{i}", blobs(rng, h, w, k, r))
    add("720x1280-empty", np.zeros((720, 1280)))
    add("720x1280-full", np.ones((720, 1280)))
    m = np.zeros((720, 1280))
    m[0, :] = 1
    m[-1, :] = 1
    m[:, 0] = 1
    m[:, -1] = 1
    add("720x1280-frame", m)
    m = np.zeros((255, 255))
    for i in range(255):
        m[i, : i + 1] = 1
    add("255x255-triangle", m)
    # Long runs that need many characters, and runs that shrink (negative deltas).
    m = np.zeros((2000, 3))
    m[1999, 2] = 1
    m[5:1500, 0] = 1
    add("2000x3-long-runs", m)
    return out


def main():
    result = []
    for name, m in cases():
        rle = mask_utils.encode(np.asfortranarray(m))
        counts = rle["counts"].decode("ascii")
        back = mask_utils.decode({"size": rle["size"], "counts": rle["counts"]})
        assert (back == m).all(), name
        result.append({
            "name": name,
            "height": int(m.shape[0]),
            "width": int(m.shape[1]),
            "area": int(m.sum()),
            "row_runs": row_runs(m),
            "size": [int(v) for v in rle["size"]],
            "counts": counts,
        })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/gen-rle-golden.py", "cases": result}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(result)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
