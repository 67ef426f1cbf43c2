#!/usr/bin/python3
"""Check a COBA run (examples/coba/coba.toml): self-sustained asynchronous irregular activity."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from spikes import check, load_spikes, rate_and_cv, synchrony  # noqa: E402


def main(path):
    failures = []
    print(f"Vogels-Abbott COBA: {path}")
    for pop, n in (("exc", 3200), ("inh", 800)):
        t, ids, duration, status = load_spikes(path, pop)
        if status != "complete":
            failures.append(f"status {status}")
        # After the 50 ms kick has ended and its transient decayed: the activity sustains itself.
        rate, cv, n_cv = rate_and_cv(t, ids, n, 100.0, duration)
        late, _, _ = rate_and_cv(t, ids, n, duration - 200.0, duration)
        print(f" {pop}: {len(t)} spikes, CV over {n_cv} neurons")
        check(f"{pop} mean rate 100 ms..end (Hz)", rate, 12.0, 32.0, failures)
        check(f"{pop} rate in the last 200 ms (Hz)", late, 10.0, 35.0, failures)
        check(f"{pop} mean CV of ISIs", cv, 1.0, 2.2, failures)
        check(f"{pop} population Fano factor (1 ms)", synchrony(t, n, 100.0, duration), 0.5, 10.0, failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "coba.h5"))
