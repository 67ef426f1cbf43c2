#!/usr/bin/python3
"""Check the closed-loop C++ example: the excitatory rate over the last 500 ms is within 1.5 Hz of
the target (10 Hz unless given), read back from its HDF5 file with h5py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from spikes import check, load_spikes  # noqa: E402


def main(path, target=10.0):
    failures = []
    t, ids, duration, status = load_spikes(path, "exc")
    print(f"closed-loop rate clamp: {path}, status {status}")
    if status != "complete":
        failures.append(f"status {status}")
    late = ((t >= duration - 500.0) & (t < duration)).sum() / 800 / 0.5
    check("exc rate over the last 500 ms (Hz)", late, target - 1.5, target + 1.5, failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "cpp_api.h5", float(sys.argv[2]) if len(sys.argv) > 2 else 10.0))
