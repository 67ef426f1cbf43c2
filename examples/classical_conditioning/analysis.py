"""Shared by check.py and plot.py: read the classical-conditioning run and measure the network's
response to each stimulus presentation."""
import tomllib

import h5py
import numpy as np

NE = 800
RESPONSE_MS = 20.0  # response = spikes with stamps in (onset, onset + 20 ms]


def load(path):
    with h5py.File(path, "r") as f:
        status = f.attrs["status"]
        status = status.decode() if isinstance(status, bytes) else str(status)
        cfg = f["config"][()]
        cfg = tomllib.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)["classical_conditioning"]
        te, ie = f["spikes/exc/timestamps"][:], f["spikes/exc/node_ids"][:].astype(np.int64)
        ti, ii = f["spikes/inh/timestamps"][:], f["spikes/inh/node_ids"][:].astype(np.int64)
        duration = float(f.attrs["simulated_time"])
        seed = int(f.attrs["seed"])
    t = np.concatenate([te, ti])
    ids = np.concatenate([ie, ii + NE])  # global ids, as in the groups
    order = np.argsort(t, kind="stable")
    return {
        "status": status,
        "duration": duration,
        "seed": seed,
        "t": t[order],
        "ids": ids[order],
        "onset": np.asarray(cfg["onset_ms"], dtype=float),
        "stimulus": np.asarray(cfg["stimulus"], dtype=np.int64),
        "reward": np.asarray(cfg["reward_ms"], dtype=float),
        "groups": [np.asarray(g, dtype=np.int64) for g in cfg["groups"]],
    }


def responses(run):
    """Per presentation: all spikes in (onset, onset + 20 ms], and those of neurons outside the
    stimulated group (the recruited response)."""
    t, ids = run["t"], run["ids"]
    lo = np.searchsorted(t, run["onset"], side="right")
    hi = np.searchsorted(t, run["onset"] + RESPONSE_MS, side="right")
    total = (hi - lo).astype(float)
    recruited = np.empty(len(lo))
    for k, (a, b) in enumerate(zip(lo, hi)):
        recruited[k] = np.count_nonzero(~np.isin(ids[a:b], run["groups"][run["stimulus"][k]]))
    return total, recruited


def ratio(run, resp, t0, t1):
    """Mean response to S1 over the mean response to S2..S100, for onsets in [t0, t1) ms."""
    sel = (run["onset"] >= t0) & (run["onset"] < t1)
    s1 = sel & (run["stimulus"] == 0)
    rest = sel & (run["stimulus"] != 0)
    return resp[s1].mean() / resp[rest].mean(), resp[s1].mean(), resp[rest].mean(), int(s1.sum())
