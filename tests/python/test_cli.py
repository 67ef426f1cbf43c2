#!/usr/bin/env python3
"""The nmsim program end to end: commands, exit codes, error messages, --set, determinism across
--threads (identical HDF5 spikes and state), interruption by SIGINT. Uses h5py alone."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
FAILURES = []

NET = """
[simulation]
dt = 0.1
duration = 300.0
seed = 11

[output]
file = "net.h5"
flush_interval = 50.0

[[population]]
name = "exc"
model = "lif"
size = 160
params = { tau_m = 20.0, e_l = -60.0, v_reset = -60.0, v_th = -50.0, tau_syn_ex = 2.0, tau_syn_in = 4.0 }
init = { v = { uniform = [-60.0, -50.0] } }

[[population]]
name = "inh"
model = "lif_cond"
size = 40
params = { c_m = 200.0, g_l = 10.0, e_l = -60.0, v_th = -50.0, v_reset = -60.0 }

[[population]]
name = "izh"
model = "izhikevich"
size = 30
params = { preset = "RS", integrator = "rk4" }

[[projection]]
name = "ee"
source = "exc"
target = "exc"
connect = { rule = "fixed_probability", p = 0.1, autapses = false }
weight = { normal = [40.0, 10.0], min = 0.0 }
delay = { uniform = [0.5, 3.0] }

[[projection]]
name = "ei"
source = "exc"
target = "inh"
connect = { rule = "fixed_indegree", k = 20 }
weight = 3.0
delay = 1.0

[[projection]]
name = "ie"
source = "inh"
target = "exc"
connect = { rule = "fixed_outdegree", k = 30 }
weight = -80.0
delay = 0.5

[[projection]]
name = "ez"
source = "exc"
target = "izh"
connect = { rule = "all_to_all" }
weight = 0.5
delay = 2.0

[[stimulus]]
name = "drive"
kind = "poisson"
target = "exc"
rate = 2500.0
weight = 40.0

[[stimulus]]
name = "step"
kind = "current"
target = "inh"
times = [50.0, 150.0]
amplitudes = [120.0, 0.0]

[[record]]
kind = "spikes"
what = "exc"

[[record]]
kind = "spikes"
what = "inh"

[[record]]
kind = "spikes"
what = "izh"

[[record]]
kind = "state"
what = "exc.v"
which = [0, 5, 159]
interval = 0.5

