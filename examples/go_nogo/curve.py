#!/usr/bin/env python3
"""Learning curve of one Go/No-Go run: accuracy, hits and false alarms per block of 20 trials,
before and after the reversal, and the task's summary.   curve.py OUT.h5 [--block 20]"""
import argparse
import math

import h5py
import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("file")
    p.add_argument("--block", type=int, default=20)
    a = p.parse_args()
    with h5py.File(a.file, "r") as f:
        t = f["trials"]
        correct = t["correct"][:].astype(bool)
        dec = t["decision"][:]
        go = t["correct_response"][:] == 0
        rev = t["reversed"][:].astype(bool)
        attrs = dict(t.attrs)
    n = len(correct)
    print(f"learning curve ({n} trials, blocks of {a.block}; reversal after trial {int(attrs['reversal_after'])})")
    print("  trials     phase     accuracy  hit rate  false alarms")
    for b in range(0, n, a.block):
        s = slice(b, min(n, b + a.block))
        g, ng = go[s], ~go[s]
        hit = (dec[s][g] == 0).mean() if g.any() else math.nan
        fa = (dec[s][ng] == 0).mean() if ng.any() else math.nan
        phase = "after" if rev[s].all() else ("before" if not rev[s].any() else "mixed")
        bar = "#" * int(round(correct[s].mean() * 20))
        print(f"  {b:3d}-{s.stop - 1:3d}    {phase:8s}  {correct[s].mean():8.2f}  {hit:8.2f}  {fa:12.2f}  {bar}")
    ttc = attrs["trials_to_criterion"]
    print(f"before the reversal: accuracy {attrs['accuracy_pre']:.2f} (last 20: {attrs['accuracy_pre_last20']:.2f}), "
          f"d' {attrs['d_prime_pre']:.2f}")
    print(f"after the reversal:  accuracy {attrs['accuracy_post']:.2f}, criterion (16 of 20 correct) after "
          f"{'never' if math.isnan(ttc) else int(ttc)} trials, {int(attrs['perseverative_errors'])} perseverative errors")


if __name__ == "__main__":
    main()
