"""Load nmsim result files (docs/hdf5.md) and sweep directories (docs/sweep.md) into numpy.

Everything is read eagerly into plain numpy arrays, so the file is closed when `load` returns.
Groups a file does not hold are simply absent (empty dicts, None); unknown extra datasets and
attributes are kept where a dict can hold them (`Trials.columns`, `attrs`), so files written by
newer versions still load.
"""
import csv
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import h5py
import numpy as np


def _attrs(obj):
    """Attributes as Python values: strings decoded, 1-element arrays kept as arrays."""
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        out[k] = v
    return out


def _times(mapping_time, n):
    """Row times of a sampled dataset from its mapping/time = [start, stop, step] (ms)."""
    start, _stop, step = (float(x) for x in mapping_time[:3])
    return start + step * np.arange(n, dtype=np.float64)


@dataclass
class Population:
    name: str
    size: int
    model: str
    positions: Optional[np.ndarray] = None  # [size, 3] um, when defined


@dataclass
class Spikes:
    population: str
    times: np.ndarray  # ms, sorted
    ids: np.ndarray    # population-local neuron ids (uint64)

    def count(self):
        return len(self.times)


@dataclass
class Report:
    """A state variable sampled on a regular grid: data[r, c] is neuron node_ids[c] at times[r]."""
    population: str
    variable: str
    times: np.ndarray     # ms [n_times]
    data: np.ndarray      # [n_times, n_recorded]
    node_ids: np.ndarray  # [n_recorded]
    units: str = ""


@dataclass
class FinalWeights:
    source_ids: np.ndarray
    target_ids: np.ndarray
    weights: np.ndarray
    delays: np.ndarray  # ms
    units: str = ""


@dataclass
class Weights:
    """Sampled weights of one projection (data may be empty) and its final snapshot (or None)."""
    projection: str
    times: np.ndarray        # ms [n_samples]
    data: np.ndarray         # [n_samples, n_recorded]
    synapse_ids: np.ndarray  # [n_recorded]
    source_ids: np.ndarray
    target_ids: np.ndarray
    units: str = ""
    final: Optional[FinalWeights] = None
    attrs: Dict = field(default_factory=dict)  # source, target, port, rule


@dataclass
class Snapshots:
    """Whole-field snapshots of a grid modulator: data[i, z, y, x] (uM) at times[i] (ms)."""
    times: np.ndarray
    data: np.ndarray
    origin: np.ndarray   # um, centre of voxel (0, 0, 0) as (x, y, z)
    spacing: np.ndarray  # um per voxel along (x, y, z)

    def axis(self, dim):
        """Voxel-centre coordinates (um) along dim 0 = x, 1 = y, 2 = z."""
        n = self.data.shape[3 - dim]
        return float(self.origin[dim]) + float(self.spacing[dim]) * np.arange(n)


@dataclass
class Modulator:
    name: str
    field: str                     # "well_mixed" | "grid" | ...
    times: np.ndarray              # ms [n_times] of the probe rows
    probes: np.ndarray             # uM [n_times, n_probes]
    positions: np.ndarray          # um [n_probes, 3] (NaN: a field's mean)
    snapshots: Optional[Snapshots] = None
    attrs: Dict = field(default_factory=dict)


@dataclass
class Trials:
    """Per-trial records of a task (/trials): every dataset of the group by name (nested groups as
    "peak/DA"), and the group's attributes (the task's summary statistics)."""
    columns: Dict[str, np.ndarray]
    attrs: Dict

    def __len__(self):
        return len(self.columns["index"]) if "index" in self.columns else (
            len(next(iter(self.columns.values()))) if self.columns else 0)

    def get(self, name, default=None):
        return self.columns.get(name, default)


@dataclass
class Result:
    """One nmsim result file."""
    path: str
    attrs: Dict
    config: str
    populations: Dict[str, Population]
    spikes: Dict[str, Spikes]
    reports: Dict[str, Dict[str, Report]]  # population -> variable -> Report
    weights: Dict[str, Weights]
    modulators: Dict[str, Modulator]
    trials: Optional[Trials]
    summary: Dict[str, float]       # numeric /summary attributes
    summary_units: Dict[str, str]   # units of those that have one

    @property
    def status(self):
        return self.attrs.get("status", "")

    @property
    def simulated_time(self):
        """ms of simulated time the file holds."""
        return float(self.attrs.get("simulated_time", self.attrs.get("duration", 0.0)))

    def rate(self, population):
        """Mean firing rate (Hz) of a population over the simulated time, from its spikes."""
        n = self.populations[population].size
        t = self.simulated_time
        return len(self.spikes[population].times) / n / (t / 1000.0) if n and t > 0 else math.nan


