#!/usr/bin/python3
"""Izhikevich (2007) distal-reward network (DA-modulated STDP) in Brian2 cpp_standalone: the
network of bench/bench_distal_reward.cpp, in the way Izhikevich's code and most Brian2 ports run
it (weights updated from the eligibility trace every 10 ms, a run_regularly over all plastic
synapses).

  800 RS (a .02, d 8) + 200 FS (a .1, d 2), b .2, c -65, v(0) = -65, u(0) = b v(0), dt = 1 ms.
  State update: Izhikevich's own scheme (net.m / spnet.cpp), as nmsim's izhikevich2003 does:
      I = I_syn + 13 (rand - 0.5)        (uniform [-6.5, 6.5] pA thalamic noise, per neuron and ms)
      v += 0.5 ((0.04 v + 5) v + 140 - u + I);  v += 0.5 (...);  u += a (b v - u);  I_syn = 0
  written as a run_regularly every dt on a NeuronGroup without differential equations (slot
  'groups', before thresholds), threshold v >= 30, reset v = c, u += d.
  Synapses (same construction as nmsim, drawn with numpy): each exc neuron to 100 distinct random
  other neurons of all 1000, each inh neuron to 100 distinct random exc neurons; delay 1 ms
  (input held over one step: I_syn_post += w, as a pulse port); w = 1 (exc, in [0, 4]), -1 (inh).
  E->E and E->I (one Synapses object from exc to all) are plastic:
      event-driven traces apre, apost (tau 20 ms), nearest pairing (reset to 1 at a spike),
      on_pre:  c -= 1.5 apost;   on_post: c += 1.0 apre                  (A+ = 1, A- = 1.5)
      every 10 ms (run_regularly, slot 'end'):
          w = clip(w + 10 ms * eta * (DA(t) + 0.002) * c, 0, 4);  c *= exp(-10 ms / tau_c)
      with eta = 0.01 /(uM ms) (the code: s += (0.002 + DA) sd with sd = c / 10), tau_c = 1 s.
  Dopamine: DA(t) = sum over rewards t_r <= t of 0.5 exp(-(t - t_r) / 200 ms), rewards at the
  times of bench_distal_reward.cpp (same splitmix64 gaps uniform in [1, 5] s), tabulated every 10
  ms (a TimedArray; it is the closed form of nmsim's WellMixed pool with baseline 0.002, which is
  the constant 0.002 here).
Differences to nmsim (documented, not hidden): the tag decays in 10 ms steps and the weight is
sampled every 10 ms (nmsim: both exact between events), the random numbers differ.

  /usr/bin/python3 bench/brian2_distal_reward.py [--duration 3600 (s)] [--threads 1] [--reps 1]
"""
import time

import numpy as np

from brian2_common import build_and_run, fmt, parse_args, report, setup_device

MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def reward_times(seed, duration_ms):
    """Same as bench_distal_reward.cpp: gaps 1000 + splitmix64(seed + i) % 4001 ms."""
    t, now, i = [], 0, 0
    while True:
        now += 1000 + splitmix64(seed + i) % 4001
        if now >= duration_ms:
            return t
        t.append(now)
        i += 1


def main():
    args = parse_args(3600.0, with_neurons=False)  # --duration in seconds here
    duration_ms = args.duration * 1000.0
    seed = args.seed
    t_codegen0 = time.time()
    workdir = setup_device(args, 'distal_reward')
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, TimedArray, defaultclock, ms, run

    n_e, n_i, m = 800, 200, 100
    n = n_e + n_i
    tonic, eta, tau_c, tau_d, w_max = 0.002, 0.01, 1000.0, 200.0, 4.0
    defaultclock.dt = 1 * ms
    G = NeuronGroup(n, '''
        v : 1
        u : 1
        I_syn : 1
        a : 1 (constant)
        d : 1 (constant)
        ''', threshold='v >= 30', reset='v = -65; u += d')
    G.a = np.r_[np.full(n_e, 0.02), np.full(n_i, 0.1)]
    G.d = np.r_[np.full(n_e, 8.0), np.full(n_i, 2.0)]
    G.v = -65.0
    G.u = 0.2 * -65.0
    G.run_regularly('''
        I_tot = I_syn + 13 * (rand() - 0.5)
        v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I_tot)
        v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I_tot)
        u += a * (0.2 * v - u)
        I_syn = 0
        ''', when='groups')

    rng = np.random.default_rng(seed)
    src, tgt = [], []
    for i in range(n_e):
        others = np.delete(np.arange(n), i)
        src.append(np.full(m, i))
        tgt.append(rng.choice(others, m, replace=False))
    src, tgt = np.concatenate(src), np.concatenate(tgt)
    isrc = np.repeat(np.arange(n_i), m)
    itgt = np.concatenate([rng.choice(n_e, m, replace=False) for _ in range(n_i)])

    rewards = np.array(reward_times(seed, duration_ms), dtype=float)
    n_ticks = int(duration_ms // 10) + 2
    ticks = np.arange(n_ticks) * 10.0
    da = np.zeros(n_ticks)
    for r in rewards:  # closed form of the well-mixed pool (minus its constant baseline)
        k0 = int(np.ceil(r / 10.0))
        da[k0:] += 0.5 * np.exp(-(ticks[k0:] - r) / tau_d)
    da_t = TimedArray(da, dt=10 * ms)

    S = Synapses(G[:n_e], G, model='''
        w : 1
        c : 1
        dapre/dt = -apre / (20 * ms) : 1 (event-driven)
        dapost/dt = -apost / (20 * ms) : 1 (event-driven)
        ''', on_pre='''
        I_syn_post += w
        c -= 1.5 * apost
        apre = 1
        ''', on_post='''
        c += 1.0 * apre
        apost = 1
        ''', delay=1 * ms)
    S.connect(i=src, j=tgt)
    S.w = 1.0
    S.run_regularly(f'''
        w = clip(w + {10.0 * eta} * (da_t(t) + {tonic}) * c, 0, {w_max})
        c *= {np.exp(-10.0 / tau_c)}
        ''', dt=10 * ms, when='end')
    Si = Synapses(G[n_e:], G[:n_e], on_pre='I_syn_post += -1.0', delay=1 * ms)
    Si.connect(i=isrc, j=itgt)
    mon = SpikeMonitor(G, record=False)
    run(duration_ms * ms)

    t = build_and_run(workdir, t_codegen0, args.reps)
    counts = np.asarray(mon.count[:])
    spikes = int(counts.sum())
    events = spikes * m
    w = np.asarray(S.w[:])
    report(dict(bench='distal_reward', sim='brian2', threads=args.threads, neurons=n, synapses=len(src) + len(isrc),
                duration_ms=fmt(duration_ms, '.0f'), build_s=fmt(t['codegen_s'] + t['compile_s'] + t['setup_s'], '.3f'),
                codegen_s=fmt(t['codegen_s'], '.3f'), compile_s=fmt(t['compile_s'], '.3f'),
                setup_s=fmt(t['setup_s'], '.3f'), run_s=fmt(t['run_s'], '.3f'), spikes=spikes,
                rate_hz=fmt(spikes / n / (duration_ms * 1e-3), '.3f'), events=events,
                events_per_s=fmt(events / t['run_s']), rtf=fmt(t['run_s'] / (duration_ms * 1e-3)),
                peak_mb=fmt(t['peak_mb'], '.1f'), rewards=len(rewards), w_exc_mean=fmt(w.mean(), '.4f'),
                **{'w_exc_ge_0.9max': fmt((w >= 3.6).mean(), '.4f')}), workdir, args.workdir is not None)


if __name__ == '__main__':
    main()
