#!/usr/bin/env python3
"""nmsim sweep end to end (docs/sweep.md): a 2 x 2 grid x 2 seeds run 2 at a time gives 8 run
files whose parameters and seeds are the planned ones; summary.csv and index.h5 hold exactly the
files' /summary attributes; a second invocation skips complete runs and redoes deleted, truncated
and unfinished ones; a changed grid is refused; a run with an invalid value fails alone and is
listed; bad arguments exit 2 with one line; SIGINT exits 130 and leaves a resumable directory."""
import csv
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
NET = """
[simulation]
dt = 0.1
duration = 100.0
seed = 40

[[population]]
name = "exc"
model = "lif"
size = 80
params = { tau_m = 20.0, e_l = -60.0, v_reset = -60.0, v_th = -50.0 }
init = { v = { uniform = [-60.0, -50.0] } }

[[population]]
name = "inh"
model = "lif"
size = 20
params = { tau_m = 20.0, e_l = -60.0, v_reset = -60.0, v_th = -50.0 }

[[projection]]
name = "ee"
source = "exc"
target = "exc"
connect = { rule = "fixed_probability", p = 0.1 }
weight = 30.0
delay = 1.5

[[projection]]
name = "ie"
source = "inh"
target = "exc"
connect = { rule = "fixed_indegree", k = 10 }
weight = -100.0
delay = 1.0

[[stimulus]]
name = "drive"
kind = "poisson"
target = "exc"
rate = 8000.0
weight = 25.0

[[stimulus]]
name = "drive_i"
kind = "poisson"
target = "inh"
rate = 6000.0
weight = 25.0

[[record]]
kind = "spikes"
what = "exc"

[[record]]
kind = "spikes"
what = "inh"
"""
GRID = ["--grid", "stimulus.drive.rate=6000,9000.0", "--grid", "projection.ee.weight=20,40", "--repeats", "2"]
FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def sweep(cfg, *args, timeout=300):
    return subprocess.run([BIN, "sweep", cfg, *args], capture_output=True, text=True, timeout=timeout)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def lookup(config, key):
    """The value of a dotted --set style key in a parsed TOML config (arrays of tables by name)."""
    node = config
    parts = key.split(".")
    i = 0
    while i < len(parts):
        node = node[parts[i]]
        if isinstance(node, list):
            i += 1
            node = next(e for e in node if e.get("name") == parts[i])
        i += 1
    return node


