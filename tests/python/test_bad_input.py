#!/usr/bin/env python3
"""Every class of bad input in docs/errors.md, one row each, driven through the nmsim program:
exit code 2, exactly one line on stderr naming the file (and line:column when the input has
them), the key path, what was expected and what was found; nothing on stdout; no output file
left behind (an existing one untouched). Row ids (B1, B2, ...) are those of docs/errors.md."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

BIN = os.path.join(os.environ.get("NMSIM_BIN") or os.path.join(os.environ.get("NMSIM_BINARY_DIR", "build"), "bin"),
                   "nmsim")
FAILURES = []

BASE = """[simulation]
dt = 0.1
duration = 20.0
seed = 5

[output]
file = "out.h5"
flush_interval = 5.0

[[population]]
name = "exc"
model = "lif"
size = 8
params = { tau_m = 20.0, v_th = -50.0, v_reset = -60.0, e_l = -60.0, i_e = 400.0 }
positions = { grid = { shape = [2, 2, 2], spacing = 20.0, origin = [10, 10, 10] } }

[[population]]
name = "inh"
model = "izhikevich"
size = 4
params = { preset = "FS" }

[[projection]]
name = "ei"
source = "exc"
target = "inh"
connect = { rule = "fixed_indegree", k = 3, multapses = false }
weight = 5.0
delay = 1.0

[[modulator]]
name = "DA"
preset = "DA"
baseline = 0.02
field = { type = "grid", origin = [0, 0, 0], spacing = 10, shape = [6, 6, 6] }
release = [ { source = "exc", quantum = 100.0, delay = 1.0 } ]

[[modulation]]
name = "gain"
target = "population.exc.gain"
terms = [ { modulator = "DA", receptor = "D1" } ]

[[stimulus]]
name = "drive"
kind = "poisson"
target = "exc"
rate = 500.0
weight = 10.0

