#!/usr/bin/env bash
# scripts/test.sh — build recur twice (release, and ASan + UBSan) and run every test with ctest.
# Usage: scripts/test.sh            (the README's test command; CI runs it too)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
status=0
for kind in release sanitize; do
  dir=build; flags=(-DCMAKE_BUILD_TYPE=Release)
  if [ $kind = sanitize ]; then
    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECUR_SANITIZE=ON)
  fi
  echo "== $kind build ($dir)"
  cmake -S . -B $dir "${flags[@]}" >/dev/null
  cmake --build $dir -j"$jobs"
  ctest --test-dir $dir --output-on-failure -j"$jobs" || status=1
done
exit $status
