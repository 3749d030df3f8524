//! A `sqlite` snapshot read straight from the database's pages, without a
//! copy: one read transaction on a private read-only connection walks the
//! `sqlite_dbpage` virtual table (SQLite's own page-level view of a
//! database, the one `sqlite3_rsync` replicates with), so every page is the
//! page of one committed state — WAL overlaid by SQLite, rollback journal
//! held off by the read lock. A thread reads the pages while the engine
//! chunks and compresses from the front, so compression starts with the
//! first megabyte instead of after a full copy. How far the reader may run
//! ahead is the caller's choice ([`start`]): in rollback-journal mode the
//! whole database, so the read lock that holds writers off lasts only as
//! long as reading the pages (as it lasted for a copy); in WAL mode, where
//! writers never wait for a reader, a few megabytes.
//!
//! Used only when the library has the table (`SQLITE_ENABLE_DBPAGE_VTAB`,
//! set in `.cargo/config.toml`) and the database fits easily in memory
//! (`sqlite::copy_in_memory`); otherwise the online backup API's copy is taken.

use super::{EntryReader, SourceEntry};
use rusqlite::Connection;
use std::io::Read;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Bytes per message from the reading thread.
const BATCH: usize = 1 << 20;

/// What the reading thread sends: page bytes, or why it stopped.
type Batch = Result<Vec<u8>, String>;

/// The snapshot's shape, read in the same transaction as its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Bytes per page.
    pub page_size: u32,
    /// Pages.
    pub pages: u64,
}

impl Shape {
    /// Size of the database image.
    pub fn bytes(self) -> u64 {
        self.pages.saturating_mul(u64::from(self.page_size))
    }
}

/// Whether this build's SQLite has `sqlite_dbpage`.
pub(crate) fn available(c: &Connection) -> bool {
    c.query_row(
        "SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_DBPAGE_VTAB'",
        [],
        |_| Ok(()),
    )
    .is_ok()
}

/// Batches the reader may hold ahead of the engine: all of a database of
/// `db_size` bytes when writers wait for the read (rollback journal), a
/// few megabytes when they do not (WAL).
pub(crate) fn ahead(wal: bool, db_size: u64) -> usize {
    if wal {
        WAL_AHEAD
    } else {
        usize::try_from(db_size / BATCH as u64).unwrap_or(usize::MAX - 2) + 2
    }
}

/// Batches held ahead in WAL mode.
const WAL_AHEAD: usize = 32;

/// Starts reading `conn`'s database, at most `ahead` batches ahead of the
/// reader; returns its shape once the read transaction holds it, and the
/// pages to come.
pub(crate) fn start(conn: Connection, ahead: usize) -> Result<(Shape, PageStream), String> {
    let (shape_tx, shape_rx) = channel::<Result<Shape, String>>();
    let (tx, rx) = sync_channel::<Batch>(ahead.max(1));
    std::thread::Builder::new()
        .name("sqlite-pages".into())
        .spawn(move || read_all(conn, &shape_tx, &tx))
        .map_err(|e| format!("cannot start the page reader: {e}"))?;
    let shape = shape_rx
        .recv()
        .map_err(|_| "the page reader stopped before the read transaction began".to_string())??;
    Ok((
        shape,
        PageStream {
            rx: Mutex::new(Some(rx)),
            expected: shape.bytes(),
        },
    ))
}

/// The reading thread: one transaction for the shape and every page.
fn read_all(conn: Connection, shape_tx: &Sender<Result<Shape, String>>, tx: &SyncSender<Batch>) {
    let fail = |e: rusqlite::Error| e.to_string();
    let begun = conn.execute_batch("BEGIN").map_err(fail).and_then(|()| {
        let page_size: u32 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(fail)?;
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(fail)?;
        Ok(Shape {
            page_size,
            pages: u64::try_from(pages).unwrap_or(0),
        })
    });
    let shape = match begun {
        Ok(s) => s,
        Err(e) => {
            let _ = shape_tx.send(Err(e));
            return;
        }
    };
    if shape_tx.send(Ok(shape)).is_err() {
        return;
    }
    let walked = (|| -> Result<(), String> {
        let mut st = conn
            .prepare("SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno")
            .map_err(fail)?;
        let mut rows = st.query([]).map_err(fail)?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut next = 1u64;
        while let Some(row) = rows.next().map_err(fail)? {
            let pgno: i64 = row.get(0).map_err(fail)?;
            let pgno = u64::try_from(pgno).unwrap_or(0);
            let data = row
                .get_ref(1)
                .map_err(fail)?
                .as_blob()
                .map_err(|e| e.to_string())?;
            if pgno != next || data.len() != shape.page_size as usize {
                return Err(format!(
                    "page {pgno} came as {} bytes where page {next} of {} bytes was expected",
                    data.len(),
                    shape.page_size
                ));
            }
            batch.extend_from_slice(data);
            if pgno == 1 {
                as_rollback_journal(&mut batch);
            }
            next += 1;
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if tx.send(Ok(full)).is_err() {
                    // The backup stopped reading: so do we.
                    return Ok(());
                }
            }
        }
        if next != shape.pages + 1 {
            return Err(format!(
                "the database has {} pages but {} were read",
                shape.pages,
                next - 1
            ));
        }
        if !batch.is_empty() {
            let _ = tx.send(Ok(batch));
        }
        Ok(())
    })();
    if let Err(e) = walked {
        let _ = tx.send(Err(e));
    }
    let _ = conn.execute_batch("COMMIT");
}

/// The header of a WAL database says so in bytes 18 and 19 (2 = WAL); the
/// image is complete without a WAL, so it is stored as a rollback-journal
/// database (1), as `PRAGMA journal_mode=DELETE` would leave it: one file.
fn as_rollback_journal(page1: &mut [u8]) {
    for b in page1.iter_mut().take(20).skip(18) {
        if *b == 2 {
            *b = 1;
        }
    }
}

/// The pages still to come; read once.
pub(crate) struct PageStream {
    rx: Mutex<Option<Receiver<Batch>>>,
    expected: u64,
}

impl PageStream {
    /// The reader of the one entry (a second call has nothing left to read).
    pub fn take(&self) -> std::io::Result<Pages> {
        let rx = self
            .rx
            .lock()
            .map_err(|_| std::io::Error::other("the page reader's lock is poisoned"))?
            .take()
            .ok_or_else(|| std::io::Error::other("the database's pages were already read"))?;
        Ok(Pages {
            rx,
            buf: Vec::new(),
            at: 0,
            read: 0,
            expected: self.expected,
        })
    }
}

/// Reads the batches in order; an error of the reading thread is a read error.
pub(crate) struct Pages {
    rx: Receiver<Batch>,
    buf: Vec<u8>,
    at: usize,
    read: u64,
    expected: u64,
}

impl Read for Pages {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    self.buf = b;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) if self.read == self.expected => return Ok(0),
                Err(_) => {
                    return Err(std::io::Error::other(format!(
                        "the page reader stopped after {} of {} bytes",
                        self.read, self.expected
                    )));
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        self.read += n as u64;
        Ok(n)
    }
}

impl EntryReader for Pages {
    fn changed(&self, _entry: &SourceEntry, _read: u64) -> std::io::Result<bool> {
        // One read transaction: the pages are one committed state by construction.
        Ok(false)
    }
}
