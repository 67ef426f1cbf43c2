#!/usr/bin/python3
"""Check a Brunel model-A run (examples/brunel/brunel.toml) against its expected behaviour:
asynchronous irregular firing (README.md in this folder gives the numbers and their origin)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from spikes import check, load_spikes, rate_and_cv, synchrony  # noqa: E402


def main(path):
    failures = []
    print(f"Brunel model A, g = 5, eta = 2: {path}")
    for pop, n in (("exc", 10000), ("inh", 2500)):
        t, ids, duration, status = load_spikes(path, pop)
        if status != "complete":
            failures.append(f"status {status}")
        rate, cv, n_cv = rate_and_cv(t, ids, n, 100.0, duration)
        print(f" {pop}: {len(t)} spikes, CV over {n_cv} neurons")
        check(f"{pop} mean rate (Hz)", rate, 30.0, 46.0, failures)
        check(f"{pop} mean CV of ISIs", cv, 0.25, 0.7, failures)
        check(f"{pop} population Fano factor (1 ms)", synchrony(t, n, 100.0, duration), 1.0, 400.0, failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "brunel.h5"))
