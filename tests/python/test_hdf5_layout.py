#!/usr/bin/env python3
"""The HDF5 result layout of SPEC.md ("Output file (HDF5)"), checked with h5py alone.

The reference file is written by a hidden test case of the integration suite
(tests/integration/hdf5_inspect.cpp, tag [.hdf5_fixture]): 4 LIF neurons (delta synapses)
driven to spike at t = 1, 2, 6, 7.5 ms, neuron 3 also under a 200 pA current; spikes of "exc"
and "inh", V of neurons 0 and 3 every 0.5 ms, 10 ms at dt = 0.1 ms, seed 42, 2 threads.
"""
import math
import os
import subprocess
import sys
import tempfile
from datetime import datetime

import h5py
import numpy as np

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAILED:", what, file=sys.stderr)


def write_fixture(path, unfinished=False):
    bin_dir = os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin")
    exe = os.path.join(bin_dir, "test_integration")
    if not os.path.exists(exe):
        sys.exit(f"test_hdf5_layout: {exe} not found (build the test_integration target)")
    env = dict(os.environ, NMSIM_HDF5_FIXTURE=path, NMSIM_HDF5_FIXTURE_UNFINISHED="1" if unfinished else "0")
    r = subprocess.run([exe, "[.hdf5_fixture]"], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit(f"test_hdf5_layout: writing the fixture failed:\n{r.stdout}\n{r.stderr}")


def check_root(f, status):
    a = f.attrs
    check(a["magic"].dtype == np.uint32 and a["magic"] == 0x0A7A, "root magic = 0x0A7A (uint32)")
    v = a["version"]
    check(v.dtype == np.uint32 and list(v) == [0, 1], "root version = [0, 1] (uint32 x2)")
    check(a["status"] == status, f"status == {status!r} (found {a['status']!r})")
    check(isinstance(a["nmsim_version"], str) and a["nmsim_version"].count(".") == 2, "nmsim_version is a version string")
    created = a["created"]
    check(isinstance(created, str) and created.endswith("Z"), "created is ISO-8601 UTC")
    datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    check(a["seed"] == 42 and a["seed"].dtype == np.uint64, "seed = 42 (uint64)")
    check(a["dt"] == 0.1, "dt = 0.1 ms")
    check(a["duration"] == 10.0, "duration = 10 ms")
    check(a["threads"] == 2, "threads = 2")
    config = f["config"][()]
    config = config.decode() if isinstance(config, bytes) else config
    check(config == "[simulation]\nduration = 10.0\n", "/config holds the TOML text")
    check(f["populations/exc"].attrs["size"] == 4 and f["populations/inh"].attrs["size"] == 2, "population sizes")


def check_spikes(f):
    g = f["spikes/exc"]
    enum = h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype)
    check(enum == {"none": 0, "by_id": 1, "by_time": 2}, f"sorting is the SONATA enum (found {enum})")
    check(g.attrs["sorting"] == 2, "sorting = by_time")
    ts, ids = g["timestamps"], g["node_ids"]
    check(ts.dtype == np.float64 and ts.attrs["units"] == "ms", "timestamps float64 with units ms")
    check(ids.dtype == np.uint64, "node_ids uint64")
    check(ts.chunks is not None and ts.maxshape == (None,), "timestamps chunked and extendible")
    check(np.allclose(ts[:], [1.0, 2.0, 6.0, 7.5], atol=1e-12, rtol=0), f"spike times (found {ts[:]})")
    check(list(ids[:]) == [0, 3, 0, 2], f"spike ids (found {ids[:]})")
    check(np.all(np.diff(ts[:]) >= 0), "timestamps sorted")
    inh = f["spikes/inh"]
    check(inh["timestamps"].shape == (0,) and inh["node_ids"].shape == (0,), "inh has no spikes")
    check(inh["timestamps"].attrs["units"] == "ms", "empty timestamps still carry units")


def check_report(f):
    r = f["report/exc/v"]
    data = r["data"]
    check(data.dtype == np.float32 and data.attrs["units"] == "mV", "data float32 with units mV")
    check(data.shape == (21, 2), f"data shape (21, 2) (found {data.shape})")
    check(data.chunks is not None and data.maxshape[0] is None, "data chunked, extendible in time")
    m = r["mapping"]
    check(m["node_ids"].dtype == np.uint64 and list(m["node_ids"][:]) == [0, 3], "mapping/node_ids uint64 [0, 3]")
    check(list(m["element_ids"][:]) == [0, 0] and m["element_ids"].dtype.kind == "u", "element_ids zeros")
    ip = m["index_pointers"]
    check(ip.dtype == np.uint64 and list(ip[:]) == [0, 1, 2], "index_pointers uint64 0..n")
    t = m["time"]
    check(t.dtype == np.float64 and t.attrs["units"] == "ms", "mapping/time float64 with units ms")
    start, stop, step = t[:]
    check(abs(start) < 1e-12 and abs(stop - 10.5) < 1e-9 and abs(step - 0.5) < 1e-12,
          f"mapping/time = [0, 10.5, 0.5] (found {t[:]})")
    check(round((stop - start) / step) == data.shape[0], "SONATA: n_times = (stop - start) / step")
    v = data[:]
    check(np.all(v[:, 0] == np.float32(-70.0)), "neuron 0 (no current) rests at -70 mV between resets")
    # Neuron 3 under 200 pA: V(t) = E_L + R I (1 - exp(-t / tau_m)), R I = 8 mV, until its spike at 2 ms.
    for row in range(4):
        tt = 0.5 * row
        expected = -70.0 + 8.0 * (1.0 - math.exp(-tt / 10.0))
        check(abs(v[row, 1] - expected) < 1e-4, f"V_3({tt} ms) = {expected} (found {v[row, 1]})")
    check(v[4, 1] == np.float32(-70.0), "V_3 reset at its spike (t = 2 ms)")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        done = os.path.join(tmp, "complete.h5")
        write_fixture(done)
        with h5py.File(done, "r") as f:
            check_root(f, "complete")
            check_spikes(f)
            check_report(f)
        # A run that died right after a flush: the file opens (SWMR read access: the writer's flags
        # stay set, docs/reliability.md), says "running", holds the data.
        died = os.path.join(tmp, "died.h5")
        write_fixture(died, unfinished=True)
        with h5py.File(died, "r", swmr=True, locking=False) as f:
            check_root(f, "running")
            check_spikes(f)
            check_report(f)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("hdf5 layout: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
