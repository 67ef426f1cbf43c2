#!/usr/bin/env python3
"""Go/No-Go with reversal: the expected behaviour over many seeds (README.md in this folder).

Runs go_nogo.toml for each seed in three variants - the full network, NA disabled
(task.gng.releases.NA.gain=0) and DA disabled (task.gng.releases.DA.gain=0) - and reads /trials:

  1. before the reversal the full network is well above chance: mean accuracy over the last 20
     trials before the reversal >= 0.8 and mean d' (before the reversal) >= 1.5;
  2. after the reversal it reaches the criterion (16 of 20 correct) in fewer trials with NA than
     without: the mean over seeds is smaller, and so is the median (a run that never reaches it
     counts as n_post + 1 trials, i.e. censored);
  3. with DA disabled nothing is learned: mean accuracy within 0.5 +- 0.1.

    /usr/bin/python3 examples/go_nogo/check.py [--seeds 10] [--first-seed 1] [--jobs 2] [--bin build/bin/nmsim]
                                               [--outdir out/go_nogo] [--files DIR] [--sweep DIR]
With --files DIR it only reads DIR/<variant>_seed<S>.h5 written before. With --sweep DIR it reads
the runs of the study's sweep (README.md in this folder):

    nmsim sweep examples/go_nogo/go_nogo.toml --grid task.gng.releases.NA.gain=0.5,0 \
        --grid task.gng.releases.DA.gain=1.0,0 --repeats 10 --jobs 2 -o DIR

(NA gain 0.5 and DA gain 1.0 are the config's values: full; NA 0: na_off; DA 0 with NA on: da_off;
both off is run too but not checked).
"""
import csv
import argparse
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VARIANTS = {
    "full": [],
    "na_off": ["--set", "task.gng.releases.NA.gain=0"],
    "da_off": ["--set", "task.gng.releases.DA.gain=0"],
}


def run_one(args, variant, seed):
    out = os.path.join(args.outdir, f"{variant}_seed{seed}.h5")
    cmd = [args.bin, "run", os.path.join(HERE, "go_nogo.toml"), "--seed", str(seed), "--threads", "1", "--quiet",
           "--force", "-o", out] + VARIANTS[variant]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def read(path):
    with h5py.File(path, "r") as f:
        t = f["trials"]
        a = {k: float(v) for k, v in t.attrs.items() if np.ndim(v) == 0 and not isinstance(v, (str, bytes))}
        a["correct"] = t["correct"][:].astype(float)
    return a


