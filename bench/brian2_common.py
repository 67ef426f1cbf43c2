"""Shared driver of the Brian2 benchmarks (bench/brian2_brunel.py, bench/brian2_coba.py).

Brian2 2.5 in cpp_standalone mode. Timing is split so that compiling never counts as running:
  codegen_s  Python side: equations -> C++ project (includes writing connectivity arrays)
  compile_s  make of the generated project
  setup_s    binary start-up before Network::run: synapse creation, initial values, file I/O
  run_s      Network::run only, as the binary measures it itself (results/last_run_info.txt,
             device._last_run_time): the figure compared with nmsim's run_s
  build_s    codegen_s + compile_s + setup_s (what nmsim's build_s is compared with, plus compile)
Peak memory is the binary's own maximum RSS, from /usr/bin/time (not Python's, not the compiler's).
Threads: 1 -> openmp_threads = 0 (serial code, no OpenMP overhead); T > 1 -> openmp_threads = T.
Prints one "RESULT key=value ..." line, the format of bench/bench_util.hpp.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time


def parse_args(default_duration_ms, with_neurons):
    ap = argparse.ArgumentParser()
    if with_neurons:
        ap.add_argument('--neurons', type=int, default=12500)
    ap.add_argument('--duration', type=float, default=default_duration_ms, help='ms')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--reps', type=int, default=1, help='runs of the compiled binary; the fastest is reported')
    ap.add_argument('--workdir', default=None, help='project directory (default: a temporary one, removed)')
    return ap.parse_args()


def setup_device(args, name):
    import brian2
    from brian2 import prefs, set_device
    workdir = args.workdir or tempfile.mkdtemp(prefix=f'nmsim_bench_{name}_')
    set_device('cpp_standalone', build_on_run=False, directory=workdir)
    prefs.devices.cpp_standalone.openmp_threads = 0 if args.threads <= 1 else args.threads
    # The binary's own peak RSS and wall time.
    prefs.devices.cpp_standalone.run_cmd_unix = ['/usr/bin/time', '-f', '%M %e', '-o', 'results/rusage.txt', './main']
    brian2.seed(args.seed)
    return workdir


def build_and_run(workdir, t_codegen0, reps=1):
    """device.build without running, then run the binary `reps` times (the fastest run counts:
    the machine may be shared); returns a dict of timings."""
    from brian2 import device
    t0 = time.time()
    device.build(directory=workdir, compile=False, run=False, with_output=False)
    t1 = time.time()
    device.build(directory=workdir, compile=True, run=False, with_output=False)
    t2 = time.time()
    best = None
    for _ in range(max(1, reps)):
        device.run(directory=workdir, with_output=False, run_args=[])
        with open(os.path.join(workdir, 'results', 'rusage.txt')) as f:
            last = f.read().split()
        rep = (float(device._last_run_time), float(last[-1]), float(last[-2]))
        if best is None or rep[0] < best[0]:
            best = rep
    t3 = time.time()
    run_s, binary_wall, peak_kb = best
    # compile=True regenerates the project before make: count only the make part as compile.
    make_s = device.timers.get('compile', {}).get('make', t2 - t1)
    codegen_s = (t0 - t_codegen0) + (t1 - t0)
    setup_s = max(0.0, binary_wall - run_s)
    return dict(codegen_s=codegen_s, compile_s=make_s, setup_s=setup_s, run_s=run_s,
                binary_s=binary_wall, wall_run_call_s=t3 - t2, peak_mb=peak_kb / 1024.0)


def report(fields, workdir, keep):
    line = 'RESULT ' + ' '.join(f'{k}={v}' for k, v in fields.items())
    print(line, flush=True)
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)


def fmt(x, spec='.4g'):
    return format(x, spec)
