#!/usr/bin/env python3
"""Checkpoint and resume through the nmsim program (docs/checkpoint.md): a run stopped at a
checkpoint and resumed -- with another --threads (1 -> 2, 2 -> 3), or after the first half was
killed with SIGKILL -- writes an output file whose every dataset (spikes, state reports, weights
and final weights, modulator probes and field snapshots) is bit-identical to the uninterrupted
run's, and so are the task's trials. Network: tests/data/checkpoint_net.toml (stdp_eligibility
gated by a DA grid field with release, pair STDP, Poisson, noise and current stimuli, delays
longer than the window, a dendritic delay, a closed-loop task releasing into both modulators). Bad checkpoints and changed configs are refused with exit code 2 and no output file."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
SRC = os.environ.get("NMSIM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CFG = os.path.join(SRC, "tests", "data", "checkpoint_net.toml")
FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def run(*args, expect=0):
    r = subprocess.run([BIN, "run", CFG, "--quiet", *args], capture_output=True, text=True, timeout=600)
    if r.returncode != expect:
        print(f"  nmsim run {' '.join(args)} -> {r.returncode}\n  {r.stderr.strip()[:500]}")
    return r


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name != "config":
                out[name] = (obj[()], dict(obj.attrs))
        f.visititems(visit)
    return out


def same_file(a, b, what):
    da, db = datasets(a), datasets(b)
    missing = sorted(set(da) ^ set(db))
    differ = []
    for k in sorted(set(da) & set(db)):
        x, y = da[k][0], db[k][0]
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            equal = x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
        else:
            equal = np.array_equal(x, y)
        if not equal or {n: str(v) for n, v in da[k][1].items()} != {n: str(v) for n, v in db[k][1].items()}:
            differ.append(k)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ta = {n: str(v) for n, v in fa["trials"].attrs.items()}
        tb = {n: str(v) for n, v in fb["trials"].attrs.items()}
    if ta != tb:
        differ.append("trials (summary attributes)")
    check(not missing and not differ and len(da) > 20 and "trials/rpe" in da,
          f"{what}: all {len(da)} datasets bit-identical (only in one: {missing[:5]}, differ: {differ[:5]})")
    return da


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_ckpt_")
    ref = os.path.join(tmp, "ref.h5")
    check(run("-o", ref, "--threads", "2").returncode == 0, "uninterrupted reference run")
    with h5py.File(ref, "r") as f:
        n_spikes = len(f["spikes/post/timestamps"])
        w = f["weights/ff/data"][...]
        check(n_spikes > 50 and not np.array_equal(w[0], w[-1]), f"reference: activity and learning ({n_spikes} spikes)")

    # 1 -> 2 threads, checkpoints at the window boundaries at or after 45 and 90 ms (the window is
    # 0.7 ms: 45.5 and 90.3 ms; the second replaces the first), resume to 200 ms.
    out = os.path.join(tmp, "a.h5")
    r = run("-o", out, "--threads", "1", "--duration", "130", "--checkpoint-every", "45")
    ck = os.path.join(tmp, "a.ckpt.h5")
    check(r.returncode == 0 and os.path.exists(ck), "first half with --checkpoint-every writes out.ckpt.h5")
    with h5py.File(ck, "r") as f:
        check(len(f["state/stimulus/gng/done/index"]) >= 2, "the checkpoint holds the task's completed trials")
    with h5py.File(ck, "r") as f:
        check(f.attrs["step"] == 903, f"last checkpoint at the first window boundary after 90 ms ({f.attrs['time']} ms)")
    check(not [p for p in os.listdir(tmp) if ".tmp-" in p], "no temporary checkpoint left behind")
    r = subprocess.run([BIN, "info", ck], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "checkpoint" in r.stdout and "90.3 ms" in r.stdout, "nmsim info describes a checkpoint")
    r = run("-o", out, "--threads", "2", "--resume", ck)
    check(r.returncode == 0, "resume with --threads 2 into the same output")
    if r.returncode == 0:
        same_file(ref, out, "resume 1 -> 2 threads")
        with h5py.File(out, "r") as f:
            check(f.attrs["status"] == "complete" and f.attrs["simulated_time"] == 200.0, "resumed output complete at 200 ms")

    # 2 -> 3 threads, into a new output file.
    out_b = os.path.join(tmp, "b.h5")
    r = run("-o", out_b, "--threads", "2", "--duration", "87.5", "--checkpoint-every", "87.5")
    with h5py.File(os.path.join(tmp, "b.ckpt.h5"), "r") as f:
        check(f.attrs["time"] == 87.5, "a checkpoint at the end of a run that ends on a window boundary")
    out_b2 = os.path.join(tmp, "b2.h5")
    r = run("-o", out_b2, "--threads", "3", "--resume", os.path.join(tmp, "b.ckpt.h5"))
    check(r.returncode == 0, "resume with --threads 3 into another output file")
    if r.returncode == 0:
        same_file(ref, out_b2, "resume 2 -> 3 threads")

    # SIGKILL after a checkpoint: resume from the last checkpoint.
    out_k = os.path.join(tmp, "k.h5")
    ck_k = os.path.join(tmp, "k.ckpt.h5")
    p = subprocess.Popen([BIN, "run", CFG, "--quiet", "-o", out_k, "--threads", "2", "--duration", "1000000",
                          "--checkpoint-every", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not os.path.exists(ck_k) and time.time() - t0 < 60 and p.poll() is None:
        time.sleep(0.02)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    check(os.path.exists(ck_k), "the killed run had written a checkpoint")
    with h5py.File(ck_k, "r") as f:
        t_ck = float(f.attrs["time"])
    check(t_ck >= 20.0, f"the last checkpoint opens after SIGKILL (t = {t_ck} ms)")
    end = t_ck + 40.0
    r = run("-o", out_k, "--threads", "1", "--resume", ck_k, "--duration", f"{end}")
    check(r.returncode == 0, "resume after SIGKILL")
    ref_k = os.path.join(tmp, "ref_k.h5")
    run("-o", ref_k, "--threads", "3", "--duration", f"{end}")
    if r.returncode == 0:
        same_file(ref_k, out_k, f"killed at > {t_ck} ms, resumed to {end} ms")

    # Refusals: exit 2, one line, no output file.
    def refused(args, what, needle):
        target = os.path.join(tmp, "refused.h5")
        r = run("-o", target, *args, expect=2)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and needle in r.stderr and not os.path.exists(target),
              f"{what}: exit 2, one line, no output ({r.returncode}: {r.stderr.strip()[:200]})")

    trunc = os.path.join(tmp, "trunc.ckpt.h5")
    with open(ck, "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[: len(data) // 2])
    refused(["--resume", trunc], "truncated checkpoint", "--resume")
    refused(["--resume", ref], "an output file given as checkpoint", "checkpoint")
    refused(["--resume", CFG], "a text file given as checkpoint", "not HDF5")
    refused(["--resume", os.path.join(tmp, "none.h5")], "a missing checkpoint", "no such file")
    refused(["--resume", ck, "--seed", "12"], "another seed", "seed")
    refused(["--resume", ck, "--set", "projection.ff.weight=30.0"], "another weight", "weight")
    refused(["--resume", ck, "--duration", "50"], "a duration before the checkpoint", "duration")
    r = run("-o", ck, "--resume", ck, "--force", expect=2)
    check(r.returncode == 2 and os.path.exists(ck), "the checkpoint itself as output: refused, checkpoint kept")
    refused(["--checkpoint-every", "0.05"], "a checkpoint interval off the dt grid", "--checkpoint-every")

    print(f"{len(FAILURES)} failed" if FAILURES else "all checkpoint checks passed")
    if not FAILURES:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
