//! Destinations: where repositories live. The engine writes only through the
//! [`Destination`] trait, so new kinds (S3, Azure, SFTP) plug in without engine changes.

pub mod azure;
pub mod credentials;
pub mod known_hosts;
pub mod local;
pub mod object;
pub mod retry;
pub(crate) mod runtime;
pub mod s3;
pub mod sftp;
pub mod sftp_session;
pub mod throttle;

use crate::model::{DestinationConfig, DestinationKind};
use std::sync::Arc;
use thiserror::Error;

/// Why a destination operation failed. The variant is the classification a
/// caller acts on (retry, report, give up); see [`DestError::kind`].
#[derive(Debug, Error)]
pub enum DestError {
    /// The object does not exist.
    #[error("{dest}: {key} does not exist")]
    NotFound {
        /// Destination description.
        dest: String,
        /// Object key.
        key: String,
    },
    /// A write of a key that already exists (objects are never replaced).
    #[error("{dest}: {key} already exists; objects are written once and never replaced")]
    Exists {
        /// Destination description.
        dest: String,
        /// Object key.
        key: String,
    },
    /// The destination refused access (permissions, credentials).
    #[error("{0}")]
    Denied(Failure),
    /// A failure worth retrying: a timeout, an interruption, a reset connection.
    #[error("{0}")]
    Transient(Failure),
    /// Any other failure, which a retry would not cure.
    #[error("{0}")]
    Permanent(Failure),
    /// A key that would leave the repository.
    #[error("{dest}: refusing key {key:?} (it leaves the repository)")]
    BadKey {
        /// Destination description.
        dest: String,
        /// Offending key.
        key: String,
    },
}

/// What a failed operation was doing, where, and why.
#[derive(Debug, Error)]
#[error("{dest}: {op} {at} failed: {source}{}", hint(dest))]
pub struct Failure {
    /// Destination description.
    pub dest: String,
    /// What was being done.
    pub op: &'static str,
    /// Where: a local path, or a key for remote kinds.
    pub at: String,
    /// Cause.
    pub source: std::io::Error,
}

/// What to check after a failure at `dest`: for a local directory its path,
/// permissions and space; remote kinds say what to check in the cause.
fn hint(dest: &str) -> &'static str {
    if dest.starts_with("local:") {
        "; check the path, its permissions and free space"
    } else {
        ""
    }
}

/// The classification of a [`DestError`], without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// See [`DestError::NotFound`].
    NotFound,
    /// See [`DestError::Exists`].
    Exists,
    /// See [`DestError::Denied`].
    Denied,
    /// See [`DestError::Transient`].
    Transient,
    /// See [`DestError::Permanent`].
    Permanent,
    /// See [`DestError::BadKey`].
    BadKey,
}

impl DestError {
    /// A failure of `op` at `at`, classified by its I/O error kind.
    pub fn io(dest: String, op: &'static str, at: String, source: std::io::Error) -> DestError {
        use std::io::ErrorKind as K;
        let failure = Failure {
            dest,
            op,
            at,
            source,
        };
        match failure.source.kind() {
            K::PermissionDenied | K::ReadOnlyFilesystem => DestError::Denied(failure),
            K::TimedOut
            | K::Interrupted
            | K::WouldBlock
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::NotConnected
            | K::BrokenPipe
            | K::ResourceBusy
            | K::NetworkDown
            | K::NetworkUnreachable
            | K::HostUnreachable => DestError::Transient(failure),
            _ => DestError::Permanent(failure),
        }
    }

    /// The classification.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DestError::NotFound { .. } => ErrorKind::NotFound,
            DestError::Exists { .. } => ErrorKind::Exists,
            DestError::Denied(_) => ErrorKind::Denied,
            DestError::Transient(_) => ErrorKind::Transient,
            DestError::Permanent(_) => ErrorKind::Permanent,
            DestError::BadKey { .. } => ErrorKind::BadKey,
        }
    }

    /// Whether the same operation may succeed if tried again.
    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }
}

