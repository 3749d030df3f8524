//! Errors of engine operations, each naming the thing that failed.

use crate::dest::DestError;
use crate::source::SourceError;
use std::path::PathBuf;
use thiserror::Error;

/// Why an engine operation failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The destination failed.
    #[error(transparent)]
    Dest(#[from] DestError),
    /// The repository description is missing, newer or malformed.
    #[error("repository at {dest}: {detail}")]
    Repo {
        /// Destination.
        dest: String,
        /// What is wrong.
        detail: String,
    },
    /// The source cannot be read, or failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Stored data of a backup is damaged or missing.
    #[error("backup {backup}: {what}")]
    Damaged {
        /// Backup id.
        backup: String,
        /// What is damaged, naming files.
        what: String,
    },
    /// The restore target is not usable.
    #[error("restore target {path}: {reason}")]
    Target {
        /// Target directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A manifest path would leave the restore target.
    #[error("backup {backup}: refusing unsafe path {path:?} in the manifest ({reason})")]
    UnsafePath {
        /// Backup id.
        backup: String,
        /// The path.
        path: String,
        /// Why it is unsafe.
        reason: String,
    },
    /// A local file operation failed.
    #[error("{op} {path} failed: {source}")]
    Io {
        /// Operation.
        op: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Too few copies could be written for the task's copy policy; nothing
    /// was committed.
    #[error("{}", super::copies::describe_failures(*required, *total, failed))]
    Copies {
        /// Copies the policy requires.
        required: usize,
        /// Copies the run tried to write.
        total: usize,
        /// Each failed destination's name and its error.
        failed: Vec<(String, String)>,
    },
    /// An encrypted repository was used without its key (no passphrase given).
    #[error("encrypted and locked: {detail}")]
    Locked {
        /// Destination.
        dest: String,
        /// What was needed, and how to give the passphrase.
        detail: String,
    },
    /// No key slot of an encrypted repository opens with the passphrase.
    #[error("{detail}")]
    Passphrase {
        /// Destination.
        dest: String,
        /// One sentence naming the destination and where the passphrase came from.
        detail: String,
    },
    /// The job was cancelled; nothing partial remains.
    #[error("cancelled; the partial data of this run was removed")]
    Cancelled,
}
