#!/usr/bin/env bash
# Default demo of `make run`: the most complete example so far (Brunel 2000, model A, AI regime),
# run through the nmsim CLI, then its expected behaviour checked.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/out"
out="$root/out/brunel.h5"
echo "nmsim: running examples/brunel/brunel.toml (12 500 neurons, 1 s) -> $out" >&2
"$root/$build/bin/nmsim" run "$root/examples/brunel/brunel.toml" -o "$out" --force
echo
"$root/$build/bin/nmsim" info "$out"
echo
/usr/bin/python3 "$root/examples/brunel/check.py" "$out"