/// Storage of one repository: a flat namespace of `/`-separated keys.
/// `put` is atomic and durable: readers see the whole object or nothing, and it
/// survives a crash once `put` returns.
pub trait Destination: Send + Sync {
    /// Human description, e.g. `local:/var/backups/strata`.
    fn describe(&self) -> String;
    /// Stores `data` under `key`, replacing nothing: when the key exists (even if
    /// another writer creates it at the same moment) it fails with
    /// [`DestError::Exists`], so a put doubles as an exclusive create.
    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError>;
    /// Reads a whole object.
    fn get(&self, key: &str) -> Result<Vec<u8>, DestError>;
    /// Reads `len` bytes at `offset`.
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError>;
    /// Size of an object, `None` when it does not exist.
    fn size(&self, key: &str) -> Result<Option<u64>, DestError>;
    /// Names directly under `prefix` (a "directory"), sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError>;
    /// Removes one object; missing is fine.
    fn delete(&self, key: &str) -> Result<(), DestError>;
    /// Removes every object under `prefix`; missing is fine.
    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError>;
    /// Bytes still free for writing, when the storage can tell (object
    /// stores usually cannot, hence the default).
    fn free_bytes(&self) -> Option<u64> {
        None
    }
    /// How many `put`s of packs are worth running at once: one for a disk,
    /// several where each request waits on a network round trip.
    fn parallel_writes(&self) -> usize {
        1
    }
}

/// Most uploads one destination may run at once (`parallel_uploads`): each
/// holds a pack (16 MiB) in memory.
pub const MAX_PARALLEL_WRITES: usize = 16;

/// Rejects keys that are empty, absolute or contain `..`/`.` components.
pub fn check_key(dest: &str, key: &str) -> Result<(), DestError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.contains('\0'));
    if bad {
        return Err(DestError::BadKey {
            dest: dest.to_string(),
            key: key.to_string(),
        });
    }
    Ok(())
}

/// How a destination of `kind` describes itself in messages, e.g.
/// `local:/mnt/nas/strata` or `s3://bucket/prefix`: the same words the opened
/// destination's [`Destination::describe`] uses.
pub fn describe(kind: &DestinationKind) -> String {
    match kind {
        DestinationKind::Local { path } => format!("local:{}", path.display()),
        other => other.location(),
    }
}

/// Choices that only matter when a destination is opened, never stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Record an SFTP server's host key on first use (`dest add --accept-new-host-key`).
    pub accept_new_host_key: bool,
}

/// Opens the storage behind a destination definition, with transient
/// failures retried. Remote kinds fail here when they cannot be reached.
pub fn open(cfg: &DestinationConfig) -> Result<Arc<dyn Destination>, DestError> {
    open_with(cfg, OpenOptions::default())
}

/// [`open`], with the one-time choices of `dest add`.
pub fn open_with(
    cfg: &DestinationConfig,
    opts: OpenOptions,
) -> Result<Arc<dyn Destination>, DestError> {
    let inner: Arc<dyn Destination> = match &cfg.kind {
        DestinationKind::Local { path } => {
            // A relative path would resolve against whichever directory the
            // process runs in, which is never the repository that was added.
            if !path.is_absolute() {
                return Err(DestError::Permanent(Failure {
                    dest: format!("local:{}", path.display()),
                    op: "open",
                    at: path.display().to_string(),
                    source: std::io::Error::other("the path is not absolute"),
                }));
            }
            Arc::new(local::LocalDest::new(path))
        }
        DestinationKind::Sftp(spec) => {
            Arc::new(sftp::SftpDest::open(spec, describe(&cfg.kind), opts)?)
        }
        DestinationKind::S3(spec) => Arc::new(s3::open(spec, describe(&cfg.kind))?),
        DestinationKind::Azure(spec) => Arc::new(azure::open(spec, describe(&cfg.kind))?),
    };
    // Inside the retry wrapper, so retried writes count against the limit too.
    let inner: Arc<dyn Destination> = match cfg.rate_limit.as_deref() {
        Some(text) => {
            let rate = crate::model::parse_rate(text).map_err(|why| {
                DestError::Permanent(Failure {
                    dest: describe(&cfg.kind),
                    op: "open",
                    at: "rate_limit".into(),
                    source: std::io::Error::other(why),
                })
            })?;
            Arc::new(throttle::Throttle::new(inner, &describe(&cfg.kind), rate))
        }
        None => inner,
    };
    let parallel = cfg
        .parallel_uploads
        .map_or_else(|| inner.parallel_writes(), |n| n as usize);
    Ok(Arc::new(
        retry::Retry::new(inner).with_parallel_writes(parallel),
    ))
}
