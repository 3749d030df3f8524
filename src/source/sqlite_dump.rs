//! SQLite logical dumps, and the sinks that restore a `sqlite` backup into a
//! new database file.
//!
//! The dump is SQL text like `sqlite3 DB .dump`, taken in one read
//! transaction: `PRAGMA foreign_keys=OFF; BEGIN TRANSACTION;`, each table's
//! `CREATE` statement from `sqlite_schema` and its rows as `INSERT`
//! statements, `sqlite_sequence`, then indexes, triggers and views, then
//! `COMMIT;`. Values: NULL, integers, reals in their shortest round-trip form
//! (`1e999` for infinity), text quoted with `''` (text that is not UTF-8 as
//! `CAST(X'…' AS TEXT)`), blobs as `X'…'`.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Quotes an identifier with `"…"`.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// One value as an SQL literal.
pub fn literal(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) if f.is_infinite() => {
            if f > 0.0 {
                "1e999".into()
            } else {
                "-1e999".into()
            }
        }
        ValueRef::Real(f) => {
            let s = format!("{f:?}");
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                format!("{s}.0")
            }
        }
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) if !s.contains('\0') => format!("'{}'", s.replace('\'', "''")),
            _ => format!("CAST(X'{}' AS TEXT)", hex(t)),
        },
        ValueRef::Blob(b) => format!("X'{}'", hex(b)),
    }
}

/// Writes the dump of `db` to `out`, in one read transaction.
pub fn dump(db: &Connection, mut out: impl Write) -> Result<(), String> {
    let e = |e: rusqlite::Error| e.to_string();
    let w = |e: std::io::Error| format!("cannot write the dump ({e})");
    // A deferred transaction takes its read snapshot at the first read.
    db.execute_batch("BEGIN").map_err(e)?;
    writeln!(out, "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;").map_err(w)?;
    let mut schema = db
        .prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")
        .map_err(e)?;
    let rows: Vec<(String, String, String)> = schema
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(e)?
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let mut later = Vec::new();
    let mut sequence = false;
    for (kind, name, sql) in &rows {
        if kind != "table" {
            later.push(sql.clone());
            continue;
        }
        if name == "sqlite_sequence" {
            sequence = true;
            continue;
        }
        if name.starts_with("sqlite_") {
            continue;
        }
        writeln!(out, "{sql};").map_err(w)?;
        if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") {
            continue;
        }
        rows_of(db, name, name, &mut out)?;
    }
    if sequence {
        writeln!(out, "DELETE FROM sqlite_sequence;").map_err(w)?;
        rows_of(db, "sqlite_sequence", "sqlite_sequence", &mut out)?;
    }
    for sql in later {
        writeln!(out, "{sql};").map_err(w)?;
    }
    writeln!(out, "COMMIT;").map_err(w)?;
    out.flush().map_err(w)?;
    db.execute_batch("COMMIT").map_err(e)?;
    Ok(())
}

fn rows_of(db: &Connection, table: &str, into: &str, out: &mut impl Write) -> Result<(), String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mut st = db
        .prepare(&format!("SELECT * FROM {}", ident(table)))
        .map_err(e)?;
    let n = st.column_count();
    let mut rows = st.query([]).map_err(e)?;
    let mut line = String::new();
    while let Some(r) = rows.next().map_err(e)? {
        line.clear();
        line.push_str("INSERT INTO ");
        line.push_str(&ident(into));
        line.push_str(" VALUES(");
        for i in 0..n {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&literal(r.get_ref(i).map_err(e)?));
        }
        line.push_str(");\n");
        out.write_all(line.as_bytes())
            .map_err(|e| format!("cannot write the dump ({e})"))?;
    }
    Ok(())
}

/// Where the SQL splitter is inside the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    Quote(u8),
    LineComment,
    BlockComment,
}

/// A new database file at `target`, built under a temporary name in the
/// same directory and linked into place only when complete: a failed
/// restore leaves nothing at `target`, and an existing file is never replaced.
struct Fresh {
    target: PathBuf,
    partial: PathBuf,
}

impl Fresh {
    fn new(target: &Path) -> Result<Fresh, String> {
        if std::fs::symlink_metadata(target).is_ok() {
            return Err(format!(
                "{} already exists; Strata never overwrites, choose a new file",
                target.display()
            ));
        }
        let dir = target.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {} ({e})", dir.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Unique per restore: two restores racing for one target never share it.
        let partial = dir.join(format!(
            ".{name}.strata-partial-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        Ok(Fresh {
            target: target.to_path_buf(),
            partial,
        })
    }