def check_grid_sweep(tmp, cfg):
    out = os.path.join(tmp, "grid")
    r = sweep(cfg, *GRID, "--jobs", "2", "-o", out)
    check(r.returncode == 0, f"2x2x2 sweep exits 0 (rc {r.returncode}: {r.stderr[-300:]})")
    files = sorted(f for f in os.listdir(out) if f.endswith(".h5") and f.startswith("run_"))
    check(files == [f"run_{i:04d}.h5" for i in range(8)], f"8 run files ({files})")
    for name in ("manifest.toml", "summary.csv", "index.h5"):
        check(os.path.exists(os.path.join(out, name)), f"{name} written")
    rows = read_csv(os.path.join(out, "summary.csv"))
    check(len(rows) == 8, f"summary.csv has 8 rows ({len(rows)})")
    cores = len(os.sched_getaffinity(0))
    expect_threads = max(1, cores // 2)
    # The first grid varies slowest, repeats fastest; seeds are base seed + repeat.
    plan = [(rate, w, rep) for rate in ("6000", "9000.0") for w in ("20", "40") for rep in (0, 1)]
    for i, (row, (rate, w, rep)) in enumerate(zip(rows, plan)):
        with h5py.File(os.path.join(out, row["file"]), "r") as f:
            config = tomllib.loads(f["config"][()].decode())
            ok_params = (lookup(config, "stimulus.drive.rate") == float(rate)
                         and lookup(config, "projection.ee.weight") == float(w))
            check(ok_params and row["stimulus.drive.rate"] == rate and row["projection.ee.weight"] == w,
                  f"run {i}: parameters {rate}, {w} in the file's /config and the table")
            check(int(f.attrs["seed"]) == 40 + rep == int(row["seed"]) and int(row["repeat"]) == rep,
                  f"run {i}: seed {40 + rep} = base seed + repeat {rep}")
            check(f.attrs["status"] == "complete" and row["status"] == "complete" and row["exit_code"] == "0",
                  f"run {i}: complete")
            check(int(f.attrs["threads"]) == expect_threads, f"run {i}: {expect_threads} thread(s) = cores / jobs")
            s = f["summary"].attrs
            names = sorted(k for k in s if not k.endswith(".units"))
            same = all(float(row[k]) == float(s[k]) for k in names)
            check(same and set(names) <= set(row), f"run {i}: summary.csv values equal the file's /summary attrs")
            for pop in ("exc", "inh"):
                n = len(f[f"spikes/{pop}/timestamps"])
                size = int(f[f"populations/{pop}"].attrs["size"])
                rate_hz = n / size / (float(f.attrs["simulated_time"]) / 1000.0)
                check(int(s[f"spikes.{pop}"]) == n and math.isclose(float(s[f"rate.{pop}"]), rate_hz, rel_tol=1e-12)
                      and s[f"rate.{pop}.units"] == "Hz",
                      f"run {i}: /summary spikes.{pop} = {n} recorded spikes, rate {rate_hz:.3f} Hz")
            check(float(s["simulated_time"]) == 100.0 and float(s["wall_time"]) > 0, f"run {i}: simulated and wall time")
    # More drive, more exc spikes (mean over the seeds): the grid values reached the runs.
    low = np.mean([float(r["rate.exc"]) for r in rows[:4]])
    high = np.mean([float(r["rate.exc"]) for r in rows[4:]])
    check(high > 1.3 * low, f"exc rate rises with the swept drive ({low:.1f} -> {high:.1f} Hz)")
    with h5py.File(os.path.join(out, "index.h5"), "r") as ix:
        runs = ix["runs"]
        check(list(ix.attrs["grid_keys"]) == ["stimulus.drive.rate", "projection.ee.weight"], "index grid_keys")
        check(np.array_equal(runs["id"][:], np.arange(8)) and np.array_equal(runs["seed"][:], [40, 41] * 4),
              "index ids and seeds")
        check([x.decode() for x in runs["file"][:]] == files and
              all(x.decode() == "complete" for x in runs["status"][:]), "index files and status")
        check(np.array_equal(runs["params/stimulus.drive.rate"][:], [float(r["stimulus.drive.rate"]) for r in rows]),
              "index params equal the csv")
        same = all(np.array_equal(runs[f"results/{k}"][:], [float(r[k]) for r in rows])
                   for k in runs["results"])
        check(same and "rate.exc" in runs["results"], f"index results equal the csv ({list(runs['results'])})")
    return out


def check_resume(cfg, out):
    paths = {f: os.path.join(out, f) for f in os.listdir(out) if f.startswith("run_")}
    before = {f: os.stat(p).st_mtime_ns for f, p in paths.items()}
    values = {r["file"]: r["rate.exc"] for r in read_csv(os.path.join(out, "summary.csv"))}
    os.remove(paths["run_0001.h5"])
    with open(paths["run_0002.h5"], "r+b") as f:
        f.truncate(2000)  # a corrupted file
    with h5py.File(paths["run_0005.h5"], "r+") as f:
        f.attrs["status"] = "running"  # a run that died
    before["run_0005.h5"] = os.stat(paths["run_0005.h5"]).st_mtime_ns
    time.sleep(0.05)
    r = sweep(cfg, *GRID, "--jobs", "2", "-o", out)
    check(r.returncode == 0, f"resumed sweep exits 0 ({r.stderr[-300:]})")
    check("5 complete already, 3 to run" in r.stderr, f"resume plans 3 runs ({r.stderr.splitlines()[:1]})")
    redone = {"run_0001.h5", "run_0002.h5", "run_0005.h5"}
    for f, p in paths.items():
        changed = os.stat(p).st_mtime_ns != before.get(f)
        check(changed == (f in redone), f"{f} {'redone' if f in redone else 'kept'}")
    rows = read_csv(os.path.join(out, "summary.csv"))
    check([r["reused"] for r in rows] == ["0" if r["file"] in redone else "1" for r in rows], "csv column reused")
    check(all(r["status"] == "complete" for r in rows), "every run complete after the resume")
    check(all(values[r["file"]] == r["rate.exc"] for r in rows), "redone runs give the same results (same seeds)")
    r = sweep(cfg, *GRID, "--jobs", "2", "--quiet", "-o", out)
    check(r.returncode == 0 and r.stderr == "" and "8 complete (8 from before)" in r.stdout,
          f"a third invocation runs nothing, --quiet prints nothing on stderr ({r.stdout!r} {r.stderr!r})")
    r = sweep(cfg, "--grid", "stimulus.drive.rate=6000,7000", "--grid", "projection.ee.weight=20,40",
              "--repeats", "2", "-o", out)
    check(r.returncode == 2 and "different sweep" in r.stderr and "stimulus.drive.rate" in r.stderr
          and len(r.stderr.strip().splitlines()) == 1, f"a changed grid is refused with exit 2 ({r.stderr.strip()})")
    r = sweep(cfg, *GRID[:-1], "3", "-o", out)
    check(r.returncode == 2 and "--repeats" in r.stderr, f"changed repeats refused ({r.stderr.strip()})")


def check_failing_run(tmp, cfg):
    out = os.path.join(tmp, "fail")
    r = sweep(cfg, "--grid", "population.exc.params.tau_m=10,-5,20", "--jobs", "2", "--threads", "1", "-o", out)
    check(r.returncode == 1, f"a sweep with a failing run exits 1 (rc {r.returncode})")
    rows = read_csv(os.path.join(out, "summary.csv"))
    check([x["status"] for x in rows] == ["complete", "failed", "complete"], f"only the invalid run failed")
    check(rows[1]["exit_code"] == "2" and "tau_m" in rows[1]["error"] and "-5" in rows[1]["error"],
          f"its error is recorded ({rows[1]['error']})")
    check("run 1 (run_0001.h5, exit 2)" in r.stderr and "tau_m" in r.stderr.split("failed:")[-1],
          "failed runs are listed at the end with their error")
    for i in (0, 2):
        with h5py.File(os.path.join(out, f"run_{i:04d}.h5"), "r") as f:
            check(f.attrs["status"] == "complete" and int(f.attrs["threads"]) == 1, f"run {i} completed (--threads 1)")
    with h5py.File(os.path.join(out, "index.h5"), "r") as ix:
        check(ix["runs/error"][1].decode() == rows[1]["error"] and int(ix["runs/exit_code"][1]) == 2 and
              math.isnan(ix["runs/results/rate.exc"][1]), "index.h5 holds the error, exit code and NaN results")


def check_bad_arguments(tmp, cfg):
    out = os.path.join(tmp, "bad")
    cases = [
        (["--grid", "stimulus.drive.rate", "-o", out], "KEY=V1,V2"),
        (["--grid", "stimulus.drive.rate=1,,2", "-o", out], "empty value"),
        (["--grid", "=1,2", "-o", out], "KEY=V1,V2"),
        (["--grid", "stimulus.drive.rate=[1,2", "-o", out], "unbalanced"),
        (["--grid", "stimulus.drive.rate=1,1", "-o", out], "twice"),
        (["--grid", "stimuls.drive.rate=1,2", "-o", out], "stimuls"),
        (["--grid", "stimulus.drive.rate=1,2"], "-o OUTDIR"),
        (["--grid", "stimulus.drive.rate=1,2", "--jobs", "0", "-o", out], "--jobs"),
        (["--grid", "stimulus.drive.rate=1,2", "--repeats", "x", "-o", out], "--repeats"),
        (["--grid", "stimulus.drive.rate=1,2", "--bogus", "-o", out], "--bogus"),
        (["-o", out], "--grid"),
    ]
    for args, needle in cases:
        r = sweep(cfg, *args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and needle in lines[0] and r.stdout == "",
              f"sweep {' '.join(args[:2])} ... exits 2 with one line ({r.returncode}: {r.stderr.strip()})")
    check(not os.path.exists(os.path.join(out, "manifest.toml")), "bad arguments leave no sweep behind")
    r = subprocess.run([BIN, "sweep", "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "--grid KEY=V1,V2" in r.stdout and "--repeats" in r.stdout, "nmsim sweep --help")


def check_interrupt(tmp, cfg):
    out = os.path.join(tmp, "int")
    args = ["--set", "simulation.duration=200000", "--grid", "stimulus.drive.rate=6000,7000,8000", "--jobs", "2",
            "-o", out]
    p = subprocess.Popen([BIN, "sweep", cfg, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until both first runs have their files, then interrupt: each run lasts ~4 s of wall time
    # on a fast machine, far longer than the 0.3 s wait, so both are still running.
    deadline = time.time() + 60
    while time.time() < deadline and not all(
            os.path.exists(os.path.join(out, f"run_{i:04d}.h5")) for i in (0, 1)):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    check(p.returncode == 130, f"SIGINT: the sweep exits 130 ({p.returncode}: {err[-300:]})")
    rows = read_csv(os.path.join(out, "summary.csv"))
    check([r["status"] for r in rows] == ["interrupted", "interrupted", "not_run"],
          f"running runs interrupted, the rest not started ({[r['status'] for r in rows]})")
    with h5py.File(os.path.join(out, "run_0000.h5"), "r") as f:
        check(f.attrs["status"] == "interrupted", "the interrupted run's file says interrupted")
    r = sweep(cfg, *args, "--set", "output.compression=1")
    check(r.returncode == 2, "resuming with a different --set list is refused")
    r = sweep(cfg, "--set", "simulation.duration=200", *args[2:])
    check(r.returncode == 2, "so is a different --set value")
    r = sweep(cfg, *args)
    rows = read_csv(os.path.join(out, "summary.csv"))
    check(r.returncode == 0 and [x["status"] for x in rows] == ["complete"] * 3 and
          [x["reused"] for x in rows] == ["0"] * 3, "the same command finishes the interrupted sweep")


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_sweep_")
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET)
    out = check_grid_sweep(tmp, cfg)
    check_resume(cfg, out)
    check_failing_run(tmp, cfg)
    check_bad_arguments(tmp, cfg)
    check_interrupt(tmp, cfg)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
