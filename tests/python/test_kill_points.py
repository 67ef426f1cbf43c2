#!/usr/bin/env python3
"""Every state a SIGKILL can leave an `nmsim run` output file in, checked one by one
(docs/reliability.md). test_kill.py kills at random wall-clock moments, so a state that lasts a
few microseconds of each write burst is met about once in a thousand kills; here the run of
test_kill.py is journaled (tests/support/kill_journal.c, LD_PRELOAD: every write, truncation,
allocation and the rename of the output file), killed after --changes changes like test_kill's
runs, and the file is rebuilt change by change. A kill falls between two system calls or inside
a write at a page boundary of the file (the kernel checks for a fatal signal page by page), so
after every change and at every page boundary inside a write the rebuilt file must open with
h5py (SWMR read access) and hold, bit for bit, the uninterrupted run up to its simulated_time.
Rows past simulated_time (the burst the kill interrupted) must be the run's rows too; there the
two spike datasets may differ in length (the kill fell between their object headers), which
readers handle by cutting at simulated_time or at the shorter one.

  test_kill_points.py                   # ~40 ms of the run, every kill point (make test)
  test_kill_points.py --changes 40000   # ~2.6 s: also the first spike chunks filling up
"""
import argparse
import collections
import os
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BUILD = os.environ.get("NMSIM_BINARY_DIR", "build")
JOURNAL_LIB = os.path.join(BUILD, "tests", "nmsim_kill_journal.so")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.environ.get("NMSIM_SOURCE_DIR", os.path.join(HERE, "..", "..")), "scripts"))
from test_kill import BIN, reference_run  # noqa: E402
from test_reliability import BIG as CONFIG  # noqa: E402
from nmsim_analysis import load  # noqa: E402

PAGE = 4096
V_TAIL = 400  # rows of the state report compared at each kill point: its last chunks (163 rows each)