[[record]]
kind = "spikes"
what = "exc"
"""

# id, what, (old, new) edits of BASE, extra CLI args, substrings the one message must hold.
# "bad.toml:L:C" is checked as a prefix when given.
CONFIG_ROWS = [
    ("B1", "malformed TOML", [("size = 8", "size = = 8")], [], ["bad.toml:13:", "TOML syntax error"]),
    ("B2", "unknown key", [("tau_m = 20.0", "tau_mm = 20.0")], [],
     ["bad.toml:14:", "population.exc.params.tau_mm", "unknown key", "tau_m"]),
    ("B2", "unknown top-level table", [("[simulation]", "[simulaton]\nx = 1\n[simulation]")], [],
     ["bad.toml:1:", "simulaton", "unknown top-level key", "expected one of"]),
    ("B3", "wrong type", [("size = 4", 'size = "four"')], [],
     ["bad.toml:20:", "population.inh.size", "expected a number", 'found string "four"']),
    ("B4", "missing key", [('model = "izhikevich"\n', "")], [], ["bad.toml:", "population.inh.model", "required key is missing"]),
    ("B4", "missing [simulation]", [("[simulation]\ndt = 0.1\nduration = 20.0\nseed = 5\n", "")], [],
     ["bad.toml", "simulation", "[simulation] is missing"]),
    ("B5", "unknown model name", [('model = "izhikevich"', 'model = "izhikevic"')], [],
     ["bad.toml:19:", "population.inh.model", '"izhikevic"', "izhikevich"]),
    ("B5", "unknown population in a projection", [('source = "exc"', 'source = "ecx"')], [],
     ["bad.toml:25:", "projection.ei.source", '"ecx"']),
    ("B5", "unknown modulator in a modulation", [('terms = [ { modulator = "DA"', 'terms = [ { modulator = "NA"')], [],
     ["bad.toml:", "modulation.gain.terms.NA", "expected the name of a modulator", '"NA"']),
    ("B5", "unknown population to record", [('what = "exc"', 'what = "exe"')], [],
     ["bad.toml:", "record.spikes_0.what", "expected the name of a population", '"exe"']),
    ("B5", "unknown plasticity rule name", [("delay = 1.0\n", 'delay = 1.0\nplasticity = "stdp1"\n')], [],
     ["bad.toml:", "projection.ei.plasticity", "[[plasticity]]", '"stdp1"']),
    ("B6", "out-of-range value", [("tau_m = 20.0", "tau_m = -20.0")], [],
     ["bad.toml:14:", "population.exc.params.tau_m", "> 0", "-20"]),
    ("B6", "probability above 1", [('rule = "fixed_indegree", k = 3, multapses = false',
                                    'rule = "fixed_probability", p = 1.5')], [],
     ["bad.toml:27:", "projection.ei.connect.p", "[0, 1]", "1.5"]),
    ("B6", "more threads than any machine has", [], ["--threads", "100000000"],
     ["--set simulation.threads=100000000", "simulation.threads", "expected at most 1024 threads"]),
    ("B6", "a thread count beyond int (fuzzer find)", [], ["--threads", "4294967296"],
     ["--set simulation.threads=4294967296", "simulation.threads", "expected at most 1024 threads"]),
    ("B6", "a duration beyond 1e15 steps", [("duration = 20.0", "duration = 1e300")], [],
     ["bad.toml:3:", "simulation.duration", "expected at most 1e15 steps", "1e+300"]),
    ("B6", "a delay beyond the ring buffers", [("delay = 1.0", "delay = 1e300")], [],
     ["bad.toml:29:", "projection.ei.delay", "expected delays in [dt, 65535 dt]", "1e+300"]),
    ("B7", "NaN number", [("tau_m = 20.0", "tau_m = nan")], [],
     ["bad.toml:14:", "population.exc.params.tau_m", "expected a finite number", "found nan"]),
    ("B7", "infinite number", [("weight = 5.0", "weight = inf")], [],
     ["bad.toml:28:", "projection.ei.weight", "expected a finite number", "found inf"]),
    ("B7", "infinite duration", [("duration = 20.0", "duration = -inf")], [],
     ["bad.toml:3:", "simulation.duration", "finite", "-inf"]),
    ("B8", "empty population", [("size = 4", "size = 0")], [],
     ["bad.toml:20:", "population.inh.size", "expected a whole number >= 1", "found 0"]),
    ("B9", "fixed_indegree larger than the source without multapses", [("k = 3", "k = 9")], [],
     ["bad.toml:27:", "projection.ei.connect.k", "expected k <= 8", "without multapses", "found 9"]),
    ("B10", "delay below dt", [("delay = 1.0", "delay = 0.05")], [],
     ["bad.toml:29:", "projection.ei.delay", "expected a delay >= dt = 0.1 ms", "found 0.05 ms"]),
    ("B11", "grid that does not cover the neurons that read it",
     [("shape = [6, 6, 6]", "shape = [2, 2, 2]"),
      ('release = [ { source = "exc", quantum = 100.0, delay = 1.0 } ]', "release = []")], [],
     ["bad.toml:41:", "modulation.gain.terms", "cover", "neuron 1 of population exc at (30, 10, 10) um"]),
    ("B12", "release position outside the grid",
     [("shape = [6, 6, 6]", "shape = [2, 2, 2]"), ('[[modulation]]\nname = "gain"\ntarget = "population.exc.gain"\n'
                                                   'terms = [ { modulator = "DA", receptor = "D1" } ]\n', "")], [],
     ["bad.toml:36:", "modulator.DA.release[0].source", 'neuron 1 of "exc" at (30, 10, 10) um lies outside the grid']),
    ("B13", "output directory missing", [], ["-o", "{tmp}/no/such/dir/out.h5"],
     ["--set output.file=", "output.file", "does not exist"]),
    ("B13", "output under a regular file", [('file = "out.h5"', 'file = "base.toml/out.h5"')], [],
     ["bad.toml:7:", "output.file", "is not a directory"]),
    ("B13", "output path is a directory", [('file = "out.h5"', 'file = "."')], [],
     ["bad.toml:7:", "output.file", "directory"]),
    ("B16", "malformed --set", [], ["--set", "simulation.seed"], ["--set", "expected KEY=VALUE", '"simulation.seed"']),
    ("B16", "--set of an element that does not exist", [], ["--set", "population.nope.size=3"],
     ["--set population.nope.size=3", 'no [[population]] named "nope"']),
    ("B16", "--set with a value of the wrong type", [], ["--set", "population.exc.size=[1, 2]"],
     ["--set population.exc.size=[1, 2]", "population.exc.size", "expected a number", "found array"]),
    ("B16", "--set with an out-of-range value", [], ["--set", "simulation.dt=-0.1"],
     ["--set simulation.dt=-0.1", "simulation.dt", "> 0"]),
    ("B17", "unknown option", [], ["--frobnicate"], ["command line", 'unknown option "--frobnicate"']),
    ("B17", "bad option value", [], ["--threads", "two"], ["command line", "--threads expects a whole number", '"two"']),
    ("B17", "bad --duration", [], ["--duration", "nan"], ["command line", "--duration expects", '"nan"']),
]


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def one_clear_message(r, needles, what):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = r.returncode == 2 and len(lines) == 1 and r.stdout == "" and lines[0].startswith("nmsim: error: ")
    missing = [n for n in needles if n not in r.stderr]
    check(ok and not missing, f"{what}: exit 2, one line, holds {needles} (exit {r.returncode}, "
                              f"stdout {r.stdout.strip()[:60]!r}, stderr {r.stderr.strip()!r}, missing {missing})")


def main():
    tmp = tempfile.mkdtemp(prefix="nmsim_bad_")
    base = os.path.join(tmp, "base.toml")
    with open(base, "w") as f:
        f.write(BASE)
    for cmd in ("validate", "run"):
        r = run(cmd, "base.toml", "--quiet", cwd=tmp)
        check(r.returncode == 0, f"the base config is valid ({cmd}: {r.stderr.strip()})")
    out = os.path.join(tmp, "out.h5")
    check(os.path.exists(out), "the base config writes out.h5")

    # B14: an existing output file is refused without --force and left as it was.
    before = open(out, "rb").read()
    r = run("run", "base.toml", "--quiet", cwd=tmp)
    one_clear_message(r, ["base.toml:7:", "output.file", "existing", "--force"], "B14 existing output file")
    check(open(out, "rb").read() == before, "B14 the existing file is untouched")
    r = run("run", "base.toml", "--quiet", "--force", "--seed", "6", cwd=tmp)
    check(r.returncode == 0, f"B14 --force overwrites ({r.stderr.strip()})")
    with h5py.File(out, "r") as f:
        check(int(f.attrs["seed"]) == 6 and f.attrs["status"] in ("complete", b"complete"),
              "B14 the overwritten file holds the new run")
    os.remove(out)

    for rid, what, edits, args, needles in CONFIG_ROWS:
        text = BASE
        for old, new in edits:
            assert old in text, (rid, old)
            text = text.replace(old, new, 1)
        with open(os.path.join(tmp, "bad.toml"), "w") as f:
            f.write(text)
        args = [a.replace("{tmp}", tmp) for a in args]
        cmds = ("run",) if rid in ("B13", "B17") else ("validate", "run")
        for cmd in cmds:
            r = run(cmd, "bad.toml", *args, cwd=tmp)
            one_clear_message(r, needles, f"{rid} {what} ({cmd})")
        left = [n for n in os.listdir(tmp) if n.endswith(".h5")] + \
            [n for n in os.listdir(os.path.join(tmp)) if n.startswith("out")]
        check(not left, f"{rid} {what}: no output file left behind ({left})")

    # B13 as a user without write permission (meaningless for root, who may write anywhere).
    if os.geteuid() != 0:
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro, 0o555)
        r = run("run", "base.toml", "-o", os.path.join(ro, "x.h5"), cwd=tmp)
        one_clear_message(r, ["output.file", "Permission denied"], "B13 read-only directory")

    # B18: the config file itself.
    r = run("run", "missing.toml", cwd=tmp)
    one_clear_message(r, ["missing.toml", "cannot open the config file"], "B18 missing config file")
    r = run("validate", tmp)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, f"B18 a directory as config ({r.stderr.strip()})")

    # B15: files given to `info`.
    r = run("run", "base.toml", "--quiet", cwd=tmp)
    check(r.returncode == 0, "a result file to damage")
    data = open(out, "rb").read()
    trunc = os.path.join(tmp, "trunc.h5")
    with open(trunc, "wb") as f:
        f.write(data[: len(data) // 3])
    r = run("info", trunc)
    one_clear_message(r, ["trunc.h5", "truncated"], "B15 truncated HDF5 file to info")
    head = os.path.join(tmp, "head.h5")
    with open(head, "wb") as f:
        f.write(data[:100])
    r = run("info", head)
    one_clear_message(r, ["head.h5"], "B15 HDF5 file cut inside its superblock to info")
    foreign = os.path.join(tmp, "foreign.h5")
    with open(foreign, "w") as f:
        f.write("[simulation]\n")
    r = run("info", foreign)
    one_clear_message(r, ["foreign.h5", "not an HDF5 file"], "B15 foreign (non-HDF5) file to info")
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = [1, 2, 3]
    r = run("info", other)
    one_clear_message(r, ["other.h5", "expected an nmsim result file", "nmsim_version"], "B15 foreign HDF5 file to info")
    r = run("info", os.path.join(tmp, "none.h5"))
    one_clear_message(r, ["none.h5", "no such file"], "B15 missing file to info")

    shutil.rmtree(tmp)
    print(f"{len(FAILURES)} failed" if FAILURES else "all bad-input checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
