#!/bin/sh
# tests/embed/install_check.sh — an installed recur is enough to build a C host: install the build
# to a temporary prefix, compile embed_host.c with pkg-config's flags alone, run it there.
# usage: install_check.sh BUILD_DIR CMAKE PKG_CONFIG CC [CFLAGS...]
set -eu
build=$1 cmake=$2 pkgconfig=$3 cc=$4
shift 4
src=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
pcfile=$(find "$prefix" -name recur-lua.pc)
libdir=$(dirname "$(dirname "$pcfile")")
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's output is meant to be split into flags
"$cc" -std=c11 -Wall "$@" -o "$prefix/host" "$src/scripts/examples/embed_host.c" \
  $("$pkgconfig" --cflags --libs recur-lua)
# The model fails unless recur.nn comes from the installed tree, not the source tree.
cat > "$prefix/model.lua" <<'LUA'
local found = package.searchpath("recur.nn", package.path)
assert(found:sub(1, #os.getenv("PREFIX")) == os.getenv("PREFIX"), "recur.nn found at " .. found)
local nn = require "recur.nn"
local model = nn.Linear(2, 1)
weight = model.weight
function train_step(x, y) return ((model(x) - y) ^ 2):mean() end
LUA
PREFIX=$prefix LD_LIBRARY_PATH=$libdir "$prefix/host" --steps 2 "$prefix/model.lua"
