//! Sources: what a task backs up. A source is begun once per backup, lists
//! its entries, opens each file entry for reading and finishes with a report
//! that can still fail the backup (a dump command's exit status, say). A
//! directory tree (`dir.rs`) and a single stream of unknown size both fit.

pub mod command;
pub mod command_env;
mod command_sink;
pub mod dir;
pub mod excludes;
pub mod snapshot;
pub mod snapshot_glob;
pub mod sqlite;
pub mod sqlite_dump;
mod sqlite_pages;

pub use excludes::{BadPattern, Excludes};

use crate::model::{EntryError, SourceConfig};
use thiserror::Error;

/// Why a source, or one of its entries, cannot be backed up.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The source as a whole cannot be read (its root, its configuration).
    #[error("source {what} cannot be read: {source}; check that it exists and is readable")]
    Unreadable {
        /// The source's description.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An entry listed by the source is gone.
    #[error("vanished during the backup")]
    Vanished,
    /// An entry cannot be read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// The source ran and failed (e.g. a dump command's non-zero exit).
    #[error("source {what} failed: {detail}")]
    Failed {
        /// The source's description.
        what: String,
        /// What went wrong.
        detail: String,
    },
}

impl SourceError {
    /// An entry's read error: a missing entry vanished, anything else is unreadable.
    pub fn read(e: std::io::Error) -> SourceError {
        if e.kind() == std::io::ErrorKind::NotFound {
            SourceError::Vanished
        } else {
            SourceError::Read(e)
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// Directory.
    Dir,
    /// Data to store: a regular file (first name if hard-linked) or a stream.
    File,
    /// Symbolic link and its raw target.
    Symlink(Vec<u8>),
    /// Another name of the file at this relative path.
    HardLink(Vec<u8>),
}

/// One entry of a source.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    /// Relative path, `/`-separated.
    pub path: Vec<u8>,
    /// Type.
    pub kind: SourceKind,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// mtime in ns (0 when the source has none).
    pub mtime_ns: i64,
    /// ctime in ns (0 when the source has none).
    pub ctime_ns: i64,
    /// Inode (0 when the source has none).
    pub inode: u64,
    /// Device (hard-link identity only).
    pub dev: u64,
    /// Size of a file's data as listed; `None` for a stream, known only once read.
    /// Only an entry with a known size can be found unchanged and reused.
    pub size: Option<u64>,
    /// Link count.
    pub nlink: u64,
}

/// The entries of one run, sorted by path bytes (parents before children),
/// and the entries that could not be listed.
#[derive(Debug, Default)]
pub struct Listing {
    /// Entries.
    pub entries: Vec<SourceEntry>,
    /// Unreadable entries; the backup becomes partial.
    pub errors: Vec<EntryError>,
}

/// What a source says once every entry was read.
#[derive(Debug, Default)]
pub struct SourceReport {
    /// Problems that do not fail the backup, recorded as its warnings.
    pub warnings: Vec<EntryError>,
}

/// Something a task backs up.
pub trait Source: Send + Sync {
    /// Description recorded in the manifest (a dir source's root).
    fn describe(&self) -> String;
    /// Starts one backup's pass over the source.
    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError>;
}

/// One backup's pass over a source: `entries` once, then `open` for each
/// file entry (from several threads), then `finish`. A backup that fails
/// midway drops the run without `finish`: a run holding a process or a
/// snapshot releases it on drop.
pub trait SourceRun: Send + Sync {
    /// Lists the entries; an error fails the backup.
    fn entries(&mut self) -> Result<Listing, SourceError>;
    /// Opens a file entry for reading; an error makes that entry an error.
    fn open(&self, entry: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError>;
    /// Ends the pass; an error fails the backup, and nothing is committed.
    fn finish(self: Box<Self>) -> Result<SourceReport, SourceError>;
    /// The size of the source's own blocks, when its files change in place
    /// block by block (a database's pages): the engine then cuts fixed-size
    /// chunks of this size instead of content-defined ones, so a rewritten
    /// block costs one chunk. `None`: content-defined chunking.
    fn block_size(&self) -> Option<u32> {
        None
    }
}

/// The data of one entry being read.
pub trait EntryReader: std::io::Read + Send {
    /// Whether the entry changed while it was read (after `read` bytes came
    /// out): the stored copy may then mix old and new content.
    fn changed(&self, entry: &SourceEntry, read: u64) -> std::io::Result<bool>;
}

/// The source a task's definition describes; a `snapshot` source creates
/// its snapshot tagged `tag` (see [`snapshot::tag_for`]).
pub fn open(cfg: &SourceConfig, tag: &str) -> Box<dyn Source> {
    match cfg {
        SourceConfig::Dir { path, exclude } => Box::new(dir::DirSource::new(path, exclude)),
        SourceConfig::Sqlite { path, r#type } => Box::new(sqlite::SqliteSource::new(path, *r#type)),
        SourceConfig::Command {
            dump,
            timeout,
            env_file,
            ..
        } => Box::new(command::CommandSource::new(
            dump,
            timeout.as_deref(),
            env_file.as_deref(),
        )),
        SourceConfig::Snapshot { .. } => Box::new(snapshot::SnapshotSource::new(
            snapshot_spec(cfg).unwrap_or_default(),
            tag,
        )),
    }
}

/// The commands and paths of a `snapshot` source (`None` for other kinds).
pub fn snapshot_spec(cfg: &SourceConfig) -> Option<snapshot::SnapshotSpec> {
    match cfg {
        SourceConfig::Snapshot {
            create,
            path,
            clear,
            timeout,
            env_file,
            ..
        } => Some(snapshot::SnapshotSpec {
            create: create.clone(),
            path: path.clone(),
            clear: clear.clone(),
            timeout: timeout.clone(),
            env_file: env_file.clone(),
        }),
        _ => None,
    }
}

/// Where a database backup is restored to: a new SQLite file (a snapshot's
/// bytes or an SQL dump run into it), a restore command's stdin, or any writer.
pub enum RestoreSink {
    /// A new database file from a snapshot.
    SqliteFile(sqlite_dump::SnapshotSink),
    /// A new database file built from an SQL dump.
    SqliteDump(sqlite_dump::DumpSink),
    /// A restore command reading the stream.
    Command(command::CommandSink),
}

impl RestoreSink {
    /// The writer the backup's stream goes into.
    pub fn writer(&mut self) -> &mut dyn std::io::Write {
        match self {
            RestoreSink::SqliteFile(s) => s,
            RestoreSink::SqliteDump(s) => s,
            RestoreSink::Command(s) => s,
        }
    }

    /// Gives up a restore whose stream failed: a partial database file is
    /// removed, a restore command is killed before it sees the end of its input.
    pub fn abort(self) {
        match self {
            RestoreSink::SqliteFile(s) => drop(s),
            RestoreSink::SqliteDump(s) => drop(s),
            RestoreSink::Command(s) => s.abort(),
        }
    }

    /// Completes the restore: the database is checked and put in place, or
    /// the command's exit status decides. An error leaves no new file.
    pub fn finish(self) -> Result<(), SourceError> {
        let fail = |detail: String| SourceError::Failed {
            what: "restore".into(),
            detail,
        };
        match self {
            RestoreSink::SqliteFile(s) => s.finish().map_err(fail),
            RestoreSink::SqliteDump(s) => s.finish().map_err(fail),
            RestoreSink::Command(s) => s.finish(),
        }
    }
}

/// Lossy text of a relative path, for messages.
pub fn display_path(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}
