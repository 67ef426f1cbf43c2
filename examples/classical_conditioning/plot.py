#!/usr/bin/python3
"""Plot the classical-conditioning example: the recruited response (spikes outside the stimulated
group in the 20 ms after onset) to S1 and to the other stimuli over time, and the mean response
time course early and late.  usage: plot.py classical_conditioning.h5 [out.png]"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analysis import load, responses  # noqa: E402


def psth(run, sel, t0, t1, bins):
    """Mean spikes per 1 ms bin after onset, over the presentations `sel` with onsets in [t0, t1)."""
    on = run["onset"][sel & (run["onset"] >= t0) & (run["onset"] < t1)]
    lo = np.searchsorted(run["t"], on, side="right")
    hi = np.searchsorted(run["t"], on + bins[-1], side="right")
    rel = np.concatenate([run["t"][a:b] - o for a, b, o in zip(lo, hi, on)]) if len(on) else np.array([])
    return np.histogram(rel, bins=bins)[0] / max(len(on), 1)


def main(path, out):
    run = load(path)
    d = run["duration"]
    _, rec = responses(run)
    s1 = run["stimulus"] == 0
    tm = run["onset"] / 60000.0

    fig = plt.figure(figsize=(11, 7))
    ax = fig.add_subplot(2, 1, 1)
    ax.plot(tm[~s1], rec[~s1], ".", color="0.7", ms=2, label="S2..S100, each presentation")
    ax.plot(tm[s1], rec[s1], "o", color="tab:red", ms=3, label="S1 (rewarded), each presentation")
    edges = np.arange(0, d / 60000.0 + 5, 5.0)
    for sel, color, name in ((~s1, "k", "S2..S100"), (s1, "tab:red", "S1")):
        idx = np.digitize(tm[sel], edges) - 1
        m = [rec[sel][idx == i].mean() if np.any(idx == i) else np.nan for i in range(len(edges) - 1)]
        ax.step(edges[:-1], m, where="post", color=color, lw=2, label=f"{name}, 5-min mean")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("time (min)")
    ax.set_ylabel("spikes outside the group\nin the 20 ms after onset")
    ax.set_title(f"Izhikevich (2007) Fig. 2: classical conditioning (seed {run['seed']})")
    ax.legend(loc="upper left", fontsize=8)

    bins = np.arange(0, 51, 1.0)
    for k, (t0, t1, title) in enumerate(((0, 300e3, "first 5 min"), (d - 600e3, d, "last 10 min"))):
        ax = fig.add_subplot(2, 2, 3 + k)
        ax.step(bins[:-1], psth(run, ~s1, t0, t1, bins), where="post", color="k", label="S2..S100")
        ax.step(bins[:-1], psth(run, s1, t0, t1, bins), where="post", color="tab:red", label="S1")
        ax.set_xlabel("time after onset (ms)")
        ax.set_ylabel("spikes per ms (all neurons)")
        ax.set_title(f"mean response, {title}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "classical_conditioning.h5",
         sys.argv[2] if len(sys.argv) > 2 else "classical_conditioning.png")
