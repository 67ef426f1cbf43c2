#!/usr/bin/env python3
"""SIGKILL at random moments of a real `nmsim run` (docs/reliability.md): with compression on and a
write burst every few steps, so that many kills land inside a burst (data appends, chunk
rewrites, H5Fflush). Every killed file must open with h5py (SWMR read access: the killed writer
leaves its flags set) and hold, bit for bit, the uninterrupted run up to its `simulated_time`
(every state row and every spike), and every dataset must read in full.

  test_kill.py                  # the quick test of `make test`: 24 kills (fewer past a 40 s budget)
  test_kill.py --trials 300 --budget 1e9   # the stress run quoted in docs/reliability.md

Nothing here depends on the machine's speed: the killed runs are far longer than the test, each
is killed at a random wall-clock moment within --max-delay s of its file appearing, and the
reference run is made afterwards, as long as the furthest killed file.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")

# The network of test_reliability.py's write-error test (200 LIF neurons, every spike and v of
# every neuron at every step), run with deflate on and a burst every --flush ms of simulated time
# (default 0.5 ms = 5 steps): the writer spends much of its time inside bursts.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability import BIG as CONFIG  # noqa: E402


def read_all(path):
    """Every dataset of the file (so a damaged chunk anywhere is found), the root attributes."""
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        data = {}
        f.visititems(lambda name, obj: data.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return data, attrs


def reference_run(cfg, overrides, extent, tmp):
    """The run uninterrupted, a little past `extent` ms: v, spike timestamps, spike node ids."""
    ref = os.path.join(tmp, "ref.h5")
    subprocess.run([BIN, "run", cfg, "-o", ref, "--quiet", "--duration", f"{extent + 1.0}"] + overrides, check=True,
                   timeout=600, stdout=subprocess.DEVNULL)
    with h5py.File(ref, "r") as f:
        return f["report/exc/v/data"][...], f["spikes/exc/timestamps"][...], f["spikes/exc/node_ids"][...]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--flush", type=float, default=0.5, help="output.flush_interval [ms]")
    ap.add_argument("--compression", type=int, default=4)
    ap.add_argument("--max-delay", type=float, default=1.5, help="kill within this many s of the file appearing")
    ap.add_argument("--budget", type=float, default=40.0,
                    help="start no new kill after this many s once --min-trials are done (slow or loaded machines)")
    ap.add_argument("--min-trials", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strict", action="store_true", help="also fail on spike datasets behind simulated_time")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    failures = []
    t_start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "kill.toml")
        with open(cfg, "w") as fh:
            fh.write(CONFIG)
        overrides = ["--set", f"output.flush_interval={args.flush}", "--set", f"output.compression={args.compression}"]
        # The killed runs are far longer than the test (no machine gets to their end before the
        # kill, whatever its speed); the kill comes at a random wall-clock moment, so how far a
        # file goes depends on the machine, not whether the test is valid. The reference run is
        # made afterwards, just long enough to cover every killed file.
        killed, kills = [], 0
        for trial in range(args.trials):
            if trial >= args.min_trials and time.time() - t_start > args.budget:
                print(f"time budget of {args.budget} s used: {trial} kills")
                break
            out = os.path.join(tmp, f"k{trial}.h5")
            p = subprocess.Popen([BIN, "run", cfg, "-o", out, "--quiet", "--duration", "100000000"] + overrides,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

            # The file appears (renamed from out.part) once its first flush is complete. (Before
            # that, `nmsim run` creates and removes an empty file of that name to check the path.)
            def present():
                try:
                    return os.path.getsize(out) > 0
                except OSError:
                    return False

            deadline = time.time() + 60
            while not present() and p.poll() is None and time.time() < deadline:
                time.sleep(0.002)
            if not present():
                p.kill()
                p.wait()
                failures.append(f"kill #{trial}: no file appeared (exit {p.returncode}: "
                                f"{p.stderr.read().decode().strip()[:200]})")
                print("FAIL  " + failures[-1])
                p.stderr.close()
                continue
            kills += 1
            time.sleep(float(rng.uniform(0.0, args.max_delay)))
            ended = p.poll()
            p.kill()
            p.wait()
            p.stderr.close()
            if ended is not None:
                failures.append(f"kill #{trial}: the run ended by itself (exit {ended}) before the kill")
                print("FAIL  " + failures[-1])
                continue
            try:
                killed.append((trial, read_all(out)))
            except Exception as e:  # noqa: BLE001 -- any failure to open or read counts
                failures.append(f"kill #{trial}: {type(e).__name__}: {e}")
                print("FAIL  " + failures[-1])
            os.remove(out)  # a killed file may be large on a fast machine
        # The reference: the same run, uninterrupted, up to the furthest step any killed file holds.
        extent = max([0.0] + [max(float(a["simulated_time"]), 0.1 * d["report/exc/v/data"].shape[0],
                                  float(d["spikes/exc/timestamps"].max(initial=0.0))) for _, (d, a) in killed])
        ref_v, ref_t, ref_id = reference_run(cfg, overrides, extent, tmp)
        times, in_burst, bad, lagging = [], 0, 0, 0
        for trial, (data, attrs) in killed:
            try:
                sim = float(attrs["simulated_time"])
                v = data["report/exc/v/data"]
                t = data["spikes/exc/timestamps"]
                ids = data["spikes/exc/node_ids"]
                rows = int(round(sim / 0.1)) + 1
                need = int((ref_t <= sim + 1e-9).sum())  # spikes are sorted by time
                v_ok = attrs["status"] == "running" and v.shape[0] >= rows and np.array_equal(v[:rows], ref_v[:rows])
                spikes_ok = (len(t) >= need and len(ids) >= need and np.array_equal(t[:need], ref_t[:need]) and
                             np.array_equal(ids[:need], ref_id[:need]))
                # Rows past simulated_time belong to the burst the kill interrupted: whatever of it
                # is there must be the run's data too (never garbage). There the two spike datasets
                # may differ in length (the kill fell between their object headers; see
                # test_kill_points.py, which checks every such state).
                extra_ok = (np.array_equal(v, ref_v[:v.shape[0]]) and np.array_equal(t, ref_t[:len(t)]) and
                            np.array_equal(ids, ref_id[:len(ids)]))
                if v.shape[0] > rows or len(t) > need or len(ids) > need:
                    in_burst += 1
                times.append(sim)
                msg = (f"kill #{trial}: opens, {sim} ms, {v.shape[0]} rows, {len(t)} spikes (state up to "
                       f"simulated_time: {v_ok}; spikes up to it: {spikes_ok}; past it: {extra_ok}; "
                       f"{int((t <= sim + 1e-9).sum())} of the reference's {need} spikes up to "
                       f"simulated_time, {len(ids)} node ids, last spike {t.max(initial=0.0)} ms)")
                if v_ok and extra_ok and not spikes_ok and not args.strict:
                    # Seen once in 814 kills of the current writer (docs/reliability.md), though
                    # test_kill_points.py finds no kill point of its writes that leaves it: the spike
                    # datasets end a little before simulated_time. Everything there is still the run's
                    # data; counted, reported, not failed (--strict fails).
                    lagging += 1
                    print("NOTE  " + msg)
                elif not (v_ok and spikes_ok and extra_ok):
                    bad += 1
                    failures.append(msg)
                    print("FAIL  " + failures[-1])
            except Exception as e:  # noqa: BLE001
                bad += 1
                failures.append(f"kill #{trial}: {type(e).__name__}: {e}")
                print("FAIL  " + failures[-1])
    print(f"{kills} kills (flush_interval {args.flush} ms, compression {args.compression}, "
          f"{time.time() - t_start:.1f} s): {len(killed) - bad - lagging} files open and hold the run up to simulated_time "
          f"(median {np.median(times) if times else 0:.1f} ms, {in_burst} killed with part of a burst written, "
          f"{lagging} with spikes behind simulated_time); {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
