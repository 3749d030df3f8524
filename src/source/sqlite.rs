//! The `sqlite` source: one SQLite database file, read consistently while
//! the application keeps writing (WAL or rollback journal alike).
//!
//! * type `snapshot`: every page of one committed state, read under one
//!   read transaction straight from the database (`sqlite_pages.rs`), or —
//!   where that cannot be (a library without `sqlite_dbpage`, or a
//!   rollback-journal database too big to read ahead into memory) — copied
//!   first by SQLite's online backup API, in one step, into a private
//!   temporary file. Either is the one entry (the database's file name),
//!   with the page layout of the original, so the run asks the engine for
//!   fixed-size chunks aligned to pages ([`SourceRun::block_size`]): a page
//!   rewritten in place changes one chunk.
//! * type `backup`: a logical SQL dump (`sqlite_dump.rs`) written in one
//!   read transaction to a private temporary file, the entry `<stem>.sql`.
//!
//! The temporary directory (under `$TMPDIR`, mode 0700) goes when the run is
//! dropped, whatever the backup's outcome.

use super::{
    EntryReader, Listing, Source, SourceEntry, SourceError, SourceKind, SourceReport, SourceRun,
};
use super::{sqlite_dump, sqlite_pages};
use crate::model::SourceType;
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a snapshot or dump waits for a writer's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Pages per chunk of a snapshot: 2 pages (8 KiB for the default 4 KiB
/// page) keep a 1 % scattered page change near 2 % of the file, while a
/// 1 GiB database stays around 130,000 chunk records.
const PAGES_PER_CHUNK: u32 = 2;

/// A SQLite database as a source.
pub struct SqliteSource {
    path: PathBuf,
    kind: SourceType,
}

impl SqliteSource {
    /// The database at `path`, as a snapshot or a dump.
    pub fn new(path: &Path, kind: SourceType) -> SqliteSource {
        SqliteSource {
            path: path.to_path_buf(),
            kind,
        }
    }

    fn failed(&self, detail: impl std::fmt::Display) -> SourceError {
        SourceError::Failed {
            what: format!("sqlite database {}", self.path.display()),
            detail: detail.to_string(),
        }
    }

    /// The entry's name: the database's file name, or `<stem>.sql` for a dump.
    pub fn entry_name(path: &Path, kind: SourceType) -> String {
        match kind {
            SourceType::Snapshot => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "database.sqlite".into()),
            SourceType::Backup => format!(
                "{}.sql",
                path.file_stem()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "database".into())
            ),
        }
    }
}

/// Whether `db_size` bytes may be held in memory for a while: at most a
/// quarter of the available memory.
pub(crate) fn fits_in_memory(db_size: u64, mem_available: u64) -> bool {
    db_size <= mem_available / 4
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (`None` where unreadable).
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Opens an existing database read-only (never creating one).
fn open_source(path: &Path) -> Result<Connection, rusqlite::Error> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    Ok(c)
}

impl Source for SqliteSource {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError> {
        self.begin_with(Snapshotting::Pages)
    }
}

/// How a snapshot is taken (a backup is always a dump into a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Snapshotting {
    /// Straight from the pages (`sqlite_pages.rs`) where it can, else a copy.
    Pages,
    /// Always the online backup API's copy into a temporary file.
    #[cfg_attr(not(test), allow(dead_code))] // tests take the copy path on purpose
    Copy,
}