def open_file(path):
    """Open an nmsim output file read-only, also while its run is going on or after the run was
    killed: such a file carries the "open for writing" flags of its SWMR writer (docs/reliability.md)
    and opens with SWMR read access, without HDF5's file lock."""
    try:
        return h5py.File(path, "r")
    except OSError:
        return h5py.File(path, "r", swmr=True, locking=False)


def load(path) -> Result:
    """Read an nmsim HDF5 file into numpy (see the dataclasses above); also the file of a run in
    progress or of a killed run (everything up to its last flush, see open_file)."""
    with open_file(path) as f:
        attrs = _attrs(f)
        config = ""
        if "config" in f:
            c = f["config"][()]
            config = c.decode() if isinstance(c, bytes) else str(c)
        pops = {}
        for name, g in f.get("populations", {}).items():
            pos = g["positions"][...] if "positions" in g else None
            pops[name] = Population(name, int(g.attrs.get("size", 0)), str(g.attrs.get("model", "")), pos)
        spikes = {}
        for name, g in f.get("spikes", {}).items():
            times, ids = g["timestamps"][...], g["node_ids"][...]
            # A run killed inside a write burst may have extended one of the two only
            # (docs/reliability.md): the pairs are the spikes.
            n = min(len(times), len(ids))
            spikes[name] = Spikes(name, times[:n], ids[:n])
        reports = {}
        for pop, pg in f.get("report", {}).items():
            for var, vg in pg.items():
                if not isinstance(vg, h5py.Group) or "data" not in vg:
                    continue
                data = vg["data"][...]
                units = vg["data"].attrs.get("units", "")
                reports.setdefault(pop, {})[var] = Report(
                    pop, var, _times(vg["mapping/time"], data.shape[0]), data, vg["mapping/node_ids"][...],
                    units.decode() if isinstance(units, bytes) else str(units))
        weights = {}
        for proj, g in f.get("weights", {}).items():
            data = g["data"][...] if "data" in g else np.zeros((0, 0), np.float32)
            units = g["data"].attrs.get("units", "") if "data" in g else ""
            m = g.get("mapping")
            empty = np.zeros(0, np.uint64)
            times = _times(m["time"], data.shape[0]) if m is not None and "time" in m else np.zeros(0)
            final = None
            if "final" in g:
                fg = g["final"]
                funits = fg["weights"].attrs.get("units", "")
                final = FinalWeights(fg["source_ids"][...], fg["target_ids"][...], fg["weights"][...],
                                     fg["delays"][...] if "delays" in fg else np.zeros(0),
                                     funits.decode() if isinstance(funits, bytes) else str(funits))
            weights[proj] = Weights(
                proj, times, data,
                m["synapse_ids"][...] if m is not None and "synapse_ids" in m else empty,
                m["source_ids"][...] if m is not None and "source_ids" in m else empty,
                m["target_ids"][...] if m is not None and "target_ids" in m else empty,
                units.decode() if isinstance(units, bytes) else str(units), final, _attrs(g))
        mods = {}
        for name, g in f.get("modulators", {}).items():
            pg = g.get("probes")
            probes = pg["data"][...] if pg is not None and "data" in pg else np.zeros((0, 0), np.float32)
            times = _times(pg["mapping/time"], probes.shape[0]) if pg is not None and "mapping" in pg else np.zeros(0)
            positions = pg["positions"][...] if pg is not None and "positions" in pg else np.zeros((0, 3))
            snaps = None
            if "snapshots" in g and "data" in g["snapshots"]:
                sg = g["snapshots"]
                snaps = Snapshots(sg["times"][...], sg["data"][...], np.asarray(sg.attrs.get("origin", [0, 0, 0]), float),
                                  np.asarray(sg.attrs.get("spacing", [1, 1, 1]), float))
            a = _attrs(g)
            mods[name] = Modulator(name, str(a.get("field", "well_mixed")), times, probes, positions, snaps, a)
        trials = None
        if "trials" in f:
            cols = {}
            f["trials"].visititems(lambda n, o: cols.__setitem__(n, o[...]) if isinstance(o, h5py.Dataset) else None)
            trials = Trials(cols, _attrs(f["trials"]))
        summary, units = {}, {}
        if "summary" in f:
            for k, v in _attrs(f["summary"]).items():
                if k.endswith(".units") and isinstance(v, str):
                    units[k[:-6]] = v
                elif np.ndim(v) == 0 and isinstance(v, (int, float, np.integer, np.floating)):
                    summary[k] = float(v)
    return Result(str(path), attrs, config, pops, spikes, reports, weights, mods, trials, summary, units)


