#!/usr/bin/env python3
"""Strata's database sources vs the plain tools, from ONE db-run.sh run (`just bench-db`):
ratios against the targets of issue 13.

usage: db-ratios.py WORK_DIR   (reads results.csv and sizes.csv)
"""
import csv
import os
import sys

work = sys.argv[1]
rows = {r["step"]: r for r in csv.DictReader(open(os.path.join(work, "results.csv")))}
sizes = {r["what"]: int(r["bytes"]) for r in csv.DictReader(open(os.path.join(work, "sizes.csv")))}


def wall(step):
    r = rows.get(step)
    return float(r["wall_s"]) if r else None


def cpu(step):
    r = rows.get(step)
    return float(r["user_s"]) + float(r["sys_s"]) if r else None


def mib(b):
    return f"{b / 2**20:.1f}" if b is not None else "n/a"


def line(name, mine, peer, theirs, target, unit="s"):
    ratio = mine / theirs if mine is not None and theirs else None
    if target is None:
        goal, met = "-", "-"
    else:
        goal, met = f"<= {target:.1f}x", "yes" if ratio is not None and ratio <= target else "NO"
    fmt = (lambda v: f"{v:.2f}" if v is not None else "n/a") if unit == "s" else mib
    print(f"| {name} | {fmt(mine)} | {peer} | {fmt(theirs)} | {f'{ratio:.2f}x' if ratio else 'n/a'} | {goal} | {met} |")


print("| step | strata | peer | peer | ratio | target | met |")
print("|---|---:|---|---:|---:|---:|---|")
if "sqlite_db" in sizes:
    db = sizes["sqlite_db"]
    line("SQLite full backup, s", wall("sqlite_strata_full"), "`.backup` + `zstd -T0 -3`", wall("sqlite_peer_full"), 1.0)
    line("SQLite full stored, MiB", sizes.get("sqlite_strata_full"), "`copy.db.zst`", sizes.get("sqlite_peer_full"), None, "MiB")
    inc = sizes.get("sqlite_strata_incr")
    pct = 100 * inc / db if inc is not None else None
    met = "yes" if pct is not None and pct <= 3 else "NO"
    print(f"| SQLite incremental after 1 % of pages, stored | {mib(inc)} MiB = {pct:.2f} % of {mib(db)} MiB | absolute | - | - | <= 3 % | {met} |")
    line("SQLite incremental, s", wall("sqlite_strata_incr"), "(full of Strata)", wall("sqlite_strata_full"), None)
    line("SQLite restore, s", wall("sqlite_strata_restore"), "`zstd -d copy.db.zst`", wall("sqlite_peer_restore"), None)
if "pg_dump_raw" in sizes:
    line("PostgreSQL dump, s", wall("pg_strata_full"), "`pg_dump -Fc -Z0 \\| zstd -T0 -3`", wall("pg_peer_full"), 1.1)
    line("PostgreSQL dump stored, MiB", sizes.get("pg_strata_full"), "`bench.dump.zst`", sizes.get("pg_peer_full"), None, "MiB")
    line("PostgreSQL restore, s", wall("pg_strata_restore"), "`zstd -d \\| pg_restore`", wall("pg_peer_restore"), 1.1)
notes = []
if "sqlite_db" in sizes:
    notes.append(f"SQLite database {mib(sizes['sqlite_db'])} MiB")
if "pg_db" in sizes:
    notes.append(f"PostgreSQL database {mib(sizes['pg_db'])} MiB on disk, custom -Z0 dump {mib(sizes.get('pg_dump_raw'))} MiB")
if notes:
    print("\n" + "; ".join(notes) + ".")

cpus = [(s, cpu(s), float(rows[s]["other_cpu_s"])) for s in rows if not s.startswith("pgincr")]
if cpus:
    print("\nCPU (user+sys s) and CPU other processes used meanwhile (s), per step:")
    print("| step | wall s | cpu s | others' cpu s |")
    print("|---|---:|---:|---:|")
    for s, c, o in cpus:
        print(f"| {s} | {wall(s):.2f} | {c:.2f} | {o:.2f} |")

formats = [k[len("pgincr_"):-len("_full")] for k in sizes if k.startswith("pgincr_") and k.endswith("_full")]
if formats:
    print("\nDump formats: stored bytes of a full and of an incremental after ~1 % of rows changed")
    print("| dump | stream MiB | full stored MiB | clustered change: incr MiB | % of full | scattered change: incr MiB | % of full |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for f in formats:
        full = sizes[f"pgincr_{f}_full"]
        c, s = sizes.get(f"pgincr_{f}_clustered"), sizes.get(f"pgincr_{f}_scattered")
        pc = f"{100 * c / full:.1f} %" if c is not None else "n/a"
        ps = f"{100 * s / full:.1f} %" if s is not None else "n/a"
        print(f"| {f} | {mib(sizes[f'pgincr_{f}_logical'])} | {mib(full)} | {mib(c)} | {pc} | {mib(s)} | {ps} |")
