#!/usr/bin/env python3
"""A realistic SQLite database for `just bench-db`, and a 1 %-of-pages change to it.

usage:
  make-sqlite.py DB [--mib 1024] [--seed 1]    create DB (must not exist), about MIB MiB
  make-sqlite.py DB --touch PCT [--seed 2]      rewrite PCT % of DB's pages in place (UPDATEs of
                                                rows spread over the whole file), print the share
                                                of 4 KiB pages that really differ afterwards
  make-sqlite.py --tsv ROWS [--seed 3]          print ROWS text-heavy rows (id, account, created,
                                                body) as COPY text, for the PostgreSQL benchmark

The database is an application's: customers (unique index on email), orders (index on
customer and time) and events (index on time), text of words from a fixed vocabulary and
integers, written in rounds that interleave the three tables' pages as an application
that writes all of them over time does. Deterministic for a seed. Rollback-journal mode
with 4 KiB pages, like most application databases.

--touch updates non-indexed columns with values of the same stored size (same-length
status words, integers in the same range), so each UPDATE rewrites its row's leaf page in
place and nothing splits: the changed pages are the table pages that hold the chosen rows,
chosen uniformly over each table in proportion to its pages (dbstat). It hashes every page
before and after and prints the measured share, so the figure is checked, not assumed.
"""
import argparse
import hashlib
import os
import random
import sqlite3
import sys

PAGE = 4096
SYLLABLES = "ka lo mi re tu sa ne vo di pa ri ko mu ta le fi no ga be zu ho ja qui ster bran".split()
CITIES = ["Lisbon", "Porto", "Berlin", "Hamburg", "Lyon", "Paris", "Madrid", "Turin", "Milan", "Oslo",
          "Bergen", "Leeds", "Cork", "Gdansk", "Brno", "Ghent", "Graz", "Basel", "Malmo", "Tartu"]
COUNTRIES = ["PT", "DE", "FR", "ES", "IT", "NO", "GB", "IE", "PL", "CZ", "BE", "AT", "CH", "SE", "EE"]
STATUSES = ["pending", "shipped", "settled", "delayed", "removed"]  # all 7 characters
LEVELS = ["debug", "info", "warn", "error"]
SOURCES = ["api", "worker", "billing", "mailer", "search", "auth", "export"]
TEMPLATES = [
    "user {u} {verb} order {n} from {city}: {words}",
    "{verb} {n} items for customer {u} ({words})",
    "request {n} took {ms} ms on {src}: {words}",
    "retrying {src} job {n} after {ms} ms, reason: {words}",
    "customer {u} changed {field} to {words}",
]
VERBS = ["created", "updated", "cancelled", "paid", "shipped", "returned", "viewed", "exported"]
FIELDS = ["address", "email", "phone", "plan", "billing contact", "display name"]


class Text:
    """Words from a fixed vocabulary with a skewed (Zipf-like) frequency, like real text."""

    def __init__(self, rng):
        self.rng = rng
        vocab = set()
        while len(vocab) < 3000:
            vocab.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
        self.vocab = sorted(vocab)
        rng.shuffle(self.vocab)  # frequency independent of spelling
        self.weights = [1.0 / (i + 1) for i in range(len(self.vocab))]
        self.cum = []
        s = 0.0
        for w in self.weights:
            s += w
            self.cum.append(s)

    def words(self, n):
        return " ".join(self.rng.choices(self.vocab, cum_weights=self.cum, k=n))

    def name(self):
        a, b = self.rng.choices(self.vocab[:800], k=2)
        return f"{a.capitalize()} {b.capitalize()}"

    def sentence(self, lo, hi):
        r = self.rng
        t = r.choice(TEMPLATES)
        return t.format(u=r.randrange(1, 10**6), verb=r.choice(VERBS), n=r.randrange(1, 10**7),
                        city=r.choice(CITIES), words=self.words(r.randint(lo, hi)),
                        ms=r.randrange(1, 5000), src=r.choice(SOURCES), field=r.choice(FIELDS))


SCHEMA = """
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
  city TEXT, country TEXT, created INTEGER, balance_cents INTEGER, notes TEXT);
CREATE UNIQUE INDEX customers_email ON customers(email);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, status TEXT NOT NULL,
  total_cents INTEGER, created INTEGER, items INTEGER, comment TEXT);
CREATE INDEX orders_customer ON orders(customer_id, created);
CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, level TEXT, source TEXT,
  status INTEGER, message TEXT);
CREATE INDEX events_ts ON events(ts);
"""


