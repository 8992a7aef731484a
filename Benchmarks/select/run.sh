#!/usr/bin/env bash
# Click → mask benchmark on the DAVIS 2016 dev sequences.
#
# usage: Benchmarks/select/run.sh [--bin PATH] [--step N] [extra select-bench args…]
#   --bin   the release select-bench binary (default: build it from the package in the current dir
#           with `swift build -c release --product select-bench` and the flags of scripts/cpu-flags.sh, as make does)
#   --step  use frames 0, N, 2N, … (default 20)
# DAVIS data location: $DAVIS (default /work/shared/bench/davis2016-dev). Frames are extracted with the
# ffmpeg CLI into a temp dir that is removed on exit.
set -euo pipefail
DAVIS="${DAVIS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/bench/davis2016-dev}"
STEP=20
BIN=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --step) STEP="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
if [ -z "$BIN" ]; then
  # shellcheck disable=SC2046
  swift build -c release $(bash "$(dirname "$0")/../../scripts/cpu-flags.sh") --product select-bench >&2
  BIN="$(swift build -c release --show-bin-path)/select-bench"
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for d in "$DAVIS"/*/; do
  seq="$(basename "$d")"
  [ -f "$d/video.mp4" ] || continue
  mkdir -p "$TMP/$seq"
  # Frames 0, STEP, 2·STEP, … as raw RGB24, concatenated (same as select=eq(n\,K) per frame, one pass).
  ffmpeg -nostdin -loglevel error -i "$d/video.mp4" -vf "select=not(mod(n\,$STEP))" -fps_mode passthrough \
    -f rawvideo -pix_fmt rgb24 "$TMP/$seq/frames.rgb"
  # The frame after each of them (the engine's motion cue, as the server reads it).
  ffmpeg -nostdin -loglevel error -i "$d/video.mp4" -vf "select=eq(mod(n\,$STEP)\,1)" -fps_mode passthrough \
    -f rawvideo -pix_fmt rgb24 "$TMP/$seq/next.rgb"
done
"$BIN" --frames "$TMP" --davis "$DAVIS" --step "$STEP" "${EXTRA[@]+"${EXTRA[@]}"}"
