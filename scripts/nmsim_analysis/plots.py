"""Standard figures of nmsim results (matplotlib, Agg backend: no display needed).

Each function takes a loaded `Result` (or a sweep table) and returns a matplotlib Figure; `save`
writes it to PNG. Units on the axes are those of the file (ms, mV, pA, uM, um, Hz).
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .load import moving_average, population_rate, sweep_stats  # noqa: E402


class PlotError(ValueError):
    """The file holds nothing the figure could show (e.g. no spikes for a raster)."""


def save(fig, path, dpi=110):
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _pick(available, wanted, what):
    if not available:
        raise PlotError(f"the file holds no {what}")
    if wanted is None:
        return list(available)
    missing = [w for w in wanted if w not in available]
    if missing:
        raise PlotError(f"no {what} named {', '.join(missing)}; the file has: {', '.join(available)}")
    return list(wanted)


def raster(res, populations=None, bin_ms=10.0, t_range=None):
    """Spike raster (populations stacked, one colour each) above their population rates."""
    names = _pick(list(res.spikes), populations, "spike recordings")
    t_stop = res.simulated_time or max((s.times.max() if len(s.times) else 0.0) for s in res.spikes.values())
    lo, hi = (0.0, t_stop) if t_range is None else t_range
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    offset = 0
    ticks, labels = [], []
    for i, name in enumerate(names):
        s = res.spikes[name]
        size = res.populations[name].size if name in res.populations else int(s.ids.max() + 1 if len(s.ids) else 1)
        sel = (s.times >= lo) & (s.times <= hi)
        colour = f"C{i % 10}"
        ax.scatter(s.times[sel], s.ids[sel].astype(float) + offset, s=1.5, marker="|", color=colour, linewidths=0.6)
        ticks.append(offset + size / 2)
        labels.append(name)
        t, r = population_rate(s, size, hi, bin_ms, lo)
        axr.plot(t, r, color=colour, label=f"{name} ({len(s.times) / size / ((t_stop or 1) / 1000):.1f} Hz mean)")
        offset += size
        ax.axhline(offset - 0.5, color="0.85", lw=0.5)
    ax.set_yticks(ticks, labels)
    ax.set_ylim(-0.5, offset - 0.5)
    ax.set_ylabel("neuron")
    ax.set_title(f"{res.path}: spikes")
    axr.set_xlabel("time (ms)")
    axr.set_ylabel(f"rate (Hz, {bin_ms:g} ms bins)")
    axr.set_xlim(lo, hi)
    axr.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def traces(res, population=None, variable=None, max_traces=5):
    """Sampled state variables (e.g. membrane potential) of up to max_traces neurons, one panel per
    recorded variable (or just the one asked for)."""
    items = [(p, v) for p, vs in res.reports.items() for v in vs]
    if not items:
        raise PlotError("the file holds no state recordings (report/)")
    if population is not None:
        items = [(p, v) for p, v in items if p == population]
    if variable is not None:
        items = [(p, v) for p, v in items if v == variable]
    if not items:
        raise PlotError(f"no state recording of {population or '*'}.{variable or '*'}; the file has: "
                        + ", ".join(f"{p}.{v}" for p, vs in res.reports.items() for v in vs))
    fig, axes = plt.subplots(len(items), 1, figsize=(9, 2.6 * len(items) + 0.6), sharex=True, squeeze=False)
    for ax, (p, v) in zip(axes[:, 0], items):
        r = res.reports[p][v]
        for c in range(min(max_traces, r.data.shape[1])):
            ax.plot(r.times, r.data[:, c], lw=0.8, label=f"{p}[{int(r.node_ids[c])}]")
        ax.set_ylabel(f"{p}.{v} ({r.units})" if r.units else f"{p}.{v}")
        ax.legend(fontsize=7, loc="upper right", ncol=min(5, max_traces))
    axes[-1, 0].set_xlabel("time (ms)")
    axes[0, 0].set_title(f"{res.path}: state")
    fig.tight_layout()
    return fig


def weights(res, projection=None, max_traces=20):
    """Weight evolution (mean +- sd over the recorded synapses and a few single synapses) and the
    distribution of weights at the start (first sample) and at the end (final snapshot, else the
    last sample)."""
    names = _pick(list(res.weights), None if projection is None else [projection], "weight recordings")
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 3.4 * len(names) + 0.4), squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]})
    for (ax, axh), name in zip(axes, names):
        w = res.weights[name]
        units = w.units or (w.final.units if w.final else "")
        if w.data.size:
            for c in range(min(max_traces, w.data.shape[1])):
                ax.plot(w.times, w.data[:, c], color="0.7", lw=0.5)
            m, s = w.data.mean(axis=1), w.data.std(axis=1)
            ax.fill_between(w.times, m - s, m + s, color="C0", alpha=0.25, label="mean +- sd")
            ax.plot(w.times, m, color="C0", lw=1.5, label=f"mean of {w.data.shape[1]} synapses")
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no sampled weights", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(f"{name} weight ({units})")
        ax.set_title(f"{name}: {w.attrs.get('source', '?')} -> {w.attrs.get('target', '?')}, "
                     f"{w.attrs.get('rule', '')}")
        end = w.final.weights if w.final is not None else (w.data[-1] if w.data.size else None)
        start = w.data[0] if w.data.size else None
        allw = np.concatenate([x for x in (start, end) if x is not None]) if (start is not None or end is not None) else None
        if allw is not None and allw.size:
            bins = np.histogram_bin_edges(allw, bins=30)
            if start is not None:
                axh.hist(start, bins=bins, alpha=0.6, label=f"t = {w.times[0]:g} ms")
            if end is not None:
                axh.hist(end, bins=bins, alpha=0.6, label="end (final)" if w.final is not None else
                         f"t = {w.times[-1]:g} ms")
            axh.legend(fontsize=8)
        axh.set_xlabel(f"weight ({units})")
        axh.set_ylabel("synapses")
    fig.tight_layout()
    return fig


def modulators(res, names=None):
    """Concentration over time at every probe of every modulator (one panel each)."""
    names = _pick(list(res.modulators), names, "modulator recordings")
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 2.6 * len(names) + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        m = res.modulators[name]
        for c in range(m.probes.shape[1] if m.probes.ndim == 2 else 0):
            pos = m.positions[c] if c < len(m.positions) else [math.nan] * 3
            where = "mean" if np.isnan(pos).any() else ("pool" if m.field == "well_mixed" else
                                                         "(" + ", ".join(f"{x:g}" for x in pos) + ") um")
            ax.plot(m.times, m.probes[:, c], lw=1.0, label=where)
        ax.set_ylabel(f"{name} (uM)")
        ax.set_title(f"{name} ({m.field})", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def snapshot(res, modulator=None, index=-1, z=None):
    """One z-slice of a grid modulator's snapshot (axes in um, colour in uM). z in um (the slice
    nearest to it); by default the slice holding the snapshot's maximum."""
    grids = [n for n, m in res.modulators.items() if m.snapshots is not None]
    if not grids:
        raise PlotError("the file holds no modulator snapshots (record.snapshot_interval of a grid field)")
    name = modulator or grids[0]
    if name not in grids:
        raise PlotError(f"modulator {name} has no snapshots; these do: {', '.join(grids)}")
    s = res.modulators[name].snapshots
    if not -len(s.times) <= index < len(s.times):
        raise PlotError(f"snapshot index {index} out of range: {len(s.times)} snapshots")
    vol = s.data[index]  # [nz, ny, nx]
    zs = s.axis(2)
    k = int(np.unravel_index(np.argmax(vol), vol.shape)[0]) if z is None else int(np.argmin(np.abs(zs - z)))
    xs, ys = s.axis(0), s.axis(1)
    dx, dy = float(s.spacing[0]), float(s.spacing[1])
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    im = ax.imshow(vol[k], origin="lower", aspect="equal", cmap="viridis",
                   extent=[xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2])
    fig.colorbar(im, ax=ax, label=f"{name} (uM)")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_title(f"{name} at t = {s.times[index]:g} ms, z = {zs[k]:g} um")
    fig.tight_layout()
    return fig


