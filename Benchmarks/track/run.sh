#!/usr/bin/env bash
# Tracking-quality benchmark (J, F, J&F) on the DAVIS 2016 dev sequences.
#
# usage: Benchmarks/track/run.sh [--bin PATH] [track-bench args: --seqs a,b --rounds N --clicks 1,3,5 --verbose]
#   --bin   the release track-bench binary (default: build it from the package in the current dir
#           with `swift build -c release --product track-bench` and the flags of scripts/cpu-flags.sh, as make does)
# DAVIS data location: $DAVIS (default ../shared/bench/davis2016-dev next to the repository).
set -euo pipefail
DAVIS="${DAVIS:-$(cd "$(dirname "$0")/../../../shared/bench/davis2016-dev" && pwd)}"
BIN=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
if [ -z "$BIN" ]; then
  # shellcheck disable=SC2046
  swift build -c release $(bash "$(dirname "$0")/../../scripts/cpu-flags.sh") --product track-bench >&2
  BIN="$(swift build -c release --show-bin-path)/track-bench"
fi
"$BIN" --davis "$DAVIS" "${EXTRA[@]+"${EXTRA[@]}"}"
