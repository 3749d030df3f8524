//! Destinations: where repositories live. The engine writes only through the
//! [`Destination`] trait, so new kinds (S3, SFTP) plug in without engine changes.

pub mod local;

use std::path::PathBuf;
use thiserror::Error;

/// Why a destination operation failed.
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
    /// An I/O error on a local path.
    #[error("{dest}: {op} {path} failed: {source}; check the path, its permissions and free space")]
    Io {
        /// Destination description.
        dest: String,
        /// What was being done.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A key that would leave the repository.
    #[error("{dest}: refusing key {key:?} (it leaves the repository)")]
    BadKey {
        /// Destination description.
        dest: String,
        /// Offending key.
        key: String,
    },
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
}

/// A destination with the name the catalog knows it by.
pub type NamedDest = (String, std::sync::Arc<dyn Destination>);

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
