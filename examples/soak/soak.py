#!/usr/bin/env python3
"""Soak check (README.md): run examples/soak/soak.toml (10 min of simulated time) twice at once,
sample each process's resident memory (VmRSS, /proc/<pid>/status) every second, then check
  * steady memory: after the first tenth of the run, RSS grows by less than the allowance
    (4 MiB: allocator noise; recorded data is flushed every 10 s of simulated time and must not
    accumulate), reported against the HDF5 file size, which does grow;
  * identical results: SHA-256 of every spike, weight, modulator probe and field snapshot dataset
    is the same in both files; both have status "complete" and hold 600 000 ms.
Usage: soak.py NMSIM_BINARY OUTDIR [--duration MS]"""
import hashlib
import os
import subprocess
import sys
import time

import h5py
import numpy as np

ALLOWANCE_KIB = 4096


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def hashes(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in ("spikes", "weights", "modulators"):
                out[name] = hashlib.sha256(np.ascontiguousarray(obj[...]).tobytes()).hexdigest()[:16]
        f.visititems(visit)
        meta = {k: f.attrs[k] for k in ("status", "simulated_time")}
    return out, meta


def main():
    nmsim, outdir = sys.argv[1], sys.argv[2]
    extra = sys.argv[3:]
    cfg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "soak.toml")
    os.makedirs(outdir, exist_ok=True)
    files = [os.path.join(outdir, f"soak_{i}.h5") for i in (1, 2)]
    t0 = time.time()
    procs = [subprocess.Popen([nmsim, "run", cfg, "-o", f, "--threads", "1", "--force", "--quiet", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    samples = [[] for _ in procs]  # (wall s, rss KiB, file bytes)
    while any(p.poll() is None for p in procs):
        for i, p in enumerate(procs):
            r = rss_kib(p.pid) if p.poll() is None else None
            if r is not None:
                size = os.path.getsize(files[i]) if os.path.exists(files[i]) else 0
                samples[i].append((time.time() - t0, r, size))
        time.sleep(1.0)
    wall = time.time() - t0
    ok = True
    for i, p in enumerate(procs):
        out, err = p.communicate()
        if p.returncode != 0:
            print(f"FAIL  run {i + 1} exited {p.returncode}: {err.strip()}")
            ok = False
        else:
            print(out.strip().replace("\n", "\n      "))
    print(f"wall time of the two concurrent runs: {wall:.0f} s")
    for i, s in enumerate(samples):
        if len(s) < 10:
            print(f"FAIL  run {i + 1}: only {len(s)} memory samples")
            ok = False
            continue
        s = np.array(s)
        warm = s[len(s) // 10:]
        first, last = warm[: len(warm) // 2, 1].max(), warm[len(warm) // 2:, 1].max()
        growth = last - first
        good = growth < ALLOWANCE_KIB
        ok = ok and good
        print(f"{'ok  ' if good else 'FAIL'}  run {i + 1}: RSS {s[0, 1] / 1024:.1f} MiB at start, max {first / 1024:.1f} MiB "
              f"in the first half after warm-up, {last / 1024:.1f} MiB in the second (growth {growth} KiB, "
              f"allowance {ALLOWANCE_KIB} KiB) while the file grew from {warm[0, 2] / 2**20:.1f} to "
              f"{s[-1, 2] / 2**20:.1f} MiB ({len(s)} samples)")
    if not ok:
        return 1
    (h1, m1), (h2, m2) = hashes(files[0]), hashes(files[1])
    same = h1 == h2 and len(h1) > 0
    print(f"{'ok  ' if same else 'FAIL'}  identical results: {len(h1)} datasets with equal SHA-256 "
          f"({', '.join(sorted(h1)[:4])}, ...)")
    for name in sorted(h1):
        if h1[name] != h2.get(name):
            print(f"      differs: {name}")
    status = [m["status"].decode() if isinstance(m["status"], bytes) else m["status"] for m in (m1, m2)]
    done = all(st == "complete" for st in status) and m1["simulated_time"] == m2["simulated_time"]
    print(f"{'ok  ' if done else 'FAIL'}  status {status}, simulated {m1['simulated_time']} ms")
    with h5py.File(files[0], "r") as f:
        w = f["weights/ee/final/weights"][...]
        n = {p: len(f[f"spikes/{p}/timestamps"]) for p in ("exc", "da")}
        da = f["modulators/DA/probes/data"][...]
    print(f"      spikes {n}, final E->E weights mean {w.mean():.2f} pA (sd {w.std():.2f}), "
          f"DA probes mean {da.mean(axis=0)} uM")
    return 0 if same and done else 1


if __name__ == "__main__":
    sys.exit(main())
