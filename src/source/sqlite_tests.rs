use super::*;
use crate::source::sqlite_dump::{DumpSink, SnapshotSink};
use std::io::Write;

fn sample(path: &Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, s TEXT, r REAL, b BLOB, n);
         CREATE INDEX t_s ON t(s);
         CREATE TABLE log (x);
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('a;b'); INSERT INTO log VALUES (new.id); END;
         CREATE VIEW v AS SELECT id, s FROM t;",
    )
    .unwrap();
    let mut st = c
        .prepare("INSERT INTO t (s, r, b, n) VALUES (?1, ?2, ?3, ?4)")
        .unwrap();
    st.execute(rusqlite::params![
        "it's; -- not /* a comment",
        1.5f64,
        vec![0u8, 255, 10],
        None::<i64>
    ])
    .unwrap();
    st.execute(rusqlite::params![
        "line\nbreak \"q\"",
        1e300f64,
        Vec::<u8>::new(),
        42i64
    ])
    .unwrap();
    st.execute(rusqlite::params!["", f64::INFINITY, vec![1u8], -7i64])
        .unwrap();
    st.execute(rusqlite::params!["ünï", 0.1f64 + 0.2, vec![2u8], 3.0f64])
        .unwrap();
}

fn contents(path: &Path) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let mut out = Vec::new();
    let mut st = c
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok(format!(
                "{:?} {:?} {:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?
            ))
        })
        .unwrap();
    out.extend(rows.map(|r| r.unwrap()));
    for t in ["t", "log", "sqlite_sequence"] {
        let mut st = c
            .prepare(&format!("SELECT * FROM {t} ORDER BY rowid"))
            .unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let vals: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{t}: {}", vals.join(" | ")));
        }
    }
    out
}

fn read(run: &dyn SourceRun, e: &SourceEntry) -> Vec<u8> {
    let mut v = Vec::new();
    run.open(e).unwrap().read_to_end(&mut v).unwrap();
    v
}

#[test]
fn dump_restores_an_equal_database_in_small_writes() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("app.db");
    sample(&db);
    let src = SqliteSource::new(&db, SourceType::Backup);
    let mut run = src.begin().unwrap();
    let l = run.entries().unwrap();
    assert_eq!(l.entries[0].path, b"app.sql");
    let sql = read(run.as_ref(), &l.entries[0]);
    let to = d.path().join("out/restored.db");
    let mut sink = DumpSink::create(&to).unwrap();
    // Odd-sized writes cut statements, quotes and comments anywhere.
    for part in sql.chunks(7) {
        sink.write_all(part).unwrap();
    }
    sink.finish().unwrap();
    assert_eq!(contents(&db), contents(&to));
    assert!(
        DumpSink::create(&to)
            .err()
            .unwrap()
            .contains("already exists")
    );
}

#[test]
fn this_build_reads_snapshots_from_the_pages() {
    // .cargo/config.toml compiles SQLite with sqlite_dbpage; without it every
    // snapshot would silently take the slower copy.
    let c = Connection::open_in_memory().unwrap();
    assert!(sqlite_pages::available(&c));
}

#[test]
fn snapshot_is_a_database_file_and_asks_for_page_chunks() {
    for how in [Snapshotting::Pages, Snapshotting::Copy] {
        for mode in ["WAL", "DELETE"] {
            let d = tempfile::tempdir().unwrap();
            let db = d.path().join("app.db");
            sample(&db);
            let live = Connection::open(&db).unwrap();
            live.query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap();
            // A commit still in the WAL (never checkpointed) must be in the snapshot.
            live.execute_batch("PRAGMA wal_autocheckpoint=0; CREATE TABLE late(x); INSERT INTO late VALUES ('in the wal');")
                .unwrap();
            let src = SqliteSource::new(&db, SourceType::Snapshot);
            let mut run = src.begin_with(how).unwrap();
            assert_eq!(run.block_size(), Some(8192), "{how:?} {mode}");
            let l = run.entries().unwrap();
            let bytes = read(run.as_ref(), &l.entries[0]);
            assert_eq!(
                Some(bytes.len() as u64),
                l.entries[0].size,
                "{how:?} {mode}"
            );
            // One self-contained file in rollback-journal mode, whatever the original's.
            assert_eq!(&bytes[18..20], &[1, 1], "{how:?} {mode}");
            let to = d.path().join("snap.db");
            let mut sink = SnapshotSink::create(&to).unwrap();
            sink.write_all(&bytes).unwrap();
            sink.finish().unwrap();
            assert_eq!(contents(&db), contents(&to), "{how:?} {mode}");
            drop(live);
        }
    }
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.db");
    let mut sink = SnapshotSink::create(&bad).unwrap();
    sink.write_all(b"not a database at all").unwrap();
    assert!(sink.finish().is_err());
    assert!(!bad.exists());
}

#[test]
fn a_truncated_dump_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let to = d.path().join("x.db");
    let mut sink = DumpSink::create(&to).unwrap();
    sink.write_all(b"PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE a(x);\nINSERT INTO a VALUES(1);\n").unwrap();
    assert!(sink.finish().unwrap_err().contains("incomplete"));
    assert!(!to.exists());
}

#[test]
fn only_a_database_that_fits_easily_is_read_ahead_into_memory() {
    const GIB: u64 = 1 << 30;
    assert!(fits_in_memory(GIB, 24 * GIB));
    assert!(fits_in_memory(GIB, 4 * GIB));
    assert!(!fits_in_memory(GIB + 1, 4 * GIB));
    assert!(!fits_in_memory(u64::MAX, u64::MAX));
    assert!(fits_in_memory(0, 0));
    // Rollback journal: the whole database may wait in memory; WAL: a few MiB.
    assert!(sqlite_pages::ahead(false, GIB) > 1024);
    assert!(sqlite_pages::ahead(true, GIB) <= 64);
}
