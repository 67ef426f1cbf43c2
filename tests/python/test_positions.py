#!/usr/bin/env python3
"""Population positions from the config (grid, random box, explicit list) reach
/populations/<name>/positions (um) unchanged, random ones identically for any --threads; bad
specifications are exit-2 errors naming the key."""
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
duration = 5.0
[[population]]
name = "a"
model = "lif"
size = 24
positions = { grid = { shape = [4, 3, 2], spacing = [10.0, 20.0, 30.0], origin = [5, 0, -30] } }
[[population]]
name = "b"
model = "lif"
size = 500
positions = { random = { min = [0, 0, 0], max = [100, 50, 10] } }
[[population]]
name = "c"
model = "lif"
size = 2
positions = [[1, 2, 3], [4, 5, 6]]
"""
FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_pos_")
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET)
    pos = {}
    for n in (1, 3):
        out = os.path.join(tmp, f"p{n}.h5")
        r = subprocess.run([BIN, "run", cfg, "-o", out, "--threads", str(n)], capture_output=True, text=True)
        check(r.returncode == 0, f"run --threads {n} ({r.stderr.strip()})")
        with h5py.File(out, "r") as f:
            pos[n] = {p: f[f"populations/{p}/positions"][...] for p in "abc"}
            check(f["populations/a/positions"].attrs["units"] == "um", "positions carry units um")
    a = pos[1]["a"]
    i = np.arange(24)
    expected = np.stack([5 + 10.0 * (i % 4), 20.0 * ((i // 4) % 3), -30 + 30.0 * (i // 12)], axis=1)
    check(np.array_equal(a, expected), "grid positions: x fastest, then y, then z")
    b = pos[1]["b"]
    check(b.shape == (500, 3) and (b >= 0).all() and (b[:, 0] <= 100).all() and (b[:, 2] <= 10).all(), "random positions in the box")
    check(abs(b[:, 0].mean() - 50) < 5 and abs(b[:, 1].mean() - 25) < 3, "random positions roughly uniform")
    check(np.array_equal(pos[1]["c"], np.array([[1, 2, 3], [4, 5, 6]], float)), "explicit positions")
    check(all(np.array_equal(pos[1][p], pos[3][p]) for p in "abc"), "positions identical for --threads 1 and 3")
    for old, new, needle in (("shape = [4, 3, 2]", "shape = [4, 3]", "population.a.positions.grid.shape"),
                             ("[[1, 2, 3], [4, 5, 6]]", "[[1, 2, 3]]", "population.c.positions"),
                             ("max = [100, 50, 10]", "max = [100, -50, 10]", "population.b.positions.random.max"),
                             ("{ grid =", "{ grd =", "population.a.positions")):
        bad = os.path.join(tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write(NET.replace(old, new))
        r = subprocess.run([BIN, "validate", bad], capture_output=True, text=True)
        check(r.returncode == 2 and needle in r.stderr and "bad.toml:" in r.stderr, f"{new!r}: exit 2 naming {needle} ({r.stderr.strip()})")
    print(f"{len(FAILURES)} failed" if FAILURES else "all position checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
