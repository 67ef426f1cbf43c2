"""Small helpers shared by the example check scripts: read SONATA spikes with h5py alone."""
import h5py
import numpy as np


def load_spikes(path, population):
    """Return (times_ms, node_ids, size) of one population's spikes; size from /config if known."""
    with h5py.File(path, "r") as f:
        g = f["spikes"][population]
        t = np.asarray(g["timestamps"][...], dtype=float)
        ids = np.asarray(g["node_ids"][...], dtype=np.int64)
        duration = float(f.attrs["duration"])
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else str(status)
    return t, ids, duration, status


def rate_and_cv(t, ids, n, t0, t1):
    """Mean rate (Hz) over [t0, t1) ms and mean CV of ISIs over neurons with >= 3 spikes there."""
    keep = (t >= t0) & (t < t1)
    t, ids = t[keep], ids[keep]
    rate = len(t) / n / ((t1 - t0) * 1e-3)
    order = np.lexsort((t, ids))
    t, ids = t[order], ids[order]
    cvs = []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    for s, e in zip(starts, ends):
        if e - s >= 3:
            isi = np.diff(t[s:e])
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return rate, (float(np.mean(cvs)) if cvs else float("nan")), len(cvs)


def synchrony(t, n, t0, t1, bin_ms=1.0):
    """Variance over mean of the population spike count in bins (1 = Poisson-like asynchrony)."""
    keep = (t >= t0) & (t < t1)
    counts, _ = np.histogram(t[keep], bins=np.arange(t0, t1 + bin_ms / 2, bin_ms))
    m = counts.mean()
    return float(counts.var() / m) if m > 0 else float("nan")


def check(name, value, lo, hi, failures):
    ok = lo <= value <= hi
    print(f"  {name:<34} {value:10.3f}   expected [{lo}, {hi}]   {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(name)
