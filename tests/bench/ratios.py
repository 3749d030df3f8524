#!/usr/bin/env python3
"""Strata vs peers from ONE peers.sh run: ratios against the targets of issue 2.

usage: ratios.py WORK_DIR   (WORK_DIR as given to peers.sh; reads results.csv and sizes.csv)
"""
import csv
import os
import statistics
import sys

work = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(work, "results.csv"))))
sizes = list(csv.DictReader(open(os.path.join(work, "sizes.csv"))))


def wall(tool, op):
    v = [float(r["wall_s"]) for r in rows if r["tool"] == tool and r["op"] == op]
    return statistics.median(v) if v else None


def rss(tool):
    v = [int(r["maxrss_kb"]) for r in rows if r["tool"] == tool]
    return max(v) / 1024 if v else None


def size(tool, col):
    v = [int(r[col]) for r in sizes if r["tool"] == tool and r[col]]
    return statistics.median(v) / 2**20 if v else None


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


s = {op: wall("strata", op) for op in ("full", "incr", "nochange", "restore")}
checks = [
    ("full backup", s["full"], "tar|zstd -T0 -3", wall("tar", "full"), 1.1),
    ("incremental after 1% change", s["incr"], "restic incr", wall("restic", "incr"), 0.5),
    ("restore", s["restore"], "restic restore", wall("restic", "restore"), 0.6),
]
print("| step | strata s | peer | peer s | ratio | target | met |")
print("|---|---:|---|---:|---:|---:|---|")
for name, mine, peer, theirs, target in checks:
    met = "yes" if mine is not None and theirs and mine / theirs <= target else "NO"
    print(f"| {name} | {mine:.2f} | {peer} | {theirs or 0:.2f} | {ratio(mine, theirs)} | <= {target}x | {met} |")
nc = s["nochange"]
print(f"| no-change backup (50k files) | {nc:.2f} | absolute | - | - | <= 0.30 s | {'yes' if nc is not None and nc <= 0.3 else 'NO'} |")
for col, label in (("after_full_bytes", "repo after full"), ("after_incr_bytes", "repo after full+incr")):
    mine, theirs = size("strata", col), size("restic", col)
    met = "yes" if mine is not None and theirs and mine <= theirs else "NO"
    print(f"| {label} MiB | {mine:.1f} | restic | {theirs or 0:.1f} | {ratio(mine, theirs)} | <= 1.00x | {met} |")
mi, ti = size("strata", "after_incr_bytes"), size("restic", "after_incr_bytes")
mf, tf = size("strata", "after_full_bytes"), size("restic", "after_full_bytes")
if None not in (mi, ti, mf, tf):
    print(f"| incremental stored MiB | {mi - mf:.1f} | restic | {ti - tf:.1f} | {ratio(mi - mf, ti - tf)} | <= 1.00x | {'yes' if mi - mf <= ti - tf else 'NO'} |")
if wall("strata_enc", "full") is not None:
    # Issue 14: the encrypted repository, in the same run as the unencrypted one and restic.
    e = {op: wall("strata_enc", op) for op in ("full", "incr", "restore")}
    enc = [
        ("encrypted full", e["full"], "strata full (unencrypted)", s["full"], 1.10),
        ("encrypted full", e["full"], "restic full", wall("restic", "full"), 0.5),
        ("encrypted incremental", e["incr"], "strata incr (unencrypted)", s["incr"], 1.10),
        ("encrypted incremental", e["incr"], "restic incr", wall("restic", "incr"), 0.5),
        ("encrypted restore", e["restore"], "strata restore (unencrypted)", s["restore"], 1.10),
        ("encrypted restore", e["restore"], "restic restore", wall("restic", "restore"), 0.5),
    ]
    print("\n| step | strata_enc s | vs | its s | ratio | target | met |")
    print("|---|---:|---|---:|---:|---:|---|")
    for name, mine, peer, theirs, target in enc:
        met = "yes" if mine is not None and theirs and mine / theirs <= target else "NO"
        print(f"| {name} | {mine or 0:.2f} | {peer} | {theirs or 0:.2f} | {ratio(mine, theirs)} | <= {target}x | {met} |")
    ef, pf = size("strata_enc", "after_full_bytes"), size("strata", "after_full_bytes")
    if None not in (ef, pf):
        print(f"| repo after full MiB | {ef:.1f} | strata (unencrypted) | {pf:.1f} | {ratio(ef, pf)} | - | - |")
print(f"\npeak RSS: strata {rss('strata'):.0f} MiB, restic {rss('restic') or 0:.0f} MiB")
