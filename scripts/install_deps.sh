#!/usr/bin/env bash
# Install the Debian 12 packages nmsim needs, only those that are missing.
set -euo pipefail
packages=(build-essential cmake libhdf5-dev hdf5-tools zlib1g-dev libboost-dev libfmt-dev catch2 libtomlplusplus-dev
          python3-h5py python3-numpy python3-matplotlib)
# Brian2 is only needed for the comparison benchmarks: NMSIM_WITH_BRIAN=1 make ...
if [ "${NMSIM_WITH_BRIAN:-0}" = 1 ]; then packages+=(python3-brian); fi
# Fashion-MNIST (IDX files in /usr/share/datasets/fashion-mnist, ~30 MB) is only needed for the
# continual-learning study: NMSIM_WITH_FASHION_MNIST=1 make deps (examples/continual/README.md).
if [ "${NMSIM_WITH_FASHION_MNIST:-0}" = 1 ]; then packages+=(dataset-fashion-mnist); fi
# clang with libFuzzer and OpenMP only for the fuzz stage: NMSIM_WITH_FUZZ=1 (make fuzz).
if [ "${NMSIM_WITH_FUZZ:-0}" = 1 ]; then packages+=(clang libclang-rt-14-dev libomp-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "nmsim: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "nmsim: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