def read_journal(path):
    ops, data, pos = [], open(path, "rb").read(), 0
    while pos < len(data):
        kind = data[pos:pos + 1].decode()
        a, b = struct.unpack("<qq", data[pos + 1:pos + 17])
        pos += 17
        payload = b""
        if kind == "W":
            payload = data[pos:pos + b]
            pos += b
        ops.append((kind, a, b, payload))
    return ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=600, help="kill the run after this many changes of its file")
    ap.add_argument("--flush", type=float, default=0.5, help="output.flush_interval [ms]")
    ap.add_argument("--compression", type=int, default=4)
    args = ap.parse_args()
    if not os.path.exists(JOURNAL_LIB):
        print(f"FAIL  {JOURNAL_LIB} not built")
        return 1
    failures, stats, kinds = [], {"points": 0, "past": 0, "unequal": 0}, collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "kill.toml")
        with open(cfg, "w") as fh:
            fh.write(CONFIG)
        overrides = ["--set", f"output.flush_interval={args.flush}", "--set", f"output.compression={args.compression}"]
        out, journal = os.path.join(tmp, "k.h5"), os.path.join(tmp, "journal.bin")
        env = dict(os.environ, LD_PRELOAD=JOURNAL_LIB, NMSIM_JOURNAL=journal, NMSIM_JOURNAL_MATCH=os.sep + "k.h5",
                   NMSIM_JOURNAL_KILL_AFTER=str(args.changes))
        p = subprocess.run([BIN, "run", cfg, "-o", out, "--quiet", "--duration", "100000000"] + overrides, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        if p.returncode != -9 or not os.path.exists(out):
            print(f"FAIL  the journaled run was not killed after {args.changes} changes with its file in place "
                  f"(exit {p.returncode}: {p.stderr.decode().strip()[:300]})")
            return 1
        ops = read_journal(journal)
        with h5py.File(out, "r", swmr=True, locking=False) as f:
            extent = max(float(f.attrs["simulated_time"]), 0.1 * f["report/exc/v/data"].shape[0],
                         float(f["spikes/exc/timestamps"][...].max(initial=0.0)))
        ref_v, ref_t, ref_id = reference_run(cfg, overrides, extent, tmp)

        image = os.path.join(tmp, "image.h5")

        def check(label):
            stats["points"] += 1
            try:
                with h5py.File(image, "r", swmr=True, locking=False) as f:
                    sim = float(f.attrs["simulated_time"])
                    status = f.attrs["status"]
                    # Only the last chunks of the state report change in a burst (a full chunk is
                    # never written again); the whole file is compared at the end.
                    data = f["report/exc/v/data"]
                    v0 = max(0, data.shape[0] - V_TAIL)
                    v = data[v0:]
                    t = f["spikes/exc/timestamps"][...]
                    ids = f["spikes/exc/node_ids"][...]
            except Exception as e:  # noqa: BLE001 -- any failure to open or read counts
                failures.append(f"{label}: {type(e).__name__}: {e}")
                return
            rows = int(round(sim / 0.1)) + 1
            need = int((ref_t <= sim + 1e-9).sum())
            problems = []
            if (status.decode() if isinstance(status, bytes) else status) != "running":
                problems.append(f"status {status}")
            if v0 + v.shape[0] < rows:
                problems.append(f"state report behind simulated_time ({v0 + v.shape[0]} of {rows} rows)")
            if len(t) < need or len(ids) < need:
                problems.append(f"spikes behind simulated_time ({len(t)} timestamps, {len(ids)} node_ids of the "
                                f"reference's {need} up to {sim} ms)")
            if not (np.array_equal(v, ref_v[v0:v0 + v.shape[0]]) and np.array_equal(t, ref_t[:len(t)]) and
                    np.array_equal(ids, ref_id[:len(ids)])):
                problems.append("data differ from the uninterrupted run")
            if problems:
                failures.append(f"{label}: simulated_time {sim} ms: " + "; ".join(problems))
                kinds[" + ".join(q.split(" (")[0] for q in problems)] += 1
                return
            if v0 + v.shape[0] > rows or len(t) > need or len(ids) > need:
                stats["past"] += 1
            if len(t) != len(ids):
                # nmsim_analysis.load pairs them up to the shorter one.
                stats["unequal"] += 1
                s = load(image).spikes["exc"]
                if len(s.times) != len(s.ids) or len(s.times) < need:
                    failures.append(f"{label}: nmsim_analysis.load gives {len(s.times)} times, {len(s.ids)} ids")

        fd = os.open(image, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        renamed = False  # before the rename a kill leaves only <file>.part
        for i, (kind, a, b, payload) in enumerate(ops, 1):
            if kind == "W":
                if renamed:
                    for cut in range((a // PAGE + 1) * PAGE, a + b, PAGE):
                        os.pwrite(fd, payload[:cut - a], a)
                        check(f"inside change {i} (write of {b} bytes at {a}, first {cut - a})")
                os.pwrite(fd, payload, a)
            elif kind == "T":
                os.ftruncate(fd, a)
            elif kind == "F":
                os.posix_fallocate(fd, a, b)
            elif kind == "R":
                renamed = True
            if renamed:
                check(f"after change {i} ({kind} {a} {b})")
        os.close(fd)
        if not renamed:
            failures.append("no rename of <file>.part to <file> was journaled: no kill point was checked")
        with open(image, "rb") as x, open(out, "rb") as y:
            if x.read() != y.read():
                failures.append("the replayed journal differs from the killed file: a write was not journaled")
        with h5py.File(out, "r", swmr=True, locking=False) as f:
            v = f["report/exc/v/data"][...]
            if not np.array_equal(v, ref_v[:v.shape[0]]):
                failures.append("the killed file's state report differs from the uninterrupted run")
    for msg in failures[:20]:
        print("FAIL  " + msg)
    print(f"{stats['points']} kill points in {len(ops)} changes of the file (killed at {extent:.1f} ms of "
          f"simulated time): {stats['points'] - len(failures)} hold the run up to simulated_time, {stats['past']} "
          f"with rows past it, {stats['unequal']} with spike datasets of unequal length past it; "
          f"{len(failures)} failed" + "".join(f"\n  {n} kill points: {k}" for k, n in kinds.most_common()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
