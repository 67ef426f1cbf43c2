#!/usr/bin/env python3
"""Check examples/volume_transmission (README.md): the dopamine cloud of one burst has striatal peak
concentrations and decay times, is graded in space, and synapses near release sites change more
than distant ones. Writes a PNG: a concentration slice at the peak and the weight change of every
synapse against its target's distance to the nearest release site.

    /usr/bin/python3 examples/volume_transmission/check.py out/volume_transmission.h5 [out.png]
"""
import sys

import h5py
import numpy as np

# Expected ranges (README.md, with sources).
PEAK_NEAR_UM = (0.1, 1.5)      # peak at the release sites after a burst (Cragg & Rice 2004; Garris et al. 1994)
TONIC_UM = (0.01, 0.05)        # tonic level before the burst (Dreyer et al. 2010: 10-50 nM)
HALF_LIFE_MS = (5.0, 200.0)    # peak -> half above tonic near a site (tens to ~100 ms, Cragg & Rice 2004)
NEAR_UM, FAR_UM = 20.0, 60.0   # distance classes of target neurons
NEAR_OVER_FAR = 5.0            # mean weight change near / far at least this

FAIL = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAIL.append(what)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "out/volume_transmission.h5"
    png = sys.argv[2] if len(sys.argv) > 2 else path.replace(".h5", ".png")
    with h5py.File(path, "r") as f:
        probes = f["modulators/DA/probes/data"][...].astype(float)
        ppos = f["modulators/DA/probes/positions"][...]
        pt = f["modulators/DA/probes/mapping/time"][...]
        snaps = f["modulators/DA/snapshots/data"][...].astype(float)
        stimes = f["modulators/DA/snapshots/times"][...]
        origin = f["modulators/DA/snapshots"].attrs["origin"]
        spacing = f["modulators/DA/snapshots"].attrs["spacing"]
        sites = f["populations/da/positions"][...]
        epos = f["populations/exc/positions"][...]
        w = f["weights/ctx_exc/data"][...].astype(float)
        tgt = f["weights/ctx_exc/mapping/target_ids"][...]
        burst = f["spikes/da/timestamps"][...]
    t = pt[0] + pt[2] * np.arange(probes.shape[0])
    check(len(burst) > 0, f"DA neurons burst ({len(burst)} spikes, {burst.min() if len(burst) else 0:.1f}-"
                          f"{burst.max() if len(burst) else 0:.1f} ms)")
    t_burst = burst.min()
    pre = t < t_burst
    # Probe 0 sits at a release site; probes 1.. at growing distances along x.
    centre = sites[:8].mean(axis=0)
    dist = np.min(np.linalg.norm(ppos[:, None, :] - sites[None, :, :], axis=2), axis=1)
    tonic = probes[pre, 0].mean()
    check(TONIC_UM[0] <= tonic <= TONIC_UM[1], f"tonic level {tonic * 1e3:.1f} nM in {TONIC_UM[0] * 1e3:.0f}-{TONIC_UM[1] * 1e3:.0f} nM")
    peaks = probes.max(axis=0)
    check(PEAK_NEAR_UM[0] <= peaks[0] <= PEAK_NEAR_UM[1],
          f"peak at the release site {peaks[0]:.3f} uM in {PEAK_NEAR_UM[0]}-{PEAK_NEAR_UM[1]} uM")
    order = np.argsort(dist)
    graded = all(peaks[order[i]] >= peaks[order[i + 1]] for i in range(len(order) - 1))
    check(graded and peaks[order[-1]] - tonic < 0.1 * (peaks[0] - tonic),
          "graded cloud: peaks fall with distance " + ", ".join(f"{dist[i]:.0f} um: {peaks[i]:.3f}" for i in order))
    k = int(np.argmax(probes[:, 0]))
    half = tonic + 0.5 * (probes[k, 0] - tonic)
    after = np.nonzero(probes[k:, 0] < half)[0]
    t_half = (t[k + after[0]] - t[k]) if len(after) else np.inf
    check(HALF_LIFE_MS[0] <= t_half <= HALF_LIFE_MS[1], f"half-decay time at the site {t_half:.1f} ms in {HALF_LIFE_MS} ms")
    check(abs(probes[-1, 0] - tonic) < 0.05 * tonic, f"back to tonic at the end ({probes[-1, 0] * 1e3:.1f} nM)")

    # Weight change per synapse (first to last sample) against the distance of its target to the nearest site.
    dw = w[-1] - w[0]
    d_site = np.min(np.linalg.norm(epos[:, None, :] - sites[None, :, :], axis=2), axis=1)
    d_syn = d_site[tgt]
    near, far = dw[d_syn < NEAR_UM], dw[d_syn > FAR_UM]
    check(len(near) > 20 and len(far) > 20, f"synapses near ({len(near)}) and far ({len(far)}) from the sites")
    mn, mf = near.mean(), far.mean()
    check(mn > 0 and mn > NEAR_OVER_FAR * abs(mf),
          f"synapses near the sites change more: mean dw {mn:.4g} (< {NEAR_UM:.0f} um) vs {mf:.4g} (> {FAR_UM:.0f} um)")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        s = int(np.argmax(snaps.reshape(len(snaps), -1).max(axis=1)))
        z = int(round((centre[2] - origin[2]) / spacing[2]))
        sl = snaps[s, z]
        fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
        ext = [origin[0] - spacing[0] / 2, origin[0] + spacing[0] * (sl.shape[1] - 0.5),
               origin[1] - spacing[1] / 2, origin[1] + spacing[1] * (sl.shape[0] - 0.5)]
        im = ax[0].imshow(sl, origin="lower", extent=ext, cmap="magma", norm=matplotlib.colors.LogNorm(vmin=max(tonic * 0.9, 1e-3)))
        fig.colorbar(im, ax=ax[0], label="[DA] (uM)")
        ax[0].set_title(f"DA at z = {origin[2] + z * spacing[2]:.0f} um, t = {stimes[s]:.0f} ms")
        ax[0].set_xlabel("x (um)")
        ax[0].set_ylabel("y (um)")
        for i in order:
            ax[1].plot(t, probes[:, i], label=f"{dist[i]:.0f} um")
        ax[1].set_xlim(t_burst - 20, t_burst + 300)
        ax[1].set_yscale("log")
        ax[1].set_xlabel("t (ms)")
        ax[1].set_ylabel("[DA] (uM)")
        ax[1].legend(title="distance to site")
        ax[2].plot(d_syn, dw, ".", ms=2, alpha=0.4)
        ax[2].set_xlabel("distance of the target to the nearest release site (um)")
        ax[2].set_ylabel("weight change (pA)")
        ax[2].axhline(0, color="k", lw=0.5)
        fig.tight_layout()
        fig.savefig(png, dpi=90)
        print(f"plot: {png}")
    except ImportError as e:
        print(f"no plot ({e})")
    print(f"{len(FAIL)} failed" if FAIL else "all volume_transmission checks passed")
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
