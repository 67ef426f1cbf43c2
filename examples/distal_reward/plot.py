#!/usr/bin/python3
"""Plot the distal-reward example: the rewarded weight against the percentiles of the other recorded
E->E weights over time, the final weight distribution, and dopamine over the first minutes.
usage: plot.py distal_reward.h5 [out.png]"""
import sys
import tomllib

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(path, out):
    with h5py.File(path, "r") as f:
        cfg = f["config"][()]
        cfg = tomllib.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)["distal_reward"]
        n1, n2, w_max = int(cfg["n1"]), int(cfg["n2"]), float(cfg["w_max"])
        g = f["weights/ee"]
        src, tgt = g["mapping/source_ids"][:], g["mapping/target_ids"][:]
        t0, _, step = g["mapping/time"][:]
        data = g["data"][:]
        fs, ft, fw = g["final/source_ids"][:], g["final/target_ids"][:], g["final/weights"][:]
        da = f["modulators/da/probes/data"][:, 0]
        dt0, _, dstep = f["modulators/da/probes/mapping/time"][:]
        seed = int(f.attrs["seed"])
    col = np.flatnonzero((src == n1) & (tgt == n2))[0]
    t_min = (t0 + step * np.arange(data.shape[0])) / 60000.0
    others = np.delete(data, col, axis=1)
    p = np.percentile(others, [5, 25, 50, 75, 95, 99], axis=1)

    fig = plt.figure(figsize=(11, 7))
    ax = fig.add_subplot(2, 1, 1)
    ax.fill_between(t_min, p[0], p[4], color="0.85", label="other E->E: 5-95 %")
    ax.fill_between(t_min, p[1], p[3], color="0.65", label="25-75 %")
    ax.plot(t_min, p[2], color="k", lw=1, label="median")
    ax.plot(t_min, p[5], color="0.4", lw=0.8, ls="--", label="99th percentile")
    ax.plot(t_min, data[:, col], color="tab:red", lw=1.5, label=f"rewarded synapse {n1} -> {n2}")
    ax.axhline(w_max, color="tab:red", lw=0.5, ls=":")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("weight (pA)")
    ax.set_ylim(-0.1, w_max * 1.05)
    ax.set_title(f"Izhikevich (2007) Fig. 1: distal reward of one synapse (seed {seed}, "
                 f"{others.shape[1]} other E->E synapses sampled)")
    ax.legend(loc="upper left", fontsize=8)

    ax = fig.add_subplot(2, 2, 3)
    i = np.flatnonzero((fs == n1) & (ft == n2))[0]
    ax.hist(np.delete(fw, i), bins=np.linspace(0, w_max, 41), color="0.5")
    ax.axvline(fw[i], color="tab:red", label="rewarded synapse")
    ax.set_yscale("log")
    ax.set_xlabel("final E->E weight (pA)")
    ax.set_ylabel("synapses")
    ax.legend(fontsize=8)

    ax = fig.add_subplot(2, 2, 4)
    n = min(len(da), int(round(600000.0 / dstep)))
    ax.plot((dt0 + dstep * np.arange(n)) / 1000.0, da[:n], color="tab:blue", lw=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("dopamine (uM)")
    ax.set_title("first 10 min: one release (0.5 uM) 1-3 s after each rewarded pairing", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "distal_reward.h5", sys.argv[2] if len(sys.argv) > 2 else "distal_reward.png")
