#!/usr/bin/python3
"""COBA (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1) in Brian2 cpp_standalone: the
network of bench/bench_coba.cpp, in the form of the Brian2 COBA benchmarks.

  tau_m dv/dt = (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I      (unless refractory)
  dg_e/dt = -g_e / tau_e,  dg_i/dt = -g_i / tau_i    (g in units of the leak conductance)
  tau_m = 20 ms, E_L = -60 mV, I = 20 mV, V_th = -50 mV, V_r = -60 mV, t_ref = 5 ms,
  E_e = 0 mV, E_i = -80 mV, tau_e = 5 ms, tau_i = 10 ms, we = 0.6, wi = 6.7;
  3200 exc + 800 inh, p = 0.02 without autapses, delay 0.1 ms (= dt, as nmsim),
  v(0) ~ N(-55 mV, 5 mV), g(0) = 0; exponential_euler (nmsim: lif_cond "exponential"); dt 0.1 ms.

  /usr/bin/python3 bench/brian2_coba.py [--duration 10000] [--threads 1]
"""
import time

import numpy as np

from brian2_common import build_and_run, fmt, parse_args, report, setup_device


def main():
    args = parse_args(10000.0, with_neurons=False)
    t_codegen0 = time.time()
    workdir = setup_device(args, 'coba')
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, defaultclock, ms, mV, run

    n_e, n_i = 3200, 800
    n = n_e + n_i
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    v_th, v_r, e_l, e_e, e_i, i_bias = -50 * mV, -60 * mV, -60 * mV, 0 * mV, -80 * mV, 20 * mV
    we, wi = 0.6, 6.7
    defaultclock.dt = 0.1 * ms
    eqs = '''
    dv/dt = ((e_l - v) + ge * (e_e - v) + gi * (e_i - v) + i_bias) / taum : volt (unless refractory)
    dge/dt = -ge / taue : 1
    dgi/dt = -gi / taui : 1
    '''
    P = NeuronGroup(n, eqs, threshold='v > v_th', reset='v = v_r', refractory=5 * ms,
                    method='exponential_euler')
    rng = np.random.default_rng(args.seed)
    P.v = (-55.0 + 5.0 * rng.standard_normal(n)) * mV
    ce = Synapses(P[:n_e], P, on_pre='ge_post += we', delay=0.1 * ms)
    ci = Synapses(P[n_e:], P, on_pre='gi_post += wi', delay=0.1 * ms)
    # Subgroup-local source index i, global target j: exclude the neuron itself.
    ce.connect('i != j', p=0.02)
    ci.connect('i + 3200 != j', p=0.02)
    mon = SpikeMonitor(P, record=False)
    run(args.duration * ms)

    t = build_and_run(workdir, t_codegen0, args.reps)
    counts = np.asarray(mon.count[:])
    out_deg = np.concatenate([np.bincount(np.asarray(ce.i[:]), minlength=n_e),
                              np.bincount(np.asarray(ci.i[:]), minlength=n_i)])
    spikes = int(counts.sum())
    events = int((counts * out_deg).sum())
    rate = spikes / n / (args.duration * 1e-3)
    build_s = t['codegen_s'] + t['compile_s'] + t['setup_s']
    report(dict(bench='coba', sim='brian2', threads=args.threads, neurons=n, synapses=int(out_deg.sum()),
                duration_ms=args.duration, build_s=fmt(build_s, '.3f'), codegen_s=fmt(t['codegen_s'], '.3f'),
                compile_s=fmt(t['compile_s'], '.3f'), setup_s=fmt(t['setup_s'], '.3f'),
                run_s=fmt(t['run_s'], '.3f'), spikes=spikes, rate_hz=fmt(rate, '.3f'), events=events,
                events_per_s=fmt(events / t['run_s']), rtf=fmt(t['run_s'] / (args.duration * 1e-3)),
                peak_mb=fmt(t['peak_mb'], '.1f')), workdir, args.workdir is not None)


if __name__ == '__main__':
    main()
