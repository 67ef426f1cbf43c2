#!/usr/bin/python3
"""Check the classical-conditioning example (Izhikevich 2007, Fig. 2) from its HDF5 file.

Response to a presentation: spikes of the neurons outside the stimulated group in the 20 ms after
its onset (the group's own ~50 forced spikes are the same for every stimulus). Expected
(README.md): before learning S1 is answered like any other stimulus; after learning the network
answers S1 with more spikes than the others:
  * ratio S1 / others over the first 5 minutes below 1.5 (no built-in preference);
  * ratio over the last 10 minutes at least 2 (measured 2007: see README.md);
  * the ratio grew by at least a factor 1.5 from the first 5 to the last 10 minutes.
usage: check.py classical_conditioning.h5
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analysis import load, ratio, responses  # noqa: E402


def check(name, value, ok, expect, failures):
    print(f"  {name}: {value}  (expected {expect})  {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)


def main(path):
    failures = []
    run = load(path)
    d = run["duration"]
    print(f"classical conditioning: {path}, status {run['status']}, {d / 1000:.0f} s, "
          f"{len(run['onset'])} presentations, {int((run['stimulus'] == 0).sum())} of S1")
    check("status", run["status"], run["status"] == "complete", "complete", failures)
    if d < 1200e3:
        print("  the run is shorter than 20 min: learning is checked on 20 min or more")
        failures.append("duration")
    _, recruited = responses(run)
    r0, s0, o0, n0 = ratio(run, recruited, 0.0, 300e3)
    r1, s1, o1, n1 = ratio(run, recruited, d - 600e3, d)
    print(f"  first 5 min: S1 {s0:.1f} spikes ({n0} presentations), others {o0:.1f}")
    print(f"  last 10 min: S1 {s1:.1f} spikes ({n1} presentations), others {o1:.1f}")
    check("S1/others, first 5 min", round(r0, 2), r0 < 1.5, "< 1.5", failures)
    check("S1/others, last 10 min", round(r1, 2), r1 >= 2.0, ">= 2", failures)
    check("growth of S1/others", round(r1 / r0, 2), r1 / r0 >= 1.5, ">= 1.5", failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "classical_conditioning.h5"))