def learning_curve(res, window=20):
    """Task learning curve from /trials: accuracy in a moving window of `window` trials, reward
    and reward-prediction error per trial; the reversal is marked."""
    t = res.trials
    if t is None or len(t) == 0:
        raise PlotError("the file holds no trials (/trials of a [[task]])")
    n = len(t)
    idx = np.asarray(t.get("index", np.arange(n)), dtype=float)
    panels = [("correct", f"accuracy ({window}-trial window)"), ("reward", "reward"), ("rpe", "RPE")]
    panels = [(k, lab) for k, lab in panels if k in t.columns]
    if not panels:
        raise PlotError("/trials holds none of correct, reward, rpe")
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.4 * len(panels) + 0.6), sharex=True, squeeze=False)
    rev = t.get("reversed")
    first_rev = int(idx[np.argmax(rev > 0)]) if rev is not None and np.any(rev > 0) else None
    for ax, (key, label) in zip(axes[:, 0], panels):
        y = np.asarray(t.columns[key], dtype=float)
        if key == "correct":
            ax.plot(idx, moving_average(y, window), color="C0", lw=1.5)
            ax.axhline(0.5, color="0.5", ls=":", lw=1, label="chance")
            crit = float(t.attrs.get("criterion_correct", 16)) / float(t.attrs.get("criterion_window", 20))
            ax.axhline(crit, color="C2", ls="--", lw=1, label=f"criterion {crit:.0%}")
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.plot(idx, y, ".", ms=3, color="0.5")
            ax.plot(idx, moving_average(y, window), color="C1", lw=1.3)
            ax.axhline(0, color="0.8", lw=0.8)
        if first_rev is not None:
            ax.axvline(first_rev - 0.5, color="C3", lw=1.2, label="reversal")
        ax.set_ylabel(label)
    if first_rev is not None:
        axes[0, 0].text(first_rev, 1.0, " reversal", color="C3", va="top", fontsize=8)
    axes[-1, 0].set_xlabel("trial")
    acc = t.attrs.get("accuracy")
    axes[0, 0].set_title(f"{res.path}: {n} trials" + (f", accuracy {float(acc):.2f}" if acc is not None else ""))
    fig.tight_layout()
    return fig


