#!/usr/bin/env bash
# Install the built tree into a scratch prefix, build tests/consumer against it, run it.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
test -x "$work/prefix/bin/nmsim" || { echo "nmsim program was not installed"; exit 1; }
"$work/prefix/bin/nmsim" --version
"$work/build/consumer" "$work/out.h5"
test -s "$work/out.h5"
echo "consumer built and ran against the installed nmsim"
