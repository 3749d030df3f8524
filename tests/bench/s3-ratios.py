#!/usr/bin/env python3
"""Strata vs restic on the same local S3 server, from ONE peers.sh run (`just bench-s3`).

usage: s3-ratios.py WORK_DIR   (reads results.csv, sizes.csv and s3-requests.csv)
"""
import csv
import os
import statistics
import sys

work = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(work, "results.csv"))))
reqs = list(csv.reader(open(os.path.join(work, "s3-requests.csv"))))


def wall(tool, op):
    v = [float(r["wall_s"]) for r in rows if r["tool"] == tool and r["op"] == op]
    return statistics.median(v) if v else None


def requests(tool, op):
    v = [int(r[3]) for r in reqs if r[0] == tool and r[1] == op]
    return statistics.median(v) if v else None


print("| step | strata s | restic s | ratio | target | met | strata requests | restic requests |")
print("|---|---:|---:|---:|---:|---|---:|---:|")
targets = {"full": 0.5, "incr": None, "nochange": None, "restore": 0.5}
for op, target in targets.items():
    mine, theirs = wall("strata_s3", op), wall("restic_s3", op)
    ratio = mine / theirs if mine is not None and theirs else None
    if op == "nochange":
        goal, met = "<= 0.5 s", mine is not None and mine <= 0.5
    elif target is None:
        goal, met = "-", True
    else:
        goal, met = f"<= {target}x", ratio is not None and ratio <= target
    print(
        f"| {op} | {mine or 0:.2f} | {theirs or 0:.2f} | {f'{ratio:.2f}x' if ratio else 'n/a'} | {goal} | "
        f"{'yes' if met else 'NO'} | {requests('strata_s3', op)} | {requests('restic_s3', op)} |"
    )
nc = requests("strata_s3", "nochange")
print(f"\nrequests of a no-change backup: {nc} (target <= 10: {'yes' if nc is not None and nc <= 10 else 'NO'})")
