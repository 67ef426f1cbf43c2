#!/usr/bin/env python3
"""Plasticity and a well-mixed modulator end to end through the nmsim program: a three-factor
projection rewarded by a dopamine pulse, weights and the modulator recorded to HDF5, identical for
any --threads; the modulator trace equals its analytic solution."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
FAILURES = []

NET = """
[simulation]
dt = 0.1
duration = 1000.0
seed = 5

[[population]]
name = "pre"
model = "lif"
size = 50
params = { tau_m = 10.0, i_e = 420.0 }
init = { v = { uniform = [-70.0, -56.0] } }

[[population]]
name = "post"
model = "lif"
size = 20
params = { tau_m = 10.0, i_e = 300.0 }

[[modulator]]
name = "DA"
field = { type = "well_mixed" }
baseline = 0.01
uptake = { kind = "linear", tau = 200.0 }

[[plasticity]]
name = "da_stdp"
rule = "stdp_eligibility"
modulator = "DA"
baseline = 0.01
tau_c = 500.0
a_plus = 1.0
a_minus = 1.2
eta = 0.02
w_max = 200.0
interval = 100.0

[[projection]]
name = "ff"
source = "pre"
target = "post"
connect = { rule = "fixed_indegree", k = 20 }
weight = 60.0
delay = 1.0
plasticity = "da_stdp"

[[stimulus]]
name = "reward"
kind = "reward"
target = "DA"
times = [400.0]
amount = 0.5

[[record]]
kind = "weights"
what = "ff"
which = "all"
interval = 10.0
final = true

[[record]]
kind = "modulator"
what = "DA"
interval = 1.0

[[record]]
kind = "spikes"
what = "post"
"""


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_plast_")
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET)
    data = {}
    for n in (1, 2, 3):
        out = os.path.join(tmp, f"t{n}.h5")
        r = subprocess.run([BIN, "run", cfg, "-o", out, "--threads", str(n)], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, f"run --threads {n} ({r.stderr.strip()[:300]})")
        with h5py.File(out, "r") as f:
            data[n] = {k: f[k][...] for k in ("weights/ff/data", "weights/ff/final/weights", "modulators/DA/probes/data",
                                              "spikes/post/timestamps", "weights/ff/mapping/source_ids")}
            data[n]["time"] = f["weights/ff/mapping/time"][...]
            data[n]["mtime"] = f["modulators/DA/probes/mapping/time"][...]
    base = data[1]
    for n in (2, 3):
        check(all(np.array_equal(base[k], data[n][k]) for k in base), f"--threads {n}: weights, modulator, spikes bit-identical")
    w = base["weights/ff/data"]
    check(w.shape == (101, 400), f"weights recorded every 10 ms for all 400 synapses ({w.shape})")
    before = np.abs(w[:40] - 60.0).max()  # rows at t = 0..390 ms: DA at baseline
    check(before < 1e-4, f"no weight change before the reward while DA is at baseline (max |dw| = {before:.2e})")
    after = np.abs(w[-1] - w[40]).max()
    check(after > 0.5, f"weights change after the reward (max |dw| = {after:.3f})")
    check(np.allclose(base["weights/ff/final/weights"], w[-1], rtol=1e-6), "final snapshot equals the last sample")
    m = base["modulators/DA/probes/data"][:, 0]
    start, stop, step = base["mtime"]
    t = start + step * np.arange(len(m))
    expected = 0.01 + np.where(t > 400.0, 0.5 * np.exp(-(t - 400.0) / 200.0), 0.0)
    err = np.abs(m - expected).max()
    check(err < 1e-6, f"DA trace = baseline + 0.5 exp(-(t - 400)/200) (max error {err:.2e} uM)")
    print(f"{len(FAILURES)} failed" if FAILURES else "all plasticity CLI checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