impl SqliteSource {
    /// [`Source::begin`], choosing how a snapshot is taken.
    pub(crate) fn begin_with(&self, how: Snapshotting) -> Result<Box<dyn SourceRun>, SourceError> {
        let md = std::fs::metadata(&self.path).map_err(|e| SourceError::Unreadable {
            what: self.path.display().to_string(),
            source: e,
        })?;
        if !md.is_file() {
            return Err(SourceError::Unreadable {
                what: self.path.display().to_string(),
                source: std::io::Error::other("not a file"),
            });
        }
        let name = Self::entry_name(&self.path, self.kind);
        if self.kind == SourceType::Snapshot && how == Snapshotting::Pages {
            let src = open_source(&self.path).map_err(|e| self.failed(e))?;
            let wal = src
                .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
                .is_ok_and(|m| m.eq_ignore_ascii_case("wal"));
            // A rollback-journal database is read ahead into memory, so writers
            // wait no longer than for a copy: only when it fits easily.
            let fits = wal || mem_available().is_some_and(|m| fits_in_memory(md.len(), m));
            if fits && sqlite_pages::available(&src) {
                let ahead = sqlite_pages::ahead(wal, md.len());
                let (shape, pages) = sqlite_pages::start(src, ahead)
                    .map_err(|e| self.failed(format!("reading the pages failed: {e}")))?;
                return Ok(Box::new(SqliteRun {
                    _tmp: None,
                    data: Data::Pages(pages),
                    entry: entry_of(name, &md, shape.bytes()),
                    block: Some(shape.page_size.saturating_mul(PAGES_PER_CHUNK)),
                }));
            }
        }
        let dir = std::env::temp_dir();
        let tmp = tempfile::Builder::new()
            .prefix("strata-sqlite-")
            .tempdir_in(&dir)
            .map_err(|e| self.failed(format!("cannot create a temporary directory in {} ({e}); set TMPDIR to a directory with room for a copy", dir.display())))?;
        let copy = tmp.path().join(&name);
        let src = open_source(&self.path).map_err(|e| self.failed(e))?;
        let mut block = None;
        match self.kind {
            SourceType::Snapshot => {
                let mut dst = Connection::open(&copy).map_err(|e| self.failed(e))?;
                // A private copy removed after the run needs no fsync: syncing
                // a 1 GiB copy would cost seconds for nothing.
                dst.pragma_update(None, "synchronous", "OFF")
                    .map_err(|e| self.failed(e))?;
                {
                    let b = rusqlite::backup::Backup::new(&src, &mut dst)
                        .map_err(|e| self.failed(e))?;
                    // One step: every page under one read transaction, so the
                    // copy is exactly one committed state.
                    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
                    loop {
                        use rusqlite::backup::StepResult;
                        match b
                            .step(-1)
                            .map_err(|e| self.failed(format!("online backup failed: {e}")))?
                        {
                            StepResult::Done => break,
                            StepResult::More => {}
                            _ if std::time::Instant::now() > deadline => {
                                return Err(self.failed(format!(
                                    "the database stayed locked by a writer for {} s; the online backup gave up",
                                    BUSY_TIMEOUT.as_secs()
                                )));
                            }
                            _ => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                }
                // The copy must not keep a WAL of its own: it is one file.
                let page: u32 = dst
                    .query_row("PRAGMA page_size", [], |r| r.get(0))
                    .map_err(|e| self.failed(e))?;
                let _ = dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0));
                dst.close().map_err(|(_, e)| self.failed(e))?;
                block = Some(page.saturating_mul(PAGES_PER_CHUNK));
            }
            SourceType::Backup => {
                let out = File::create(&copy).map_err(|e| self.failed(e))?;
                sqlite_dump::dump(&src, std::io::BufWriter::new(out))
                    .map_err(|e| self.failed(format!("SQL dump failed: {e}")))?;
            }
        }
        drop(src);
        let md = std::fs::metadata(&copy).map_err(|e| self.failed(e))?;
        Ok(Box::new(SqliteRun {
            _tmp: Some(tmp),
            entry: entry_of(name, &md, md.size()),
            data: Data::File(copy),
            block,
        }))
    }
}

/// The one entry of a run: named `name`, `size` bytes, times and owner of `md`.
fn entry_of(name: String, md: &std::fs::Metadata, size: u64) -> SourceEntry {
    SourceEntry {
        path: name.into_bytes(),
        kind: SourceKind::File,
        mode: 0o600,
        uid: md.uid(),
        gid: md.gid(),
        mtime_ns: md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec(),
        ctime_ns: md.ctime().saturating_mul(1_000_000_000) + md.ctime_nsec(),
        inode: md.ino(),
        dev: md.dev(),
        size: Some(size),
        nlink: 1,
    }
}

/// Where a run's bytes come from.
enum Data {
    /// The consistent copy or dump in the run's temporary directory.
    File(PathBuf),
    /// The pages, read under one transaction as they are consumed.
    Pages(sqlite_pages::PageStream),
}

/// One backup of a SQLite database.
struct SqliteRun {
    _tmp: Option<tempfile::TempDir>,
    data: Data,
    entry: SourceEntry,
    block: Option<u32>,
}

impl SourceRun for SqliteRun {
    fn entries(&mut self) -> Result<Listing, SourceError> {
        Ok(Listing {
            entries: vec![self.entry.clone()],
            errors: Vec::new(),
        })
    }

    fn open(&self, _entry: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError> {
        match &self.data {
            Data::File(copy) => {
                let f = File::open(copy).map_err(SourceError::read)?;
                Ok(Box::new(Copy(f)))
            }
            Data::Pages(p) => Ok(Box::new(p.take().map_err(SourceError::read)?)),
        }
    }

    fn finish(self: Box<Self>) -> Result<SourceReport, SourceError> {
        Ok(SourceReport::default())
    }

    fn block_size(&self) -> Option<u32> {
        self.block
    }
}

/// The private copy being read; nothing else writes it.
struct Copy(File);

impl Read for Copy {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl EntryReader for Copy {
    fn changed(&self, _entry: &SourceEntry, _read: u64) -> std::io::Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