def sweep_files(folder):
    """Files of the sweep's complete runs per variant, paired by seed: ({variant: [path]}, seeds)."""
    na_key, da_key = "task.gng.releases.NA.gain", "task.gng.releases.DA.gain"
    by = {v: {} for v in VARIANTS}
    with open(os.path.join(folder, "summary.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if na_key not in row or da_key not in row:
                sys.exit(f"check.py: {folder}/summary.csv has no '{na_key}' and '{da_key}' columns: "
                         "not the Go/No-Go study sweep (see --help)")
            if row["status"] != "complete":
                sys.exit(f"check.py: run {row['id']} ({row['file']}) is '{row['status']}': {row['error']}; "
                         "re-run the sweep command to finish it")
            na, da = float(row[na_key]), float(row[da_key])
            variant = "da_off" if da == 0 and na != 0 else "na_off" if na == 0 and da != 0 else \
                "full" if na != 0 and da != 0 else None
            if variant:
                by[variant][int(row["seed"])] = os.path.join(folder, row["file"])
    seeds = sorted(set.intersection(*(set(d) for d in by.values())))
    if not seeds:
        sys.exit(f"check.py: {folder} holds no seed run in all three variants (full, na_off, da_off)")
    return {v: [by[v][s] for s in seeds] for v in VARIANTS}, seeds


def fmt(xs):
    return "[" + ", ".join("never" if math.isnan(x) else f"{x:g}" for x in xs) + "]"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin", "nmsim"))
    p.add_argument("--outdir", default=os.path.join(ROOT, "out", "go_nogo"))
    p.add_argument("--files", help="read existing files from this folder instead of running")
    p.add_argument("--sweep", help="read the runs of an nmsim sweep in this folder (summary.csv) instead of running")
    args = p.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if args.sweep:
        args.outdir = args.sweep
        paths, seeds = sweep_files(args.sweep)
    else:
        if args.files:
            args.outdir = args.files
        else:
            os.makedirs(args.outdir, exist_ok=True)
            with ThreadPoolExecutor(max_workers=args.jobs) as ex:
                list(ex.map(lambda vs: run_one(args, *vs), [(v, s) for v in VARIANTS for s in seeds]))
        paths = {v: [os.path.join(args.outdir, f"{v}_seed{s}.h5") for s in seeds] for v in VARIANTS}
    res = {v: [read(f) for f in paths[v]] for v in VARIANTS}

    def col(v, k):
        return np.array([r[k] for r in res[v]])

    print(f"Go/No-Go with reversal, {len(seeds)} seeds (files in {args.outdir})")
    dp = "d' pre"
    print(f"{'variant':8s} {'acc pre(last20)':>15s} {'hit pre':>8s} {'FA pre':>7s} {dp:>7s} {'acc post':>9s} "
          f"{'hit post':>8s} {'FA post':>7s} {'persev.':>8s} {'to crit.':>9s}")
    for v in VARIANTS:
        ttc = col(v, "trials_to_criterion")
        print(f"{v:8s} {col(v, 'accuracy_pre_last20').mean():15.3f} {col(v, 'hit_rate_pre').mean():8.3f} "
              f"{col(v, 'false_alarm_rate_pre').mean():7.3f} {col(v, 'd_prime_pre').mean():7.2f} "
              f"{col(v, 'accuracy_post').mean():9.3f} {col(v, 'hit_rate_post').mean():8.3f} "
              f"{col(v, 'false_alarm_rate_post').mean():7.3f} {col(v, 'perseverative_errors').mean():8.1f} "
              f"{np.nanmean(ttc) if np.isfinite(ttc).any() else math.nan:9.1f}")
    n_post = res["full"][0]["n_post"]
    censored = {v: np.where(np.isnan(col(v, "trials_to_criterion")), n_post + 1, col(v, "trials_to_criterion"))
                for v in ("full", "na_off")}
    print("trials to criterion after the reversal (80% over 20 trials):")
    for v in ("full", "na_off"):
        c = censored[v]
        print(f"  {v:7s} {fmt(col(v, 'trials_to_criterion'))}  mean {c.mean():.1f} +- {c.std(ddof=1):.1f}, "
              f"median {np.median(c):g} (never = {n_post + 1:g})")
    ratio_mean = censored["na_off"].mean() / censored["full"].mean()
    ratio_median = np.median(censored["na_off"]) / np.median(censored["full"])
    faster = int((censored["full"] < censored["na_off"]).sum())
    print(f"  NA-disabled / with NA: {ratio_mean:.2f} (means), {ratio_median:.2f} (medians); "
          f"faster with NA in {faster} of {len(seeds)} seeds")
    print("perseverative errors after the reversal: with NA " + fmt(col("full", "perseverative_errors")) +
          ", NA disabled " + fmt(col("na_off", "perseverative_errors")))

    checks = [
        ("well above chance before the reversal (accuracy of the last 20 >= 0.8, d' >= 1.5)",
         col("full", "accuracy_pre_last20").mean() >= 0.8 and col("full", "d_prime_pre").mean() >= 1.5),
        ("after the reversal NA reaches the criterion in fewer trials (mean and median)",
         censored["full"].mean() < censored["na_off"].mean() and
         np.median(censored["full"]) < np.median(censored["na_off"])),
        ("DA disabled stays near chance (accuracy 0.5 +- 0.1)", abs(col("da_off", "accuracy").mean() - 0.5) <= 0.1),
    ]
    for what, ok in checks:
        print(("ok   " if ok else "FAIL ") + what)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