def sweep(table, x, y, by=None):
    """Result `y` against swept parameter `x`: mean +- sd over the runs (seeds) at each x, the single
    runs as dots; one line per value of parameter `by`."""
    stats = sweep_stats(table, x, y, by)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    ok = np.array([s == "complete" for s in table["status"]]) if "status" in table else np.ones(len(table[x]), bool)
    numeric_x = np.issubdtype(np.asarray(table[x]).dtype, np.number)
    for i, (gval, (xs, mean, std, n)) in enumerate(stats.items()):
        colour = f"C{i % 10}"
        pos = xs.astype(float) if numeric_x else np.arange(len(xs), dtype=float)
        label = None if gval is None else f"{by} = {gval:g}" if isinstance(gval, float) else f"{by} = {gval}"
        ax.errorbar(pos, mean, yerr=std, color=colour, marker="o", capsize=3, label=label)
        sel = ok if gval is None else ok & (table[by] == gval)
        for xv, p in zip(xs, pos):
            vals = np.asarray(table[y], dtype=float)[sel & (table[x] == xv)]
            ax.plot(np.full(len(vals), p), vals, ".", color=colour, alpha=0.35, ms=4)
        if not numeric_x:
            ax.set_xticks(pos, [str(v) for v in xs])
    nmax = max((int(n.max()) for *_, n in stats.values() if len(n)), default=0)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} vs {x} (mean +- sd over up to {nmax} runs)")
    if by is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
