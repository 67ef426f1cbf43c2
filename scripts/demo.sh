#!/usr/bin/env bash
# Default demo of `make run`: Go/No-Go with reversal, learned from reward with dopamine (RPE,
# three-factor plasticity) and noradrenaline (surprise: gain and learning rate), one seed, through
# the nmsim CLI; then where the HDF5 file went and the learning curve. The 10-seed study:
# examples/go_nogo/README.md. Brunel and the other examples: scripts/check_examples.sh.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/out"
out="$root/out/go_nogo.h5"
echo "nmsim: running examples/go_nogo/go_nogo.toml (Go/No-Go, 160 trials, reversal after 80) -> $out" >&2
"$root/$build/bin/nmsim" run "$root/examples/go_nogo/go_nogo.toml" -o "$out" --force
echo
"$root/$build/bin/nmsim" info "$out"
echo
/usr/bin/python3 "$root/examples/go_nogo/curve.py" "$out"
