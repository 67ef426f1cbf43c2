#!/usr/bin/env bash
# The soak check (examples/soak/README.md): minutes, not a unit test.
#   examples/soak/soak.sh [build-dir] [extra nmsim run options, e.g. --duration 60000]
set -euo pipefail
build=${1:-build}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
exec /usr/bin/python3 "$root/examples/soak/soak.py" "$root/$build/bin/nmsim" "$root/out/soak" "$@"