def population_rate(spikes: Spikes, size: int, t_stop: float, bin_ms: float = 10.0, t_start: float = 0.0):
    """Population rate (Hz per neuron) in bins of bin_ms: (bin centres in ms, rate)."""
    edges = np.arange(t_start, t_stop + bin_ms * 0.5, bin_ms)
    if len(edges) < 2:
        edges = np.array([t_start, t_start + bin_ms])
    counts, _ = np.histogram(spikes.times, bins=edges)
    width = np.diff(edges)
    return 0.5 * (edges[:-1] + edges[1:]), counts / max(size, 1) / (width / 1000.0)


def moving_average(x, window):
    """Mean over the last `window` values at each position (fewer at the start)."""
    x = np.asarray(x, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - window)
    return (c[i] - c[lo]) / (i - lo)


# ---------------------------------------------------------------------------------------------
# Sweeps


def _number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def load_sweep(outdir) -> Dict[str, np.ndarray]:
    """The table of a sweep (OUTDIR/summary.csv, docs/sweep.md) as columns: numeric columns as
    float64 arrays (empty cells NaN), the others as arrays of str. The grid keys are in
    `table["__grid_keys__"]` (from OUTDIR/index.h5 when present, else the columns between `file`
    and `repeat`)."""
    path = os.path.join(outdir, "summary.csv")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        head = next(reader)
        rows = list(reader)
    table = {}
    for c, name in enumerate(head):
        cells = [r[c] if c < len(r) else "" for r in rows]
        nums = [_number(x) if x != "" else math.nan for x in cells]
        if all(v is not None for v in nums) and any(x != "" for x in cells):
            table[name] = np.array(nums, dtype=float)
        else:
            table[name] = np.array(cells, dtype=object)
    keys = None
    index = os.path.join(outdir, "index.h5")
    if os.path.exists(index):
        try:
            with h5py.File(index, "r") as f:
                keys = [k.decode() if isinstance(k, bytes) else str(k) for k in f.attrs["grid_keys"]]
        except (OSError, KeyError):
            keys = None
    if keys is None:
        keys = head[head.index("file") + 1:head.index("repeat")] if "file" in head and "repeat" in head else []
    table["__grid_keys__"] = np.array(keys, dtype=object)
    return table


def sweep_stats(table, x, y, by=None, only_complete=True):
    """Mean and spread of result `y` over the runs (seeds) at each value of parameter `x`, for each
    value of parameter `by` (or all runs together). Returns {by_value: (xs, mean, std, n)} with xs
    sorted; std is the sample standard deviation (ddof = 1; 0 for a single run)."""
    for name in [x, y] + ([by] if by else []):
        if name not in table:
            cols = [k for k in table if not k.startswith("__")]
            raise KeyError(f"no column {name!r} in the sweep table; columns: {', '.join(cols)}")
    ok = np.ones(len(table[x]), bool)
    if only_complete and "status" in table:
        ok = np.array([s == "complete" for s in table["status"]])
    yv = np.asarray(table[y], dtype=float)
    ok &= np.isfinite(yv)
    groups = [None] if by is None else sorted(set(table[by][ok]), key=lambda v: (str(type(v)), v))
    out = {}
    for gval in groups:
        sel = ok if gval is None else ok & (table[by] == gval)
        xs = sorted(set(table[x][sel]), key=lambda v: (str(type(v)), v))
        mean, std, n = [], [], []
        for xv in xs:
            vals = yv[sel & (table[x] == xv)]
            mean.append(vals.mean())
            std.append(vals.std(ddof=1) if len(vals) > 1 else 0.0)
            n.append(len(vals))
        out[gval] = (np.array(xs), np.array(mean), np.array(std), np.array(n))
    return out
