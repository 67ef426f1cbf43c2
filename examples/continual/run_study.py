#!/usr/bin/python3
"""Split Fashion-MNIST study: runs example_continual for several seeds with and without ACh
gating, stores each run's accuracy matrix in its HDF5 file (/continual/accuracy [T, T]),
computes average accuracy, backward transfer and forgetting (mean +- sd over seeds), plots the
matrices and per-task curves, and checks the expectations of README.md.

  /usr/bin/python3 examples/continual/run_study.py [--bin build/bin/example_continual]
        [--seeds 1,2,3,4,5] [--jobs 2] [--train 500] [--test 200] [--out out/continual] [-- EXTRA ARGS]

Definitions (R[i][j]: accuracy on task j after training tasks 0..i, T tasks):
  average accuracy     A = (1/T) sum_j R[T-1][j]                        (Chaudhry et al. 2018)
  forgetting of task j f_j = max_{l < T-1} R[l][j] - R[T-1][j], j < T-1;  F = mean_j f_j
                                                                          (Chaudhry et al. 2018)
  backward transfer    BWT = (1/(T-1)) sum_{j < T-1} (R[T-1][j] - R[j][j]) (Lopez-Paz & Ranzato 2017)
Exit code 0 when every expectation holds, 1 otherwise (2: bad arguments or missing dataset).
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys

import h5py
import numpy as np


def metrics(R):
    R = np.asarray(R, dtype=float)
    T = R.shape[0]
    last = R[T - 1]
    forget = [max(R[l][j] for l in range(j, T - 1)) - last[j] for j in range(T - 1)]
    return {
        "average_accuracy": float(last.mean()),
        "bwt": float(np.mean([last[j] - R[j][j] for j in range(T - 1)])),
        "forgetting": float(np.mean(forget)),
        "forgetting_per_task": [float(f) for f in forget],
        "newest": float(R[T - 1][T - 1]),
        "diagonal": [float(R[j][j]) for j in range(T)],
    }


# One-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (beyond: 30's, conservative).
T95 = [6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753,
       1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697]


def paired(gated, control):
    """Per-seed differences gated - control (same seeds, same order): how many are negative, mean,
    sd, and the two-sided 90 % confidence interval of the mean difference (t distribution). Its
    lower end is the one-sided 95 % lower confidence bound used by the non-inferiority check; the
    interval lying inside [-margin, +margin] is equivalence by two one-sided tests (TOST) at 5 %."""
    d = np.asarray(gated, dtype=float) - np.asarray(control, dtype=float)
    n = len(d)
    out = {"n": n, "lower": int(np.sum(d < 0)), "mean": float(d.mean()) if n else float("nan")}
    if n < 2:
        return {**out, "sd": float("nan"), "ci90": [float("-inf"), float("inf")]}
    sd = float(d.std(ddof=1))
    half = T95[min(n - 1, len(T95)) - 1] * sd / np.sqrt(n)
    return {**out, "sd": sd, "ci90": [out["mean"] - half, out["mean"] + half]}


def store(run):
    """Append /continual/accuracy and the metrics to the run's HDF5 file."""
    with h5py.File(run["h5"], "a") as f:
        g = f.require_group("continual")
        for k in list(g.keys()):
            del g[k]
        d = g.create_dataset("accuracy", data=np.asarray(run["accuracy"], dtype=np.float64))
        d.attrs["units"] = "1"
        d.attrs["description"] = "R[i][j]: accuracy on task j after training tasks 0..i (task-incremental)"
        d.attrs["gating"] = bool(run["gating"])
        d.attrs["seed"] = int(run["seed"])
        d.attrs["test_per_task"] = int(run["test_per_task"])
        g.create_dataset("train_curve", data=np.asarray(run["train_curve"], dtype=np.float64)).attrs["block"] = 50
        for k, v in metrics(run["accuracy"]).items():
            if not isinstance(v, list):
                g.attrs[k] = v


