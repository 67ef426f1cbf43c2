#!/usr/bin/python3
"""Check the distal-reward example (Izhikevich 2007, Fig. 1) from its HDF5 file with h5py/numpy.

Expected (README.md): the rewarded synapse n1 -> n2 climbs from 0 to the maximum weight w_max
within the hour while the other excitatory weights stay low:
  * it reaches >= 0.9 w_max before the end of the run, and its mean over the last 10 minutes is
    >= 0.75 w_max (once at the top it keeps dipping and recovering: seed 1 ended at 3.20 after
    reaching 4 at 22 min, so the value at the very end is printed, not checked);
  * the other E->E synapses (final snapshot, all of them): mean < 0.25 w_max and fewer than 2 %
    of them >= 0.9 w_max (measured: 11 % and 0.6 % for seed 2007);
  * dopamine stays at its tonic level except for the rewards (sanity of the loop).
usage: check.py distal_reward.h5
"""
import sys
import tomllib

import h5py
import numpy as np


def check(name, value, ok, expect, failures):
    print(f"  {name}: {value}  (expected {expect})  {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)


def main(path):
    failures = []
    with h5py.File(path, "r") as f:
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else str(status)
        cfg = f["config"][()]
        cfg = tomllib.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)["distal_reward"]
        n1, n2, w_max = int(cfg["n1"]), int(cfg["n2"]), float(cfg["w_max"])
        g = f["weights/ee"]
        src, tgt = g["mapping/source_ids"][:], g["mapping/target_ids"][:]
        col = np.flatnonzero((src == n1) & (tgt == n2))
        t0, _, step = g["mapping/time"][:]
        data = g["data"][:]
        fs, ft, fw = g["final/source_ids"][:], g["final/target_ids"][:], g["final/weights"][:]
        da = f["modulators/da/probes/data"][:, 0]
        duration = float(f.attrs["simulated_time"])
    print(f"distal reward: {path}, status {status}, {duration / 1000:.0f} s, rewarded synapse exc {n1} -> exc {n2}")
    check("status", status, status == "complete", "complete", failures)
    check("rewarded synapse recorded once", len(col), len(col) == 1, 1, failures)
    if len(col) != 1:
        print("FAIL")
        return 1
    w = data[:, col[0]]
    times = t0 + step * np.arange(len(w))
    reached = np.flatnonzero(w >= 0.9 * w_max)
    first = times[reached[0]] / 1000 if len(reached) else None
    check("rewarded weight first >= 0.9 w_max at (s)", first, first is not None, f"< {duration / 1000:.0f}", failures)
    late = w[times >= duration - 600e3].mean()
    check("rewarded weight, mean of the last 10 min", round(float(late), 3), late >= 0.75 * w_max,
          f">= {0.75 * w_max}", failures)
    i = np.flatnonzero((fs == n1) & (ft == n2))[0]
    print(f"  (rewarded weight at the end: {fw[i]:.3f}; >= 0.9 w_max at the end: {fw[i] >= 0.9 * w_max})")
    others = np.delete(fw, i)
    check("other E->E weights, mean at the end", round(float(others.mean()), 3), others.mean() < 0.25 * w_max,
          f"< {0.25 * w_max}", failures)
    frac = float((others >= 0.9 * w_max).mean())
    check("fraction of other E->E weights >= 0.9 w_max", round(frac, 4), frac < 0.02, "< 0.02", failures)
    rank = float((others < fw[i]).mean())
    print(f"  (rewarded weight exceeds {100 * rank:.2f} % of the other E->E weights; "
          f"median of the others {np.median(others):.3f}, 99th percentile {np.percentile(others, 99):.3f})")
    check("dopamine minimum (tonic level, uM)", round(float(da.min()), 4), abs(da.min() - 0.002) < 1e-4, "0.002",
          failures)
    print("PASS" if not failures else f"FAIL: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "distal_reward.h5"))
