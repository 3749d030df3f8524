//! Errors of core operations, with the exit code each maps to (design.md §3):
//! 0 success, 1 failed, 2 usage/config, 3 not found, 4 refused, 5 busy.

use super::catalog::CatalogError;
use crate::engine::EngineError;
use thiserror::Error;

/// Why a core action failed. Every message names the thing and the fix.
#[derive(Debug, Error)]
pub enum CoreError {
    /// Catalog trouble (locked, newer, corrupt, I/O).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Engine trouble (source, destination, damaged data).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A named thing does not exist.
    #[error("{what} {name:?} does not exist; {hint}")]
    NotFound {
        /// Kind of thing ("task", "backup", "destination").
        what: &'static str,
        /// The name given.
        name: String,
        /// How to find valid names.
        hint: String,
    },
    /// Bad arguments or configuration.
    #[error("{0}")]
    Invalid(String),
    /// Refused by policy (never overwrite, dependents, pins, roles).
    #[error("{0}")]
    Refused(String),
    /// The operation ran and failed.
    #[error("{0}")]
    Failed(String),
    /// Something else holds what this needs (a task's running job).
    #[error("{0}")]
    Busy(String),
    /// Whoever read the output went away (`strata backup list | head -1`):
    /// nothing more is said, and the command ends with exit 0, as `head`'s
    /// user expects.
    #[error("the output was closed")]
    OutputClosed,
    /// An error the daemon reported for an action sent over its socket.
    #[error("{message}")]
    Remote {
        /// The exit code it maps to there.
        code: u8,
        /// Its message.
        message: String,
    },
}

impl CoreError {
    /// Process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CoreError::Catalog(CatalogError::Locked { .. }) => 5,
            CoreError::Catalog(_) => 1,
            CoreError::Engine(EngineError::Target { .. }) => 4,
            CoreError::Engine(EngineError::UnsafePath { .. }) => 4,
            // Credentials or permissions the destination refused.
            CoreError::Engine(EngineError::Dest(crate::dest::DestError::Denied(_))) => 4,
            CoreError::Engine(EngineError::Source(_)) => 1,
            // A wrong passphrase is refused; a missing one is a usage error.
            CoreError::Engine(EngineError::Passphrase { .. }) => 4,
            CoreError::Engine(EngineError::Locked { .. }) => 2,
            CoreError::Engine(_) => 1,
            CoreError::NotFound { .. } => 3,
            CoreError::Invalid(_) => 2,
            CoreError::Refused(_) => 4,
            CoreError::Failed(_) => 1,
            CoreError::Busy(_) => 5,
            CoreError::OutputClosed => 0,
            CoreError::Remote { code, .. } => *code,
        }
    }
}

impl From<crate::dest::DestError> for CoreError {
    fn from(e: crate::dest::DestError) -> Self {
        CoreError::Engine(EngineError::Dest(e))
    }
}
