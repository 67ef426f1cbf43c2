#!/usr/bin/env bash
# Run every example and check its expected behaviour (examples/*/README.md). Minutes, not a unit
# test: run by hand or before a release.   scripts/check_examples.sh [build-dir]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out"
mkdir -p "$out"
nmsim="$root/$build/bin/nmsim"
status=0
for ex in brunel coba spnet; do
  echo "== $ex"
  "$nmsim" run "$root/examples/$ex/$ex.toml" -o "$out/$ex.h5" --quiet --force
  /usr/bin/python3 "$root/examples/$ex/check.py" "$out/$ex.h5" || status=1
done
echo "== volume_transmission"
"$nmsim" run "$root/examples/volume_transmission/volume_transmission.toml" -o "$out/volume_transmission.h5" --quiet --force
/usr/bin/python3 "$root/examples/volume_transmission/check.py" "$out/volume_transmission.h5" "$out/volume_transmission.png" || status=1
echo "== go_nogo (10 seeds x 3 variants)"
/usr/bin/python3 "$root/examples/go_nogo/check.py" --bin "$nmsim" --outdir "$out/go_nogo" || status=1
echo "== cpp_api"
"$root/$build/bin/example_cpp_api" "$out/cpp_api.h5" 10 > /dev/null
/usr/bin/python3 "$root/examples/cpp_api/check.py" "$out/cpp_api.h5" 10 || status=1
exit $status
