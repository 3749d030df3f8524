#!/usr/bin/env python3
"""Medians of tests/bench/enc-run.sh's results.csv and the ratios against issue 14's targets."""
import csv
import statistics
import sys

TARGETS = {"full": 1.10, "restore": 1.10}


def main(path):
    rows = list(csv.DictReader(open(path)))
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    steps = list(dict.fromkeys(r["step"] for r in rows))
    print("| mode | step | plain s | encrypted s | plain cpu s | encrypted cpu s | ratio | target |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for mode in modes:
        for step in steps:
            def med(tool, field):
                v = [float(r[field]) for r in rows if r["mode"] == mode and r["step"] == step and r["tool"] == tool]
                return statistics.median(v) if v else float("nan")
            p, e = med("plain", "wall_s"), med("enc", "wall_s")
            ratio = e / p if p > 0 else float("nan")
            t = TARGETS.get(step)
            verdict = "-" if t is None else (f"<= {t:.2f}x met" if ratio <= t else f"<= {t:.2f}x NOT met")
            print(f"| {mode} | {step} | {p:.2f} | {e:.2f} | {med('plain', 'cpu_s'):.2f} | {med('enc', 'cpu_s'):.2f} | {ratio:.2f}x | {verdict} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results.csv")
