//! Catalog errors and the mapping from redb's errors to ones a user can act on.

use super::{Catalog, Result};
use std::path::{Path, PathBuf};

pub(super) const REBUILD: &str = "move it aside (mv catalog.redb catalog.redb.bad), re-add each destination with 'strata dest add', then run 'strata catalog rebuild --from DESTINATION'";

/// Why the catalog could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Another handle (usually another strata process) holds the database lock.
    #[error("catalog {} is in use by {holder}; wait for it to finish or stop it, then retry", path.display())]
    Locked {
        /// Catalog file.
        path: PathBuf,
        /// Who holds it, as far as the owner file tells.
        holder: String,
    },
    /// Written by a later release whose layout this build cannot interpret.
    #[error("catalog {} was written by a newer Strata (schema {found}, this build reads {supported}); upgrade strata", path.display())]
    NewerSchema {
        /// Catalog file.
        path: PathBuf,
        /// Version recorded in the file.
        found: u32,
        /// Version this build understands.
        supported: u32,
    },
    /// The file is not a catalog, or a record in it does not decode.
    #[error("catalog {} is unreadable ({detail}); {REBUILD}", path.display())]
    Corrupt {
        /// Catalog file.
        path: PathBuf,
        /// What is wrong, naming table and key when one record is at fault.
        detail: String,
    },
    /// A backup record with this id exists; records are never replaced by a new backup.
    #[error("backup {id} is already recorded in catalog {} and a backup record is never replaced; nothing was written, run the backup again to get a new id", path.display())]
    BackupExists {
        /// Catalog file.
        path: PathBuf,
        /// The backup id.
        id: String,
    },
    /// A new backup references data of a backup that is no longer recorded.
    #[error("backup {backup} uses data of backup {missing}, which is no longer in catalog {}; the new backup was not recorded, run it again (as a full if its chain is gone)", path.display())]
    DependencyGone {
        /// Catalog file.
        path: PathBuf,
        /// The backup that was being recorded.
        backup: String,
        /// The backup it depends on that is gone.
        missing: String,
    },
    /// The operating system refused a file operation.
    #[error("catalog {} could not be accessed ({source}); check the path, its permissions and free space, then retry", path.display())]
    Io {
        /// Catalog file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The storage engine failed for a reason that is neither I/O nor damage.
    #[error("catalog {} could not be used ({detail}); retry, and if it persists {REBUILD}", path.display())]
    Storage {
        /// Catalog file.
        path: PathBuf,
        /// Engine message.
        detail: String,
    },
}

/// Sorts any redb error into the catalog error a user can act on.
pub(super) fn from_redb(path: &Path, e: impl Into<redb::Error>) -> CatalogError {
    let corrupt = |detail| CatalogError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    match e.into() {
        redb::Error::Corrupted(detail) => corrupt(detail),
        // Tables are all created with the catalog, so a missing or retyped one is damage.
        e @ (redb::Error::TableDoesNotExist(_)
        | redb::Error::TableTypeMismatch { .. }
        | redb::Error::TypeDefinitionChanged { .. }
        | redb::Error::TableIsMultimap(_)) => corrupt(e.to_string()),
        // Existing bytes that end early or make no sense are damage, not an OS fault.
        redb::Error::Io(source) => match source.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData => {
                corrupt(source.to_string())
            }
            _ => CatalogError::Io {
                path: path.to_path_buf(),
                source,
            },
        },
        other => CatalogError::Storage {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

/// Attaches the catalog path to redb results, the `map_err` every call needs.
pub(super) trait Ctx<T> {
    fn ctx(self, catalog: &Catalog) -> Result<T>;
}

impl<T, E: Into<redb::Error>> Ctx<T> for std::result::Result<T, E> {
    fn ctx(self, catalog: &Catalog) -> Result<T> {
        self.map_err(|e| from_redb(&catalog.path, e))
    }
}
