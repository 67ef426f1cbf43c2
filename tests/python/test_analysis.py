#!/usr/bin/env python3
"""scripts/nmsim_analysis and scripts/nmsim-plot on real nmsim output: a network with spikes,
state, plastic weights (sampled and final), a well-mixed and a grid modulator (probes and
snapshots) and positions; the Go/No-Go task (/trials); a small sweep. The loaded arrays must equal
what h5py reads from the files, and agree with what the simulation recorded (spike counts =
/summary, sample grids from the record settings, final weights = last sample, a snapshot voxel =
the probe at its centre); every figure must be a PNG."""
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

SRC = os.environ.get("NMSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "scripts"))
import nmsim_analysis as na  # noqa: E402

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
PLOT = os.path.join(SRC, "scripts", "nmsim-plot")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAILURES = []

NET = """
[simulation]
dt = 0.1
duration = 500.0
seed = 3

[[population]]
name = "pre"
model = "lif"
size = 40
params = { tau_m = 10.0, i_e = 420.0 }
init = { v = { uniform = [-70.0, -56.0] } }
positions = { grid = { shape = [4, 5, 2], spacing = 20.0, origin = [60, 60, 90] } }

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

[[modulator]]
name = "NA"
preset = "NA"
baseline = 0.0
field = { type = "grid", origin = [0, 0, 0], spacing = 20, shape = [12, 12, 10], dt = 0.1 }
release = [ { source = "pre", quantum = 2000.0, delay = 1.0 } ]

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
connect = { rule = "fixed_indegree", k = 10 }
weight = 60.0
delay = 1.0
plasticity = "da_stdp"

[[stimulus]]
name = "reward"
kind = "reward"
target = "DA"
times = [200.0]
amount = 0.5

[[record]]
kind = "spikes"
what = "pre"

[[record]]
kind = "spikes"
what = "post"

[[record]]
kind = "state"
what = "post.v"
which = [0, 1, 2, 3]
interval = 0.5

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
kind = "modulator"
what = "NA"
interval = 1.0
probes = [[100, 100, 100], [200, 200, 160]]
snapshot_interval = 100.0
"""


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def is_png(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


def check_network(tmp):
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET)
    out = os.path.join(tmp, "net.h5")
    r = run(BIN, "run", cfg, "-o", out, "--quiet")
    check(r.returncode == 0, f"nmsim run the analysis network ({r.stderr.strip()[:300]})")
    res = na.load(out)
    check(res.status == "complete" and res.simulated_time == 500.0, "status and simulated time")
    with h5py.File(out, "r") as f:
        # Spikes, per population, and their agreement with /summary.
        for pop in ("pre", "post"):
            s = res.spikes[pop]
            check(np.array_equal(s.times, f[f"spikes/{pop}/timestamps"][:]) and
                  np.array_equal(s.ids, f[f"spikes/{pop}/node_ids"][:]), f"spikes of {pop} equal the file")
            n = int(f["summary"].attrs[f"spikes.{pop}"])
            check(s.count() == n == res.summary[f"spikes.{pop}"], f"{pop}: {s.count()} loaded spikes = /summary {n}")
            check(math.isclose(res.rate(pop), res.summary[f"rate.{pop}"], rel_tol=1e-12) and
                  res.summary_units[f"rate.{pop}"] == "Hz", f"{pop}: rate {res.rate(pop):.2f} Hz = /summary")
            check(np.all(np.diff(s.times) >= 0) and s.ids.max() < res.populations[pop].size, f"{pop}: sorted, ids in range")
        check(res.populations["pre"].size == 40 and res.populations["post"].model == "lif", "population attrs")
        pos = res.populations["pre"].positions
        check(pos is not None and np.array_equal(pos, f["populations/pre/positions"][:]) and pos.shape == (40, 3)
              and res.populations["post"].positions is None, "positions loaded (pre) and absent (post)")
        # State: four neurons every 0.5 ms from t = 0 to 500 ms.
        v = res.reports["post"]["v"]
        check(np.array_equal(v.data, f["report/post/v/data"][:]) and
              np.array_equal(v.node_ids, f["report/post/v/mapping/node_ids"][:]), "report data and node ids equal the file")
        check(v.data.shape == (1001, 4) and np.allclose(v.times, 0.5 * np.arange(1001), atol=1e-9) and v.units == "mV",
              f"report rows every 0.5 ms from 0 to 500 ms ({v.data.shape}, {v.units})")
        check(v.data.max() <= -50.0 + 1e-3 and v.data.min() >= -80.0, "membrane potential within reset..threshold")
        # Weights: all 200 synapses every 10 ms, final snapshot = the last row.
        w = res.weights["ff"]
        check(np.array_equal(w.data, f["weights/ff/data"][:]) and
              np.array_equal(w.source_ids, f["weights/ff/mapping/source_ids"][:]) and
              np.array_equal(w.target_ids, f["weights/ff/mapping/target_ids"][:]) and
              np.array_equal(w.final.weights, f["weights/ff/final/weights"][:]), "weights, mapping and final equal the file")
        check(w.data.shape == (51, 200) and np.allclose(w.times, 10.0 * np.arange(51)), f"weight rows ({w.data.shape})")
        check(np.allclose(w.final.weights, w.data[-1], rtol=1e-6) and np.all(w.data[0] == 60.0),
              "final weights = last sample, initial weights 60 pA")
        check(w.attrs.get("rule") == "stdp_eligibility" and w.units == "pA", "projection attrs and units")
        # Modulators: the well-mixed DA pool and two NA probes, every 1 ms.
        da, nam = res.modulators["DA"], res.modulators["NA"]
        check(np.array_equal(da.probes, f["modulators/DA/probes/data"][:]) and
              np.array_equal(nam.probes, f["modulators/NA/probes/data"][:]) and
              np.array_equal(nam.positions, [[100, 100, 100], [200, 200, 160]]), "probes and positions equal the file")
        check(da.probes.shape == (501, 1) and nam.probes.shape == (501, 2) and np.allclose(nam.times, np.arange(501)),
              f"probe rows every ms ({da.probes.shape}, {nam.probes.shape})")
        i = int(np.argmin(np.abs(da.times - 200.0)))
        check(da.probes[i + 2, 0] > da.probes[i - 1, 0] + 0.4, "DA rises by the reward at 200 ms")
        sn = nam.snapshots
        check(sn is not None and np.array_equal(sn.data, f["modulators/NA/snapshots/data"][:]) and
              np.array_equal(sn.times, f["modulators/NA/snapshots/times"][:]), "snapshots equal the file")
        check(sn.data.shape[1:] == (10, 12, 12) and len(sn.times) == sn.data.shape[0] >= 5,
              f"snapshots [n, nz, ny, nx] ({sn.data.shape}, times {sn.times})")
        check(np.allclose(sn.axis(0), 20.0 * np.arange(12)) and np.allclose(sn.axis(2), 20.0 * np.arange(10)),
              "snapshot axes in um")
        last = sn.data[-1][5, 5, 5]  # the voxel centred on probe 0 at (100, 100, 100) um
        row = int(round(sn.times[-1]))
        check(abs(last - nam.probes[row, 0]) <= 0.05 * abs(nam.probes[row, 0]) + 1e-6,
              f"snapshot voxel at probe 0 matches its trace ({last:.4f} vs {nam.probes[row, 0]:.4f} uM)")
        check(res.trials is None, "no trials in a file without a task")
    # Figures, through the module and through the command line.
    for name, fig in [("raster", lambda: na.plots.raster(res)), ("traces", lambda: na.plots.traces(res)),
                      ("weights", lambda: na.plots.weights(res)), ("modulators", lambda: na.plots.modulators(res)),
                      ("snapshot", lambda: na.plots.snapshot(res, "NA", z=100.0))]:
        path = na.save(fig(), os.path.join(tmp, f"api_{name}.png"))
        check(is_png(path), f"API figure {name} is a PNG")
    figs = os.path.join(tmp, "figs")
    r = run(PLOT, "all", out, "-d", figs)
    expected = ["raster", "traces", "weights", "modulators", "snapshot"]
    check(r.returncode == 0 and all(is_png(os.path.join(figs, f"{n}.png")) for n in expected) and
          not os.path.exists(os.path.join(figs, "trials.png")), f"nmsim-plot all: {', '.join(expected)} ({r.stderr[-300:]})")
    png = os.path.join(tmp, "raster_pre.png")
    r = run(PLOT, "raster", out, "--populations", "pre", "-o", png)
    check(r.returncode == 0 and is_png(png), "nmsim-plot raster --populations pre")
    r = run(PLOT, "trials", out, "-o", os.path.join(tmp, "none.png"))
    check(r.returncode == 2 and "no trials" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"a figure the file cannot support: exit 2, one line ({r.stderr.strip()})")
    r = run(PLOT, "raster", os.path.join(tmp, "missing.h5"), "-o", png)
    check(r.returncode == 2 and "no such file" in r.stderr, "missing file: exit 2")
    return out


def check_trials(tmp):
    cfg = os.path.join(SRC, "examples", "go_nogo", "go_nogo.toml")
    out = os.path.join(tmp, "gng.h5")
    r = run(BIN, "run", cfg, "-o", out, "--quiet")
    check(r.returncode == 0, f"nmsim run go_nogo ({r.stderr.strip()[:300]})")
    res = na.load(out)
    t = res.trials
    with h5py.File(out, "r") as f:
        g = f["trials"]
        names = []
        g.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        check(t is not None and sorted(t.columns) == sorted(names) and
              all(np.array_equal(t.columns[n], g[n][...], equal_nan=t.columns[n].dtype.kind == "f") for n in names),
              f"/trials columns equal the file ({len(names)} datasets)")
        check(len(t) == len(g["index"]) and float(t.attrs["accuracy"]) == float(g.attrs["accuracy"]),
              f"{len(t)} trials and the summary attributes")
    acc = float(np.mean(t.columns["correct"]))
    check(math.isclose(acc, float(t.attrs["accuracy"]), rel_tol=1e-9), f"accuracy from the rows {acc:.3f} = attr")
    ma = na.moving_average(t.columns["correct"], 20)
    check(math.isclose(ma[-1], np.mean(t.columns["correct"][-20:])) and math.isclose(ma[0], t.columns["correct"][0]),
          "moving window accuracy")
    png = os.path.join(tmp, "trials.png")
    r = run(PLOT, "trials", out, "-o", png, "--window", "10")
    check(r.returncode == 0 and is_png(png), f"nmsim-plot trials ({r.stderr[-200:]})")
    figs = os.path.join(tmp, "gng_figs")
    r = run(PLOT, "all", out, "-d", figs)
    check(r.returncode == 0 and is_png(os.path.join(figs, "trials.png")), "nmsim-plot all includes trials")


def check_sweep(tmp):
    cfg = os.path.join(tmp, "net.toml")
    out = os.path.join(tmp, "sweep")
    r = run(BIN, "sweep", cfg, "--set", "simulation.duration=100", "--grid", "population.pre.params.i_e=380,420,460",
            "--repeats", "2", "--jobs", "2", "--quiet", "-o", out)
    check(r.returncode == 0, f"a 3 x 2 sweep ({r.stderr[-300:]})")
    table = na.load_sweep(out)
    key = "population.pre.params.i_e"
    check(list(table["__grid_keys__"]) == [key] and len(table["id"]) == 6, "sweep table: grid keys and 6 rows")
    for i in range(6):
        with h5py.File(os.path.join(out, table["file"][i]), "r") as f:
            check(table["rate.pre"][i] == f["summary"].attrs["rate.pre"], f"sweep row {i}: rate.pre = the file's")
    stats = na.sweep_stats(table, key, "rate.pre")[None]
    xs, mean, std, n = stats
    by_hand = [np.mean(table["rate.pre"][table[key] == x]) for x in (380, 420, 460)]
    check(np.array_equal(xs, [380, 420, 460]) and np.allclose(mean, by_hand) and np.array_equal(n, [2, 2, 2]),
          f"sweep_stats: mean over the seeds per value ({mean})")
    check(mean[0] < mean[1] < mean[2], "more current, higher rate")
    png = os.path.join(tmp, "sweep.png")
    r = run(PLOT, "sweep", out, "--x", key, "--y", "rate.pre", "-o", png)
    check(r.returncode == 0 and is_png(png), f"nmsim-plot sweep ({r.stderr[-200:]})")
    r = run(PLOT, "sweep", out, "--x", key, "--y", "rate.nope", "-o", png)
    check(r.returncode == 2 and "rate.nope" in r.stderr, f"unknown result column: exit 2 ({r.stderr.strip()})")


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_analysis_")
    check_network(tmp)
    check_trials(tmp)
    check_sweep(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
