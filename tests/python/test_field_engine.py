#!/usr/bin/env python3
"""A dopamine grid field inside a running network, end to end through the nmsim program:
DA neurons with positions release into a 3-D field that gates the gain of a target population
(probed at each neuron's position) and is recorded; results are bit-identical for --threads 1,
2, 3 (the field's own parallel sweeps run between the neurons' windows), and release raises the
level near the sources more than far away. Twice: the field stepping with the engine (Euler), and
every 2 ms with Heun's step (field.scheme = "heun", probes held over blocks of 20 steps)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
NET = """
[simulation]
dt = 0.1
duration = 100.0
seed = 9

[[population]]
name = "da"
model = "lif"
size = 8
params = { i_e = 500.0 }
positions = { grid = { shape = [2, 2, 2], spacing = 20.0, origin = [100, 100, 100] } }

[[population]]
name = "msn"
model = "lif"
size = 64
params = { i_e = 360.0 }
positions = { grid = { shape = [4, 4, 4], spacing = 60.0, origin = [10, 10, 10] } }

[[modulator]]
name = "DA"
preset = "DA"
baseline = 0.02
field = { type = "grid", origin = [0, 0, 0], spacing = 10, shape = [26, 26, 26], FIELD_STEP }
release = [ { source = "da", quantum = 5000.0, delay = 1.0 } ]

[[modulation]]
name = "d1_gain"
target = "population.msn.gain"
terms = [ { modulator = "DA", receptor = "D1", emax = 2.0 } ]

[[stimulus]]
name = "drive"
kind = "poisson"
target = "msn"
rate = 2000.0
weight = 20.0

[[record]]
kind = "spikes"
what = "msn"

[[record]]
kind = "modulator"
what = "DA"
interval = 1.0
probes = [[110, 110, 110], [250, 250, 250]]
snapshot_interval = 50.0
"""
FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def main():
    for name, step in (("euler", "dt = 0.1"), ("heun", 'dt = 2.0, scheme = "heun"')):
        print(f"-- field {step}")
        check_variant(name, step)
    print(f"{len(FAILURES)} failed" if FAILURES else "all field checks passed")
    return 1 if FAILURES else 0


def check_variant(name, step):
    tmp = tempfile.mkdtemp(prefix="nmsim_field_")
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET.replace("FIELD_STEP", step))
    res = {}
    for n in (1, 2, 3):
        out = os.path.join(tmp, f"{name}{n}.h5")
        r = subprocess.run([BIN, "run", cfg, "-o", out, "--threads", str(n)], capture_output=True, text=True, timeout=600)
        check(r.returncode == 0, f"run --threads {n} ({r.stderr.strip()[:300]})")
        if r.returncode != 0:
            continue
        with h5py.File(out, "r") as f:
            res[n] = {"t": f["spikes/msn/timestamps"][...], "id": f["spikes/msn/node_ids"][...],
                      "da": f["modulators/DA/probes/data"][...], "snap": f["modulators/DA/snapshots/data"][...]}
            check(f["modulators/DA"].attrs["field"] == "grid", "field attribute says grid")
            snap = f["modulators/DA/snapshots/data"][...]
            times = f["modulators/DA/snapshots/times"][...]
            check(snap.shape[1:] == (26, 26, 26) and len(times) == snap.shape[0] >= 3, f"snapshots [n, nz, ny, nx] ({snap.shape}, times {times})")
            check(np.array_equal(f["modulators/DA/snapshots"].attrs["spacing"], [10, 10, 10]), "snapshot spacing attribute")
            # The voxel of the first probe (110 um = index 11) holds about what the probe reads.
            res_snap = snap
            check(np.array_equal(f["modulators/DA/probes/positions"][...], [[110, 110, 110], [250, 250, 250]]),
                  "probe positions written")
    if 1 in res:
        for n in (2, 3):
            if n in res:
                check(all(np.array_equal(res[1][k], res[n][k]) for k in res[1]), f"--threads {n} bit-identical to 1")
        da = res[1]["da"]
        check(da.shape == (101, 2) and np.all(np.isfinite(da)) and da.min() >= 0.0, f"DA probes recorded, finite, >= 0 ({da.shape})")
        near, far = da[:, 0].max(), da[:, 1].max()
        last = res[1]["snap"][-1]
        check(abs(last[11, 11, 11] - da[-1, 0]) < 0.05 * da[-1, 0] + 1e-6,
              f"snapshot voxel at the first probe matches its trace ({last[11, 11, 11]:.4f} vs {da[-1, 0]:.4f})")
        check(near > 0.05 and near > 2 * far, f"DA peaks near the release sites (near {near:.4f} uM, far {far:.4f} uM)")
        check(len(res[1]["t"]) > 20, f"target population active ({len(res[1]['t'])} spikes)")


if __name__ == "__main__":
    sys.exit(main())