def run_one(args, seed, gating):
    out = os.path.join(args.out, f"seed{seed}_{'gated' if gating else 'control'}")
    if args.reuse and os.path.exists(out + ".json"):
        with open(out + ".json") as f:
            run = json.load(f)
        # Same sizes and the same extra arguments (--set ...), else the run is redone.
        if (run["train_per_task"] == args.train and run["test_per_task"] == args.test
                and run.get("extra") == args.extra):
            return run
    cmd = [args.bin, "--seed", str(seed), "--gating", "on" if gating else "off", "--train", str(args.train),
           "--test", str(args.test), "-o", out] + args.extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    with open(out + ".json") as f:
        run = json.load(f)
    run["extra"] = args.extra
    with open(out + ".json", "w") as f:
        json.dump(run, f)
    store(run)
    return run


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    for k, (name, rs) in enumerate(runs.items()):
        R = np.mean([r["accuracy"] for r in rs], axis=0)
        im = ax[k].imshow(R, vmin=0.4, vmax=1.0, cmap="viridis")
        for i in range(R.shape[0]):
            for j in range(R.shape[1]):
                ax[k].text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
        ax[k].set_title(f"{name}: mean R[i][j] over {len(rs)} seeds")
        ax[k].set_xlabel("task j evaluated")
        ax[k].set_ylabel("after training task i")
    fig.colorbar(im, ax=ax[1])
    for name, rs in runs.items():
        R = np.array([r["accuracy"] for r in rs])
        T = R.shape[1]
        for j in range(T):
            m = R[:, j:, j].mean(axis=0)
            ax[2].plot(range(j, T), m, "-o" if name == "gated" else "--s", ms=3,
                       color=f"C{j}", alpha=1.0 if name == "gated" else 0.5,
                       label=f"task {j} ({name})" if j == 0 or name == "gated" else None)
    ax[2].axhline(0.5, color="k", lw=0.5)
    ax[2].set_xlabel("after training task i")
    ax[2].set_ylabel("accuracy on task j")
    ax[2].set_title("per-task accuracy (solid: gated, dashed: control)")
    ax[2].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bin/example_continual")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--out", default="out/continual")
    ap.add_argument("--reuse", action="store_true",
                    help="analyse existing OUT/seed*_*.json of the same --train/--test and extra arguments "
                         "instead of re-running them")
    ap.add_argument("extra", nargs="*", help="arguments passed to every run (after --)")
    args = ap.parse_args()
    if not os.path.exists("/usr/share/datasets/fashion-mnist") and "--data" not in args.extra:
        print("run_study: Fashion-MNIST is missing: install the Debian package dataset-fashion-mnist "
              "(NMSIM_WITH_FASHION_MNIST=1 make deps)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {"gated": [], "control": []}
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_one, args, s, g): (s, g) for s in seeds for g in (True, False)}
        for fu in cf.as_completed(futs):
            s, g = futs[fu]
            r = fu.result()
            runs["gated" if g else "control"].append(r)
            m = metrics(r["accuracy"])
            print(f"seed {s} {'gated  ' if g else 'control'}: A {m['average_accuracy']:.3f}  BWT {m['bwt']:+.3f}  "
                  f"F {m['forgetting']:.3f}  newest {m['newest']:.3f}  ({r['wall_s']:.0f} s)", flush=True)
    for k in runs:
        runs[k].sort(key=lambda r: r["seed"])
    summary = {}
    for name, rs in runs.items():
        ms = [metrics(r["accuracy"]) for r in rs]
        summary[name] = {k: [float(np.mean([m[k] for m in ms])), float(np.std([m[k] for m in ms], ddof=1)) if len(ms) > 1 else 0.0]
                         for k in ("average_accuracy", "bwt", "forgetting", "newest")}
        diag = np.array([m["diagonal"] for m in ms])
        summary[name]["diagonal"] = [[float(diag[:, i].mean()), float(diag[:, i].std(ddof=1)) if len(ms) > 1 else 0.0]
                                     for i in range(diag.shape[1])]
        summary[name]["mean_accuracy_matrix"] = np.mean([r["accuracy"] for r in rs], axis=0).round(4).tolist()
        summary[name]["seeds"] = [r["seed"] for r in rs]
    g, c = summary["gated"], summary["control"]
    if [r["seed"] for r in runs["gated"]] != [r["seed"] for r in runs["control"]]:
        print("error: the gated and control runs are not of the same seeds", file=sys.stderr)
        return 2
    newest = paired(*([metrics(r["accuracy"])["newest"] for r in runs[v]] for v in ("gated", "control")))
    summary["newest_paired_difference"] = newest
    cut = 1.0 - g["forgetting"][0] / c["forgetting"][0] if c["forgetting"][0] > 0 else float("nan")
    summary["forgetting_cut"] = cut
    for name in ("control", "gated"):
        s = summary[name]
        print(f"\n{name} (mean +- sd over {len(s['seeds'])} seeds)")
        for i, row in enumerate(s["mean_accuracy_matrix"]):
            print(f"  R[{i}] = " + " ".join(f"{v:.3f}" for v in row))
        print("  R[i][i] (just learned) " + "  ".join(f"{m:.3f}+-{sd:.3f}" for m, sd in s["diagonal"]))
        for k in ("average_accuracy", "bwt", "forgetting", "newest"):
            print(f"  {k:17s} {s[k][0]:+.3f} +- {s[k][1]:.3f}")
    checks = [
        ("control learns each new task well (mean R[i][i] >= 0.8 for every i)",
         min(m for m, _ in c["diagonal"]) >= 0.8),
        ("gated learns each new task well (mean R[i][i] >= 0.8 for every i)",
         min(m for m, _ in g["diagonal"]) >= 0.8),
        ("control forgets (average forgetting >= 0.05)", c["forgetting"][0] >= 0.05),
        ("gating cuts average forgetting by >= 30%", cut >= 0.30),
        ("at equal accuracy on the newest task: gated not worse than control by more than 0.03 "
         "(95 % lower confidence bound of the per-seed paired difference >= -0.03)", newest["ci90"][0] >= -0.03),
    ]
    print(f"\nforgetting cut by gating: {100 * cut:.0f}%")
    print(f"newest task, gated - control per seed: mean {newest['mean']:+.4f}, sd {newest['sd']:.4f}, "
          f"90% CI [{newest['ci90'][0]:+.4f}, {newest['ci90'][1]:+.4f}] over {newest['n']} seeds "
          f"(gated lower in {newest['lower']})")
    ok = True
    for text, good in checks:
        print(f"  {'PASS' if good else 'FAIL'}  {text}")
        ok &= bool(good)
    summary["checks"] = {t: bool(v) for t, v in checks}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    plot(runs, os.path.join(args.out, "continual.png"))
    print(f"\nwrote {args.out}/summary.json, {args.out}/continual.png and one .h5/.json per run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