    /// Creates the partial file, private (0600): a database's rows are
    /// nobody else's business, whatever the umask.
    fn create(&self) -> Result<std::fs::File, String> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.partial)
            .map_err(|e| format!("cannot create {} ({e})", self.partial.display()))
    }

    /// Checks the database and links it to the target (refusing an existing one).
    fn commit(&self) -> Result<(), String> {
        let c = Connection::open_with_flags(&self.partial, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
        let ok: String = c
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| format!("the restored database cannot be checked ({e})"))?;
        drop(c);
        if ok != "ok" {
            return Err(format!("the restored database fails its check: {ok}"));
        }
        std::fs::hard_link(&self.partial, &self.target).map_err(|e| {
            format!(
                "cannot create {} ({e}); Strata never overwrites",
                self.target.display()
            )
        })?;
        let _ = std::fs::remove_file(&self.partial);
        Ok(())
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.partial);
        for s in ["-journal", "-wal", "-shm"] {
            let mut p = self.partial.clone().into_os_string();
            p.push(s);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

/// Restores a `snapshot` (the database file's bytes) into a new file.
pub struct SnapshotSink {
    fresh: Fresh,
    file: std::fs::File,
}

impl SnapshotSink {
    /// A sink writing the new database `target`.
    pub fn create(target: &Path) -> Result<SnapshotSink, String> {
        let fresh = Fresh::new(target)?;
        let file = fresh.create()?;
        Ok(SnapshotSink { fresh, file })
    }

    /// Syncs, checks and puts the database in place.
    pub fn finish(self) -> Result<(), String> {
        self.file.sync_all().map_err(|e| e.to_string())?;
        drop(self.file);
        self.fresh.commit()
    }
}

impl Write for SnapshotSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Restores a `backup` (an SQL dump) by running it statement by statement
/// into a new database; memory holds one statement at a time.
pub struct DumpSink {
    fresh: Fresh,
    db: Connection,
    buf: Vec<u8>,
    /// Where scanning of `buf` resumes, and the state there.
    scanned: usize,
    lex: Lex,
    start: usize,
    error: Option<String>,
}

impl DumpSink {
    /// A sink building the new database `target`.
    pub fn create(target: &Path) -> Result<DumpSink, String> {
        let fresh = Fresh::new(target)?;
        // An empty file is an empty database: created private, then opened.
        drop(fresh.create()?);
        let db = Connection::open(&fresh.partial).map_err(|e| e.to_string())?;
        Ok(DumpSink {
            fresh,
            db,
            buf: Vec::new(),
            scanned: 0,
            lex: Lex::Code,
            start: 0,
            error: None,
        })
    }

    /// Runs every complete statement in the buffer.
    fn run(&mut self) -> Result<(), String> {
        let mut i = self.scanned;
        while i < self.buf.len() {
            let b = self.buf[i];
            let next = self.buf.get(i + 1).copied();
            // `--`, `/*` and `*/` may be cut between two writes: wait for the next byte.
            if next.is_none() && matches!(b, b'-' | b'/' | b'*') {
                break;
            }
            self.lex = match (self.lex, b) {
                (Lex::Code, b'\'' | b'"' | b'`') => Lex::Quote(b),
                (Lex::Code, b'[') => Lex::Quote(b']'),
                (Lex::Code, b'-') if next == Some(b'-') => Lex::LineComment,
                (Lex::Code, b'/') if next == Some(b'*') => {
                    i += 1;
                    Lex::BlockComment
                }
                (Lex::Code, b';') => {
                    let stmt = String::from_utf8_lossy(&self.buf[self.start..=i]).into_owned();
                    match self.db.execute_batch(&stmt) {
                        Ok(()) => self.start = i + 1,
                        // A trigger's body holds `;` before its END: read on.
                        Err(e) if e.to_string().contains("incomplete input") => {}
                        Err(e) => {
                            let shown: String = stmt.trim().chars().take(120).collect();
                            return Err(format!("statement {shown:?} failed: {e}"));
                        }
                    }
                    Lex::Code
                }
                (Lex::Quote(q), c) if c == q => Lex::Code,
                (Lex::LineComment, b'\n') => Lex::Code,
                (Lex::BlockComment, b'*') if next == Some(b'/') => {
                    i += 1;
                    Lex::Code
                }
                (l, _) => l,
            };
            i += 1;
        }
        // Keep only the unfinished statement.
        self.buf.drain(..self.start);
        self.scanned = i - self.start;
        self.start = 0;
        Ok(())
    }

    /// Runs what is left, checks and puts the database in place.
    pub fn finish(mut self) -> Result<(), String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        // A last statement without its `;`.
        let rest = String::from_utf8_lossy(&self.buf).trim().to_string();
        if !rest.is_empty() {
            self.db
                .execute_batch(&rest)
                .map_err(|e| format!("the dump ends inside a statement ({e})"))?;
        }
        if !self.db.is_autocommit() {
            return Err("the dump ended inside a transaction (no COMMIT): it is incomplete".into());
        }
        let DumpSink { fresh, db, .. } = self;
        db.close().map_err(|(_, e)| e.to_string())?;
        fresh.commit()
    }
}

impl Write for DumpSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(e) = &self.error {
            return Err(std::io::Error::other(e.clone()));
        }
        self.buf.extend_from_slice(data);
        if let Err(e) = self.run() {
            self.error = Some(e.clone());
            return Err(std::io::Error::other(e));
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
