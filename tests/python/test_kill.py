#!/usr/bin/env python3
"""SIGKILL at random moments of a real `nmsim run` (docs/reliability.md): with compression on and a
write burst every few steps, so that many kills land inside a burst (data appends, chunk
rewrites, H5Fflush). Every killed file must open with h5py (SWMR read access: the killed writer
leaves its flags set) and hold, bit for bit, the uninterrupted run up to its `simulated_time`
(every state row and every spike), and every dataset must read in full.

  test_kill.py                  # the quick test of `make test`: 24 kills
  test_kill.py --trials 300     # the stress run quoted in docs/reliability.md
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--flush", type=float, default=0.5, help="output.flush_interval [ms]")
    ap.add_argument("--compression", type=int, default=4)
    ap.add_argument("--max-delay", type=float, default=1.5, help="kill within this many s of the file appearing")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        # The reference: long enough that no killed run gets to its end.
        ref = os.path.join(tmp, "ref.h5")
        cfg = os.path.join(tmp, "kill.toml")
        duration = 400.0
        with open(cfg, "w") as fh:
            fh.write(CONFIG)
        overrides = ["--set", f"simulation.duration={duration}", "--set", f"output.flush_interval={args.flush}",
                     "--set", f"output.compression={args.compression}"]
        t0 = time.time()
        subprocess.run([BIN, "run", cfg, "-o", ref, "--quiet"] + overrides, check=True, timeout=600, stdout=subprocess.DEVNULL)
        ref_wall = time.time() - t0
        with h5py.File(ref, "r") as f:
            ref_v = f["report/exc/v/data"][...]
            ref_t = f["spikes/exc/timestamps"][...]
            ref_id = f["spikes/exc/node_ids"][...]
        times, in_burst = [], 0
        for trial in range(args.trials):
            out = os.path.join(tmp, f"k{trial}.h5")
            p = subprocess.Popen([BIN, "run", cfg, "-o", out, "--quiet"] + overrides, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            # The file appears (renamed from out.part) once its first flush is complete. (Before
            # that, `nmsim run` creates and removes an empty file of that name to check the path.)
            def present():
                try:
                    return os.path.getsize(out) > 0
                except OSError:
                    return False

            while not present() and p.poll() is None:
                time.sleep(0.002)
            if not present():
                failures.append(f"kill #{trial}: the run ended before its file appeared (exit {p.returncode}: "
                                f"{p.stderr.read().decode().strip()[:200]})")
                print("FAIL  " + failures[-1])
                continue
            time.sleep(float(rng.uniform(0.0, min(args.max_delay, 0.8 * ref_wall))))
            p.kill()
            p.wait()
            p.stderr.close()
            try:
                data, attrs = read_all(out)
                sim = float(attrs["simulated_time"])
                v = data["report/exc/v/data"]
                t = data["spikes/exc/timestamps"]
                ids = data["spikes/exc/node_ids"]
                rows = int(round(sim / 0.1)) + 1
                keep = ref_t <= sim + 1e-9
                ok = (attrs["status"] in ("running", "complete") and v.shape[0] >= rows and len(t) == len(ids) and
                      np.array_equal(v[:rows], ref_v[:rows]) and
                      np.array_equal(t[t <= sim + 1e-9], ref_t[keep]) and
                      np.array_equal(ids[t <= sim + 1e-9], ref_id[keep]))
                # Rows past simulated_time belong to the burst the kill interrupted: whatever of it
                # is there must be the run's data too (never garbage).
                extra_ok = np.array_equal(v, ref_v[:v.shape[0]]) and np.array_equal(t, ref_t[:len(t)])
                if v.shape[0] > rows or len(t) > int(keep.sum()):
                    in_burst += 1
                times.append(sim)
                msg = f"kill #{trial}: opens, {sim} ms, {v.shape[0]} rows, {len(t)} spikes"
                if not (ok and extra_ok):
                    failures.append(msg + f" (up to simulated_time: {ok}; past it: {extra_ok})")
                    print("FAIL  " + failures[-1])
            except Exception as e:  # noqa: BLE001 -- any failure to open or read counts
                failures.append(f"kill #{trial}: {type(e).__name__}: {e}")
                print("FAIL  " + failures[-1])
    print(f"{args.trials} kills (flush_interval {args.flush} ms, compression {args.compression}): "
          f"{args.trials - len(failures)} files open and hold the run up to simulated_time "
          f"(median {np.median(times) if times else 0:.1f} ms, {in_burst} killed with part of a burst written); "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
