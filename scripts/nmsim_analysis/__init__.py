"""nmsim_analysis: load nmsim result files and sweeps into numpy and draw standard figures.

    import sys; sys.path.insert(0, "scripts")
    import nmsim_analysis as na
    r = na.load("out.h5")                      # spikes, reports, weights, modulators, trials, summary
    na.save(na.plots.raster(r), "raster.png")
    t = na.load_sweep("sweep_out")             # summary.csv as columns

Only h5py, numpy and matplotlib (Agg) are used. docs/analysis.md has the whole API.
"""
from . import plots
from .load import (FinalWeights, Modulator, Population, Report, Result, Snapshots, Spikes, Trials, Weights, load, open_file,
                   load_sweep, moving_average, population_rate, sweep_stats)
from .plots import PlotError, save

__all__ = ["plots", "load", "open_file", "load_sweep", "sweep_stats", "population_rate", "moving_average", "save", "PlotError",
           "Result", "Population", "Spikes", "Report", "Weights", "FinalWeights", "Modulator", "Snapshots", "Trials"]
