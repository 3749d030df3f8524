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


def durable(step):
    r = rows.get(step)
    return float(r["wall_s"]) + float(r.get("sync_s") or 0) if r else None


def cpu(step):
    r = rows.get(step)
    return float(r["user_s"]) + float(r["sys_s"]) if r else None


def mib(b):
    return f"{b / 2**20:.1f}" if b is not None else "n/a"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def secs(v):
    return f"{v:.2f}" if v is not None else "n/a"


def timed(name, mine, peer, theirs, target):
    """Wall time, and wall time plus the `sync` after the step (until the data is on disk,
    which Strata waits for and zstd does not): the target is judged on the latter."""
    a, b = durable(mine), durable(theirs)
    if target is None:
        goal, met = "-", "-"
    else:
        goal, met = f"<= {target:.1f}x", "yes" if a is not None and b and a / b <= target else "NO"
    print(f"| {name} | {secs(wall(mine))} / {secs(a)} | {peer} | {secs(wall(theirs))} / {secs(b)} | "
          f"{ratio(wall(mine), wall(theirs))} / {ratio(a, b)} | {goal} | {met} |")


print("| step | strata s (wall / +sync) | peer | peer s (wall / +sync) | ratio (wall / +sync) | target | met |")
print("|---|---:|---|---:|---:|---:|---|")
if "sqlite_db" in sizes:
    db = sizes["sqlite_db"]
    timed("SQLite full backup", "sqlite_strata_full", "`.backup` + `zstd -T0 -3`", "sqlite_peer_full", 1.0)
    timed("SQLite restore (of the incremental)", "sqlite_strata_restore", "`zstd -d copy.db.zst`", "sqlite_peer_restore", None)
if "pg_dump_raw" in sizes:
    timed("PostgreSQL dump", "pg_strata_full", "`pg_dump -Fc -Z0 \\| zstd -T0 -3`", "pg_peer_full", 1.1)
    timed("PostgreSQL restore", "pg_strata_restore", "`zstd -d \\| pg_restore`", "pg_peer_restore", 1.1)

print("\n| stored | strata MiB | peer | peer MiB | ratio | target | met |")
print("|---|---:|---|---:|---:|---:|---|")
if "sqlite_db" in sizes:
    print(f"| SQLite full | {mib(sizes.get('sqlite_strata_full'))} | `copy.db.zst` | {mib(sizes.get('sqlite_peer_full'))} | "
          f"{ratio(sizes.get('sqlite_strata_full'), sizes.get('sqlite_peer_full'))} | - | - |")
    inc = sizes.get("sqlite_strata_incr")
    pct = 100 * inc / db if inc is not None else None
    met = "yes" if pct is not None and pct <= 3 else "NO"
    print(f"| SQLite incremental after 1 % of pages changed ({secs(wall('sqlite_strata_incr'))} s) | {mib(inc)} | "
          f"database | {mib(db)} | {pct:.2f} % | <= 3 % | {met} |")
if "pg_dump_raw" in sizes:
    print(f"| PostgreSQL dump | {mib(sizes.get('pg_strata_full'))} | `bench.dump.zst` | {mib(sizes.get('pg_peer_full'))} | "
          f"{ratio(sizes.get('pg_strata_full'), sizes.get('pg_peer_full'))} | - | - |")
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
    print("| step | wall s | sync after s | cpu s | others' cpu s |")
    print("|---|---:|---:|---:|---:|")
    for s, c, o in cpus:
        print(f"| {s} | {wall(s):.2f} | {float(rows[s].get('sync_s') or 0):.2f} | {c:.2f} | {o:.2f} |")

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