[[record]]
kind = "state"
what = "izh.u"
interval = 1.0
"""


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def run(*args, timeout=300):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def read(path):
    with h5py.File(path, "r") as f:
        out = {"status": f.attrs["status"], "config": f["config"][()]}
        for pop in ("exc", "inh", "izh"):
            out[pop + "/t"] = f[f"spikes/{pop}/timestamps"][...]
            out[pop + "/id"] = f[f"spikes/{pop}/node_ids"][...]
        out["v"] = f["report/exc/v/data"][...]
        out["u"] = f["report/izh/u/data"][...]
    for k in ("status", "config"):
        if isinstance(out[k], bytes):
            out[k] = out[k].decode()
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_cli_")
    cfg = os.path.join(tmp, "net.toml")
    with open(cfg, "w") as f:
        f.write(NET)

    r = run("--version")
    check(r.returncode == 0 and r.stdout.startswith("nmsim "), "--version prints the version, exit 0")
    for args in (["--help"], ["run", "--help"], ["validate", "--help"], ["info", "--help"]):
        r = run(*args)
        check(r.returncode == 0 and "nmsim" in r.stdout, f"{' '.join(args)} exits 0 with help on stdout")

    r = run("validate", cfg)
    check(r.returncode == 0 and "valid" in r.stdout, "validate accepts a good config")

    # Bad input: exit 2, one message on stderr naming file, line:col, key, expected and found.
    bad_cases = {
        "unknown key": ("size = 160", "sise = 160", ["population.exc.sise", "unknown key", "expected one of"]),
        "wrong type": ("size = 40", "size = \"forty\"", ["population.inh.size", "expected a number", "forty"]),
        "unknown model": ('model = "lif_cond"', 'model = "lif_con"', ["population.inh.model", "lif_con"]),
        "unknown population": ('source = "inh"', 'source = "inhh"', ["projection.ie.source", "inhh"]),
        "negative time constant": ("tau_m = 20.0", "tau_m = -20.0", ["population.exc.params.tau_m", "> 0"]),
        "delay below dt": ("delay = 0.5\n", "delay = 0.05\n", ["projection.ie.delay", "dt"]),
        "p outside [0, 1]": ("p = 0.1", "p = 1.5", ["projection.ee.connect.p", "[0, 1]"]),
        "dt not dividing duration": ("duration = 300.0", "duration = 300.05", ["simulation.duration", "multiple of dt"]),
        "missing required key": ('target = "izh"\n', "\n", ["projection.ez.target", "missing"]),
    }
    for name, (old, new, needles) in bad_cases.items():
        assert old in NET, old
        path = os.path.join(tmp, "bad.toml")
        with open(path, "w") as f:
            f.write(NET.replace(old, new, 1))
        for cmd in ("validate", "run"):
            r = run(cmd, path, "-o", os.path.join(tmp, "bad.h5"))
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            ok = r.returncode == 2 and len(lines) == 1 and all(n in r.stderr for n in needles)
            ok = ok and "bad.toml:" in r.stderr and r.stdout == ""
            check(ok, f"{cmd}: {name} -> exit 2 and one clear message ({r.returncode}: {r.stderr.strip()})")
    check(not os.path.exists(os.path.join(tmp, "bad.h5")), "no output file is created for bad input")

    for args, needle in ((["run", cfg, "--set", "simulation.seed"], "KEY=VALUE"),
                         (["run", cfg, "--set", "population.nope.size=3"], "nope"),
                         (["run", cfg, "--threads", "two"], "--threads"),
                         (["run", cfg, "--frobnicate"], "unknown option"),
                         (["run", os.path.join(tmp, "missing.toml")], "cannot open"),
                         (["info", os.path.join(tmp, "missing.h5")], "missing.h5"),
                         (["launch", cfg], "unknown command")):
        r = run(*args)
        check(r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1,
              f"{' '.join(args[:3])}... -> exit 2 mentioning {needle!r} ({r.returncode}: {r.stderr.strip()})")

    # Runs with 1, 2, 3 threads write identical spikes and state.
    results = {}
    for n in (1, 2, 3):
        out = os.path.join(tmp, f"t{n}.h5")
        r = run("run", cfg, "-o", out, "--threads", str(n), "--set", "population.izh.params.i_e=4.0")
        check(r.returncode == 0, f"run with --threads {n} succeeds ({r.stderr.strip()[:200]})")
        check(f"output: {out}" in r.stdout and "exc" in r.stdout, f"run --threads {n} prints a summary on stdout")
        results[n] = read(out)
    base = results[1]
    check(base["status"] == "complete", "status is complete")
    check(len(base["exc/t"]) > 500 and len(base["inh/t"]) > 10 and len(base["izh/t"]) > 10,
          f"all populations are active ({len(base['exc/t'])}, {len(base['inh/t'])}, {len(base['izh/t'])} spikes)")
    check("i_e = 4" in base["config"], "/config holds the resolved config with the --set applied")
    for n in (2, 3):
        same = all(np.array_equal(base[k], results[n][k]) for k in base if k not in ("status", "config"))
        check(same, f"--threads {n} gives bit-identical spikes and state to --threads 1")
    check(base["v"].shape == (601, 3) and base["u"].shape == (301, 30), f"report shapes {base['v'].shape} {base['u'].shape}")

    # --seed changes the realisation; --duration shortens the run.
    out = os.path.join(tmp, "seed.h5")
    r = run("run", cfg, "-o", out, "--seed", "12", "--duration", "100")
    other = read(out)
    check(r.returncode == 0 and other["v"].shape[0] == 201, "--duration 100 gives 201 state rows")
    check(not np.array_equal(other["exc/t"], base["exc/t"][: len(other["exc/t"])]), "--seed changes the spikes")

    # info summarises the file.
    r = run("info", os.path.join(tmp, "t1.h5"))
    check(r.returncode == 0 and "complete" in r.stdout and "exc" in r.stdout and "izh/u" in r.stdout,
          "info lists status, spikes and reports")
    with h5py.File(os.path.join(tmp, "t1.h5"), "r") as f:
        s = f["summary"].attrs
        events = int(s["synaptic_events"])
        sim_ms = float(s["simulated_time"])
    check(f"summary: simulated {sim_ms:g} ms in " in r.stdout and f"{events} synaptic events" in r.stdout,
          "info prints /summary (simulated time, wall time, synaptic events)")

    # SIGINT stops at a window boundary, keeps everything written: status interrupted, exit 130.
    out = os.path.join(tmp, "int.h5")
    p = subprocess.Popen([BIN, "run", cfg, "-o", out, "--duration", "200000", "--threads", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    check(p.returncode == 130, f"SIGINT -> exit 130 (got {p.returncode}: {stderr.strip()[:200]})")
    with h5py.File(out, "r") as f:
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else status
        t = f["spikes/exc/timestamps"][...]
        simulated = float(f.attrs["simulated_time"])
        rows = f["report/exc/v/data"].shape[0]
    check(status == "interrupted", f"interrupted run has status interrupted ({status})")
    check(0 < simulated < 200000 and len(t) > 0 and t.max() <= simulated + 1e-9,
          f"interrupted file holds the run up to its end ({simulated} ms, {len(t)} spikes)")
    check(rows == int(round(simulated / 0.5)) + 1, f"state rows match the simulated time ({rows})")

    print(f"{len(FAILURES)} failed" if FAILURES else "all CLI checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
