#!/usr/bin/python3
"""Check a spnet run (examples/spnet/spnet.toml, static weights): low excitatory rates, fast
inhibitory rates and the slow, sleep-like population rhythm of the network before plasticity."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from spikes import check, load_spikes, rate_and_cv  # noqa: E402


def main(path):
    failures = []
    print(f"Izhikevich spnet (static weights): {path}")
    counts = None
    for pop, n, lo, hi in (("exc", 800, 2.0, 10.0), ("inh", 200, 8.0, 35.0)):
        t, ids, duration, status = load_spikes(path, pop)
        if status != "complete":
            failures.append(f"status {status}")
        rate, cv, n_cv = rate_and_cv(t, ids, n, 1000.0, duration)
        check(f"{pop} mean rate (Hz)", rate, lo, hi, failures)
        c, _ = np.histogram(t, bins=np.arange(1000.0, duration + 0.5, 1.0))
        counts = c if counts is None else counts + c
    spectrum = np.abs(np.fft.rfft(counts - counts.mean())) ** 2
    freq = np.fft.rfftfreq(len(counts), 1e-3)
    band = freq >= 0.5
    peak = freq[band][np.argmax(spectrum[band])]
    prominence = spectrum[band].max() / np.median(spectrum[band])
    check("population rhythm peak frequency (Hz)", peak, 1.5, 5.0, failures)
    check("peak power / median power", prominence, 100.0, 1e9, failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "spnet.h5"))
