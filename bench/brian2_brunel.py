#!/usr/bin/python3
"""Brunel (2000) model A in Brian2 cpp_standalone: the network of bench/bench_brunel.cpp.

Same model and parameters (voltages relative to rest): N_E = 4 N_I, tau_m = 20 ms, theta = 20 mV,
V_r = 10 mV, t_ref = 2 ms, V(0) ~ U[0, 20) mV; fixed in-degree C_E = 1000 excitatory and C_I = 250
inhibitory sources per neuron (drawn with replacement, no autapses), J = 0.1 mV, -g J with g = 5,
delay 1.5 ms; external input: C_E Poisson sources of eta nu_thr each (eta = 2) with weight J
(PoissonInput: one binomial draw per neuron and step). As in nmsim's lif (synapse = "delta", NEST
iaf_psc_delta), input arriving during the refractory period is discarded: the weights are
multiplied by not_refractory. dt = 0.1 ms.

  /usr/bin/python3 bench/brian2_brunel.py [--neurons 12500] [--duration 1000] [--threads 1]
"""
import time

import numpy as np

from brian2_common import build_and_run, fmt, parse_args, report, setup_device


def fixed_indegree(rng, n_src, src_offset, n_tgt, tgt_offset, k, no_autapses):
    """Sources drawn with replacement, k per target; self excluded when no_autapses."""
    tgt = np.repeat(np.arange(n_tgt, dtype=np.int64), k)
    if no_autapses:
        src = rng.integers(0, n_src - 1, size=n_tgt * k)
        src = src + (src >= tgt)  # skip the target itself (same population, same offsets)
    else:
        src = rng.integers(0, n_src, size=n_tgt * k)
    return (src + src_offset).astype(np.int32), (tgt + tgt_offset).astype(np.int32)


def main():
    args = parse_args(1000.0, with_neurons=True)
    t_codegen0 = time.time()
    workdir = setup_device(args, 'brunel')
    from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, defaultclock, ms, mV, run, Hz

    n = args.neurons
    n_e = n * 4 // 5
    n_i = n - n_e
    c_e, c_i = 1000, 250
    J, g, eta, D = 0.1 * mV, 5.0, 2.0, 1.5 * ms
    theta, v_r, tau, t_ref = 20 * mV, 10 * mV, 20 * ms, 2 * ms
    nu_thr = theta / (J * c_e * tau)
    nu_ext = eta * nu_thr
    defaultclock.dt = 0.1 * ms

    P = NeuronGroup(n, 'dv/dt = -v / tau : volt (unless refractory)', threshold='v > theta',
                    reset='v = v_r', refractory=t_ref, method='exact')
    rng = np.random.default_rng(args.seed)
    P.v = rng.uniform(0.0, 20.0, size=n) * mV
    E = P[:n_e]
    I = P[n_e:]
    se = Synapses(E, P, on_pre='v_post += J * int(not_refractory_post)', delay=D)
    si = Synapses(I, P, on_pre='v_post += -g * J * int(not_refractory_post)', delay=D)
    # exc -> exc (no autapses), exc -> inh; inh -> exc, inh -> inh (no autapses). Indices are
    # group-local for the source subgroup and global for the target group P.
    s1, t1 = fixed_indegree(rng, n_e, 0, n_e, 0, c_e, True)
    s2, t2 = fixed_indegree(rng, n_e, 0, n_i, n_e, c_e, False)
    se.connect(i=np.concatenate([s1, s2]), j=np.concatenate([t1, t2]))
    s3, t3 = fixed_indegree(rng, n_i, 0, n_e, 0, c_i, False)
    s4, t4 = fixed_indegree(rng, n_i, 0, n_i, 0, c_i, True)
    si.connect(i=np.concatenate([s3, s4]), j=np.concatenate([t3, t4 + n_e]))
    out_deg = np.concatenate([np.bincount(np.concatenate([s1, s2]), minlength=n_e),
                              np.bincount(np.concatenate([s3, s4]), minlength=n_i)])
    drive = PoissonInput(P, 'v', c_e, nu_ext, weight='J * int(not_refractory)')  # noqa: F841 (kept alive for run)
    mon = SpikeMonitor(P, record=False)
    run(args.duration * ms)

    t = build_and_run(workdir, t_codegen0, args.reps)
    counts = np.asarray(mon.count[:])
    spikes = int(counts.sum())
    events = int((counts * out_deg).sum())
    rate = spikes / n / (args.duration * 1e-3)
    build_s = t['codegen_s'] + t['compile_s'] + t['setup_s']
    report(dict(bench='brunel', sim='brian2', threads=args.threads, neurons=n, c_e=c_e, c_i=c_i,
                duration_ms=args.duration, build_s=fmt(build_s, '.3f'), codegen_s=fmt(t['codegen_s'], '.3f'),
                compile_s=fmt(t['compile_s'], '.3f'), setup_s=fmt(t['setup_s'], '.3f'),
                run_s=fmt(t['run_s'], '.3f'), spikes=spikes, rate_hz=fmt(rate, '.3f'), events=events,
                events_per_s=fmt(events / t['run_s']), rtf=fmt(t['run_s'] / (args.duration * 1e-3)),
                peak_mb=fmt(t['peak_mb'], '.1f')), workdir, args.workdir is not None)


if __name__ == '__main__':
    main()
