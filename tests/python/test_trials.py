#!/usr/bin/env python3
"""/trials of a closed-loop task read back with h5py: layout and units, every row consistent with
the task's equations (decision rule, reward table with reversal, value and RPE recursion, release
amounts), the summary attributes equal to the statistics recomputed from the rows, identical for
--threads 1 and 2, and `nmsim info` shows the trials."""
import math
import os
import subprocess
import sys
import tempfile
import time
from statistics import NormalDist

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
FAILURES = []

SRC = os.environ.get("NMSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NET = os.path.join(SRC, "tests", "data", "task_net.toml")  # shared with tests/invariance/task_threads.cpp


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def run(d, name, *args):
    out = os.path.join(d, name)
    subprocess.run([BIN, "run", NET, "-o", out, "--quiet", "--force", *args], check=True, stdout=subprocess.DEVNULL)
    return out


def criterion(correct):
    for n in range(20, len(correct) + 1):
        if correct[n - 20:n].sum() >= 16:
            return float(n)
    return math.nan


def main():
    with tempfile.TemporaryDirectory() as d:
        a = run(d, "a.h5", "--threads", "1", "--set", "task.gng.trials=24", "--set", "simulation.duration=16800",
                "--set", "task.gng.reversal.after=12")
        b = run(d, "b.h5", "--threads", "2", "--set", "task.gng.trials=24", "--set", "simulation.duration=16800",
                "--set", "task.gng.reversal.after=12")
        with h5py.File(a) as f, h5py.File(b) as g:
            t = f["trials"]
            n = t.attrs["n_trials"]
            check(n == 24 and t["index"].shape == (24,), f"24 trial rows ({n})")
            check(list(t["index"][:]) == list(range(24)), "index 0..23")
            check(np.allclose(t["start"][:], np.arange(24) * 700.0) and t["start"].attrs["units"] == "ms",
                  "start every 700 ms, units ms")
            check(t["counts"].shape == (24, 2), "counts [n, pools]")
            check(t.attrs["responses"] == "go,nogo" and t.attrs["cues"] == "A,B", "names of responses and cues")
            for key in ["peak/DA", "peak/NA"]:
                check(t[key].attrs["units"] == "uM", f"{key} in uM")
            cue, dec, cnt = t["cue"][:], t["decision"][:], t["counts"][:]
            # wta with default nogo: the pool with more spikes (ties: nogo).
            expect = np.where(cnt[:, 0] > cnt[:, 1], 0, np.where(cnt[:, 1] > cnt[:, 0], 1, 1))
            expect = np.where((cnt.max(axis=1) < 1), 1, expect)
            check((dec == expect).all(), "decision = winner-take-all of the pool counts")
            table = {0: [1.0, 0.0], 1: [-1.0, 0.5]}
            rev = np.arange(24) >= 12
            check((t["reversed"][:] == rev).all(), "reversed from trial 12 on")
            r = np.array([table[(1 - c) if rv else c][dd] for c, dd, rv in zip(cue, dec, rev)])
            check((t["reward"][:] == r).all(), "reward from the (swapped) tables")
            corr_resp = np.array([0 if ((1 - c) if rv else c) == 0 else 1 for c, rv in zip(cue, rev)])
            check((t["correct_response"][:] == corr_resp).all(), "correct response per trial")
            correct = (dec == corr_resp)
            check((t["correct"][:].astype(bool) == correct).all(), "correct = decision is the best response")
            v = [0.0, 0.0]
            ok_v = True
            for i in range(24):
                c = cue[i]
                ok_v &= t["value"][i] == v[c] and t["rpe"][i] == r[i] - v[c]
                v[c] += 0.3 * (r[i] - v[c])
            check(ok_v, "value and RPE: V += 0.3 (r - V), exactly")
            rpe = t["rpe"][:]
            check(np.array_equal(t["released/DA"][:], np.maximum(0.5 * rpe, -0.9)), "DA released = max(0.5 rpe, -0.9)")
            na = np.where(np.abs(rpe) >= 0.3, 0.4 * np.abs(rpe), 0.0)
            check(np.array_equal(t["released/NA"][:], na), "NA released = 0.4 |rpe| when |rpe| >= 0.3")
            check((t["peak/NA"][:] >= t["released/NA"][:] - 1e-12).all(), "NA peak >= the trial's release")
            # Summary attributes from the rows.
            go = corr_resp == 0
            check(math.isclose(t.attrs["accuracy"], correct.mean()), "accuracy")
            check(math.isclose(t.attrs["accuracy_pre"], correct[:12].mean()), "accuracy before the reversal")
            check(math.isclose(t.attrs["hit_rate"], (dec[go] == 0).mean()), "hit rate")
            check(math.isclose(t.attrs["false_alarm_rate"], (dec[~go] == 0).mean()), "false-alarm rate")
            z = NormalDist().inv_cdf
            h = ((dec[go] == 0).sum() + 0.5) / (go.sum() + 1)
            fa = ((dec[~go] == 0).sum() + 0.5) / ((~go).sum() + 1)
            check(math.isclose(t.attrs["d_prime"], z(h) - z(fa), rel_tol=1e-9), "d' (log-linear correction)")
            ttc = criterion(correct[12:])
            check((math.isnan(ttc) and math.isnan(t.attrs["trials_to_criterion"])) or ttc == t.attrs["trials_to_criterion"],
                  f"trials to criterion after the reversal ({ttc})")
            for k in ["n_trials", "accuracy", "d_prime", "trials_to_criterion", "perseverative_errors"]:
                check(isinstance(t.attrs[k], (np.floating, np.integer)) and np.ndim(t.attrs[k]) == 0,
                      f"{k} is a numeric scalar attribute")
            same = all(np.array_equal(f["trials/" + k][:], g["trials/" + k][:], equal_nan=True)
                       for k in ["cue", "decision", "counts", "reward", "rpe", "peak/DA", "peak/NA"])
            check(same, "/trials identical for --threads 1 and 2")
        # Checkpoint in the middle of a trial (8750 ms: the outcome phase of trial 12), resume with
        # another thread count: the same /trials, row by row, and the same summary.
        short = ["--set", "task.gng.trials=24", "--set", "simulation.duration=16800", "--set", "task.gng.reversal.after=12"]
        c = run(d, "c.h5", "--threads", "2", *short, "--duration", "8750", "--checkpoint-every", "8750")
        run(d, "c.h5", "--threads", "1", *short, "--resume", os.path.join(d, "c.ckpt.h5"))
        with h5py.File(a) as f, h5py.File(c) as g:
            names = []
            f["trials"].visit(lambda n: names.append(n) if isinstance(f["trials"][n], h5py.Dataset) else None)
            same = all(np.array_equal(f["trials"][n][:], g["trials"][n][:], equal_nan=True) for n in names)
            check(len(names) >= 15 and same, f"/trials after checkpoint and resume identical ({len(names)} datasets)")
            def same_attr(x, y):
                if isinstance(x, (str, bytes)):
                    return x == y
                return np.array_equal(x, y, equal_nan=True)
            attrs_same = all(same_attr(f["trials"].attrs[k], g["trials"].attrs[k]) for k in f["trials"].attrs)
            check(attrs_same, "summary attributes after checkpoint and resume identical")
        # A run killed with SIGKILL keeps the trials up to its last flush (every 2 s simulated).
        k = os.path.join(d, "killed.h5")
        proc = subprocess.Popen([BIN, "run", NET, "-o", k, "--quiet", "--force", "--threads", "1", "--set",
                                 "task.gng.trials=100000", "--set", "simulation.duration=70000000", "--set",
                                 "output.flush_interval=2000", "--set", "output.compression=0"],
                                stdout=subprocess.DEVNULL)
        seen = 0
        deadline = time.time() + 60
        while time.time() < deadline and seen < 10:
            time.sleep(0.2)
            try:
                with h5py.File(k, "r", swmr=True, locking=False) as f:
                    seen = int(f["trials"].attrs["n_trials"]) if "trials" in f else 0
            except (OSError, KeyError):
                pass
        proc.kill()
        proc.wait()
        # What the file guarantees (docs/reliability.md): every row up to simulated_time, i.e. every
        # trial that ended by the last completed flush, in every column; rows of the burst the kill
        # interrupted may be there too, in some columns and not others, with the summary
        # attributes of either burst.
        with h5py.File(k, "r", swmr=True, locking=False) as f:
            t = f["trials"]
            done = int(float(f.attrs["simulated_time"]) // float(t.attrs["trial_duration"]))
            cols = ["index", "start", "cue", "decision", "rpe", "peak/DA"]
            lengths = [t[c].shape[0] for c in cols]
            n_attr = int(t.attrs["n_trials"])
            whole = min(lengths) >= done and list(t["index"][:done]) == list(range(done))
            check(seen >= 10 and f.attrs["status"] == "running" and whole and
                  done <= n_attr <= max(lengths) and n_attr >= seen,
                  f"killed run: the {done} trials ended by simulated_time in every column (rows {lengths}), "
                  f"n_trials {n_attr} (>= {seen} seen while running)")
        info = subprocess.run([BIN, "info", a], check=True, capture_output=True, text=True).stdout
        check("trials: task gng, 24 trials" in info and "accuracy per 20 trials" in info, "nmsim info shows the trials")
    print(f"{len(FAILURES)} failed" if FAILURES else "all trials checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
