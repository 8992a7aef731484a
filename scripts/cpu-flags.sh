#!/usr/bin/env bash
# Prints the Swift compiler flags for release builds on this machine: `-Xswiftc -target-cpu -Xswiftc
# haswell` on an x86-64 Linux CPU with Haswell's instruction set (AVX2, FMA, BMI1/2, F16C, MOVBE, LZCNT),
# nothing anywhere else or when ROTO_PORTABLE is set (a binary to copy to an older machine).
# The results are the same to the bit (Swift does not contract or reassociate floating-point arithmetic
# without being told to); the loops run on wider vectors (measured in docs/engine.md, Figures).
set -euo pipefail
[ -n "${ROTO_PORTABLE:-}" ] && exit 0
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] && [ -r /proc/cpuinfo ] || exit 0
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
for f in avx avx2 fma bmi1 bmi2 f16c movbe abm popcnt sse4_2; do
  case "$flags" in *" $f "*) ;; *) exit 0 ;; esac
done
echo "-Xswiftc -target-cpu -Xswiftc haswell"