def create(path, mib, seed):
    if os.path.exists(path):
        sys.exit(f"{path} exists; remove it first")
    rng = random.Random(seed)
    text = Text(rng)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size={PAGE}")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.executescript(SCHEMA)
    cust = orders = events = 0
    t = 1_700_000_000
    target = mib << 20
    while True:
        # One round: 4k customers, 16k orders, 8k events (about 5 MiB with indexes).
        rows = []
        for _ in range(4000):
            cust += 1
            name = text.name()
            rows.append((cust, name, f"{name.replace(' ', '.').lower()}.{cust}@example.org",
                         rng.choice(CITIES), rng.choice(COUNTRIES), t - rng.randrange(10**8),
                         rng.randrange(10000, 32000), text.words(rng.randint(0, 24)) or None))
        db.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?)", rows)
        rows = []
        for _ in range(16000):
            orders += 1
            rows.append((orders, rng.randrange(1, cust + 1), rng.choice(STATUSES),
                         rng.randrange(10000, 32000), t + orders * 7, rng.randint(1, 12),
                         text.words(rng.randint(3, 20)) if rng.random() < 0.6 else None))
        db.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?)", rows)
        rows = []
        for _ in range(8000):
            events += 1
            rows.append((events, t + events * 13, rng.choice(LEVELS), rng.choice(SOURCES),
                         rng.randint(2, 100), text.sentence(4, 40)))
        db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)", rows)
        db.commit()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        if pages * PAGE >= target:
            break
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    print(f"{path}: {os.path.getsize(path)} bytes, {cust} customers, {orders} orders, {events} events")


def page_hashes(path):
    out = []
    with open(path, "rb") as f:
        while True:
            b = f.read(PAGE)
            if not b:
                return out
            out.append(hashlib.blake2b(b, digest_size=16).digest())


# table -> (UPDATE statement, values of the same stored size)
UPDATES = {
    "customers": ("UPDATE customers SET balance_cents=? WHERE id=?", lambda r: r.randrange(10000, 32000)),
    "orders": ("UPDATE orders SET status=? WHERE id=?", lambda r: r.choice(STATUSES)),
    "events": ("UPDATE events SET status=? WHERE id=?", lambda r: r.randint(2, 100)),
}


def touch(path, pct, seed):
    rng = random.Random(seed)
    before = page_hashes(path)
    db = sqlite3.connect(path)
    total = db.execute("PRAGMA page_count").fetchone()[0]
    leaf = dict(db.execute(
        "SELECT name, count(*) FROM dbstat WHERE pagetype='leaf' GROUP BY name").fetchall())
    tables = {t: leaf.get(t, 0) for t in UPDATES}
    all_leaf = sum(tables.values())
    want = round(total * pct / 100)
    changed = 0
    for attempt in range(4):
        missing = want - changed
        if missing <= 0:
            break
        for t, pages in tables.items():
            n = max(1, round(missing * pages / all_leaf))
            maxid = db.execute(f"SELECT max(id) FROM {t}").fetchone()[0]
            # One row in each of n slots of the rowid range: spread over the whole table.
            slot = maxid / n
            ids = [int(i * slot + rng.random() * slot) + 1 for i in range(n)]
            sql, value = UPDATES[t]
            db.executemany(sql, [(value(rng), min(i, maxid)) for i in ids])
        db.commit()
        after = page_hashes(path)
        changed = sum(1 for a, b in zip(before, after) if a != b) + abs(len(after) - len(before))
    db.close()
    print(f"{path}: {changed} of {total} pages changed ({100 * changed / total:.2f} %)")


def tsv(rows, seed):
    rng = random.Random(seed)
    text = Text(rng)
    out = sys.stdout
    for i in range(1, rows + 1):
        body = " ".join(text.sentence(8, 30) for _ in range(rng.randint(1, 3)))
        out.write(f"{i}\t{rng.randrange(1, 5_000_001)}\t2026-{rng.randint(1, 12):02}-{rng.randint(1, 28):02} "
                  f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:00+00\t{body}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", nargs="?")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--touch", type=float)
    ap.add_argument("--tsv", type=int)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    if a.tsv is not None:
        tsv(a.tsv, 3 if a.seed is None else a.seed)
    elif a.db is None:
        ap.error("give DB (or --tsv ROWS)")
    elif a.touch is not None:
        touch(a.db, a.touch, 2 if a.seed is None else a.seed)
    else:
        create(a.db, a.mib, 1 if a.seed is None else a.seed)


if __name__ == "__main__":
    main()
