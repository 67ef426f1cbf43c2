"""nmsim-plot: figures of nmsim result files and sweeps, written as PNG (docs/analysis.md).

Exit codes: 0 success, 2 bad input (missing file, not an nmsim file, nothing to plot), with one
line on stderr.
"""
import argparse
import os
import sys

from . import plots
from .load import load, load_sweep

FIGURES = {
    # name: (function, what it needs, file name in `all`)
    "raster": (lambda r, a: plots.raster(r, a.populations, a.bin), lambda r: bool(r.spikes)),
    "traces": (lambda r, a: plots.traces(r, a.population, a.variable, a.max), lambda r: bool(r.reports)),
    "weights": (lambda r, a: plots.weights(r, a.projection), lambda r: bool(r.weights)),
    "modulators": (lambda r, a: plots.modulators(r, a.modulators), lambda r: bool(r.modulators)),
    "snapshot": (lambda r, a: plots.snapshot(r, a.modulator, a.index, a.z),
                 lambda r: any(m.snapshots is not None for m in r.modulators.values())),
    "trials": (lambda r, a: plots.learning_curve(r, a.window), lambda r: r.trials is not None and len(r.trials) > 0),
}


class Fail(Exception):
    pass


def _load(path):
    if not os.path.exists(path):
        raise Fail(f"{path}: no such file")
    try:
        return load(path)
    except OSError as e:
        raise Fail(f"{path}: not a readable HDF5 file ({e})")
    except (KeyError, ValueError, TypeError) as e:
        raise Fail(f"{path}: not an nmsim result file ({e})")


def parser():
    p = argparse.ArgumentParser(prog="nmsim-plot", description="Figures of nmsim result files and sweeps (PNG).")
    sub = p.add_subparsers(dest="command", required=True)

    def file_cmd(name, help_text):
        s = sub.add_parser(name, help=help_text)
        s.add_argument("file", help="nmsim result file (.h5)")
        s.add_argument("-o", "--output", required=True, help="PNG file to write")
        return s

    s = file_cmd("raster", "spike raster with population rates")
    s.add_argument("--populations", nargs="+", help="populations to show (default: all recorded)")
    s.add_argument("--bin", type=float, default=10.0, help="rate bin in ms (default 10)")
    s = file_cmd("traces", "sampled state variables (membrane potential, ...)")
    s.add_argument("--population")
    s.add_argument("--variable")
    s.add_argument("--max", type=int, default=5, help="neurons per panel (default 5)")
    s = file_cmd("weights", "weight evolution and histograms")
    s.add_argument("--projection")
    s = file_cmd("modulators", "modulator concentration over time at the probes")
    s.add_argument("--modulators", nargs="+")
    s = file_cmd("snapshot", "z-slice of a grid modulator snapshot")
    s.add_argument("--modulator")
    s.add_argument("--index", type=int, default=-1, help="snapshot number (default: the last)")
    s.add_argument("--z", type=float, help="z of the slice in um (default: the slice with the maximum)")
    s = file_cmd("trials", "task learning curve (accuracy, reward, RPE; reversal marked)")
    s.add_argument("--window", type=int, default=20, help="moving window in trials (default 20)")
    s = sub.add_parser("all", help="every figure the file supports, into a directory")
    s.add_argument("file")
    s.add_argument("-d", "--dir", required=True, help="directory for the PNG files (created)")
    s.add_argument("--window", type=int, default=20)
    s = sub.add_parser("sweep", help="a result against a swept parameter (mean and spread over seeds)")
    s.add_argument("outdir", help="the -o OUTDIR of nmsim sweep")
    s.add_argument("--x", required=True, help="swept parameter (a --grid key)")
    s.add_argument("--y", required=True, help="result column (e.g. rate.exc, trials.accuracy)")
    s.add_argument("--by", help="another swept parameter: one line per value")
    s.add_argument("-o", "--output", required=True)
    return p


def run(argv):
    a = parser().parse_args(argv)
    if a.command == "sweep":
        if not os.path.exists(os.path.join(a.outdir, "summary.csv")):
            raise Fail(f"{a.outdir}: no summary.csv (not the output directory of nmsim sweep)")
        table = load_sweep(a.outdir)
        try:
            fig = plots.sweep(table, a.x, a.y, a.by)
        except KeyError as e:
            raise Fail(str(e.args[0]))
        plots.save(fig, a.output)
        print(a.output)
        return 0
    r = _load(a.file)
    if a.command == "all":
        os.makedirs(a.dir, exist_ok=True)
        defaults = argparse.Namespace(populations=None, bin=10.0, population=None, variable=None, max=5,
                                      projection=None, modulators=None, modulator=None, index=-1, z=None,
                                      window=a.window)
        written = []
        for name, (draw, possible) in FIGURES.items():
            if possible(r):
                path = os.path.join(a.dir, f"{name}.png")
                plots.save(draw(r, defaults), path)
                written.append(path)
        if not written:
            raise Fail(f"{a.file}: nothing to plot (no spikes, state, weights, modulators or trials)")
        print("\n".join(written))
        return 0
    draw, _ = FIGURES[a.command]
    plots.save(draw(r, a), a.output)
    print(a.output)
    return 0


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except (Fail, plots.PlotError) as e:
        print(f"nmsim-plot: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
