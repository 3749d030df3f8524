//! SQLite helpers of the database-source tests: a database whose writer
//! commits rows and a counter together, so a torn copy is detectable, and a
//! text form of a database's schema and rows for comparisons.

use rusqlite::Connection;
use std::path::Path;

/// The value a row must hold: a torn or invented row cannot match.
pub fn hash(i: i64) -> String {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    format!("{x:016x}").repeat(8)
}

pub fn make_db(path: &Path, journal: &str, rows: i64) {
    let c = Connection::open(path).unwrap();
    c.query_row(&format!("PRAGMA journal_mode={journal}"), [], |r| {
        r.get::<_, String>(0)
    })
    .unwrap();
    c.execute_batch(
        "CREATE TABLE items (i INTEGER PRIMARY KEY, h TEXT NOT NULL);
         CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);",
    )
    .unwrap();
    insert_batch(&c, 0, rows);
}

/// One transaction: rows `from..from+n` and the counter moved by `n`.
pub fn insert_batch(c: &Connection, from: i64, n: i64) {
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut st = c
            .prepare_cached("INSERT INTO items VALUES (?1, ?2)")
            .unwrap();
        for i in from..from + n {
            st.execute(rusqlite::params![i, hash(i)]).unwrap();
        }
    }
    c.execute("UPDATE counter SET n = n + ?1", [n]).unwrap();
    c.execute_batch("COMMIT").unwrap();
}

/// Checks a restored database: intact, and exactly one committed state.
pub fn check_committed(path: &Path) -> i64 {
    let c = Connection::open(path).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{}", path.display());
    let n: i64 = c
        .query_row("SELECT n FROM counter", [], |r| r.get(0))
        .unwrap();
    let count: i64 = c
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, count, "counter and rows disagree: a torn state");
    let max: i64 = c
        .query_row("SELECT coalesce(max(i), -1) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(max, count - 1, "rows are not exactly 0..count");
    let mut st = c.prepare("SELECT i, h FROM items").unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    for r in rows {
        let (i, h) = r.unwrap();
        assert_eq!(h, hash(i), "row {i} holds a wrong value");
    }
    count
}

/// Schema and rows of the tables `items`, `counter` and `notes`, as text.
pub fn dump_of(path: &Path) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let mut out = Vec::new();
    let mut st = c
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?
                )
            ))
        })
        .unwrap();
    out.extend(rows.map(|r| r.unwrap()));
    for t in ["items", "counter", "notes"] {
        let mut st = c
            .prepare(&format!("SELECT * FROM {t} ORDER BY rowid"))
            .unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let v: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{t} {}", v.join("|")));
        }
    }
    out
}
