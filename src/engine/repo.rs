//! Repository layout inside one destination: `strata-repo.toml` and
//! `backups/<id>/{CLAIM, packs/NNNNNN.pack, manifest, COMMIT}` (docs/format.md).

use super::chunk::ChunkerParams;
use super::error::EngineError;
use crate::model::{BackupRecord, TaskConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Key of the repository description.
pub const CONFIG_KEY: &str = "strata-repo.toml";
/// Repository format version of unencrypted repositories (written unchanged).
pub const REPO_FORMAT: u32 = 1;
/// Repository format version of encrypted repositories (docs/format.md, "Format 2").
pub const SEALED_FORMAT: u32 = 2;
/// Prefix of all backups.
pub(super) const BACKUPS: &str = "backups";

/// `strata-repo.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RepoConfig {
    /// Format version; a reader refuses newer versions.
    pub format: u32,
    /// Random id of this repository.
    pub id: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Chunk compression (`zstd`).
    pub compression: String,
    /// `none` (format 1) or `xchacha20poly1305` (format 2: every object but
    /// this one and the key slots is sealed).
    pub encryption: String,
    /// Chunker sizes used by every backup in this repository.
    pub chunker: ChunkerParams,
}

/// `backups/<id>`.
pub(super) fn backup_prefix(id: &str) -> String {
    format!("{BACKUPS}/{id}")
}

/// `backups/<id>/manifest`.
pub(super) fn manifest_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/manifest")
}

/// `backups/<id>/CLAIM`.
pub(super) fn claim_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/CLAIM")
}

/// `backups/<id>/COMMIT`.
pub(super) fn commit_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/COMMIT")
}

/// `backups/<id>/packs/<n>.pack` (six digits, zero padded).
pub(super) fn pack_key(id: &str, n: u32) -> String {
    format!("{BACKUPS}/{id}/packs/{n:06}.pack")
}

/// One pack a backup wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PackInfo {
    /// Number.
    pub number: u32,
    /// Size in bytes.
    pub size: u64,
}

/// The commit marker, written last: its presence means the backup is complete.
/// It carries everything a catalog rebuild needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitMarker {
    /// Repository format version.
    pub format: u32,
    /// The catalog record of the backup.
    pub backup: BackupRecord,
    /// The task definition when the backup was taken.
    pub task: TaskConfig,
    /// BLAKE3 of the manifest file, hex.
    pub manifest_hash: String,
    /// Size of the manifest file.
    pub manifest_size: u64,
    /// Packs written by this backup.
    pub packs: Vec<PackInfo>,
}

/// The claim marker, written first and exclusively: whoever created it owns
/// `backups/<id>/` on that destination, and everything else in the directory
/// was written by that run. It names the run, so recovery and cleanup can tell
/// their own directory from another backup's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claim {
    /// Repository format version.
    pub format: u32,
    /// The claimed backup id.
    pub backup: String,
    /// Task of the claiming run.
    pub task: String,
    /// Run id in the claiming catalog.
    pub run: u64,
    /// Start time of the claiming run (with the run id, tells two catalogs apart).
    pub started: DateTime<Utc>,
}

/// What [`Repository::claim`](super::repository::Repository::claim) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The id is now ours on this destination.
    Claimed,
    /// Another backup has (or had) this id here: pick another.
    Taken,
}

/// Parses and checks a repository description read from `dest`.
pub(super) fn parse_config(dest: &str, bytes: &[u8]) -> Result<RepoConfig, EngineError> {
    let text = std::str::from_utf8(bytes).map_err(|_| EngineError::Repo {
        dest: dest.to_string(),
        detail: format!("{CONFIG_KEY} is not UTF-8"),
    })?;
    let cfg: RepoConfig = toml::from_str(text).map_err(|e| EngineError::Repo {
        dest: dest.to_string(),
        detail: format!("{CONFIG_KEY} does not parse: {}", e.message()),
    })?;
    let refuse = |detail: String| EngineError::Repo {
        dest: dest.to_string(),
        detail,
    };
    if cfg.format > SEALED_FORMAT {
        return Err(refuse(format!(
            "{CONFIG_KEY} says format {}, newer than this build reads ({SEALED_FORMAT}); upgrade strata",
            cfg.format
        )));
    }
    if cfg.compression != "zstd" {
        return Err(refuse(format!(
            "{CONFIG_KEY} names compression {:?}, which this build does not implement (only \"zstd\"); use a build that does",
            cfg.compression
        )));
    }
    let sealed = super::crypto::ENCRYPTION;
    if cfg.encryption != "none" && cfg.encryption != sealed {
        return Err(refuse(format!(
            "{CONFIG_KEY} names encryption {:?}, which this build does not implement (only \"none\" and \"{sealed}\"); use a build that does",
            cfg.encryption
        )));
    }
    let matched = if cfg.encryption == "none" {
        cfg.format <= REPO_FORMAT
    } else {
        cfg.format == SEALED_FORMAT
    };
    if !matched {
        return Err(refuse(format!(
            "{CONFIG_KEY} says format {} with encryption {:?}, which do not go together (format 1 is \"none\", format 2 is \"{sealed}\"); restore the original file",
            cfg.format, cfg.encryption
        )));
    }
    if let Some(why) = cfg.chunker.problem() {
        return Err(refuse(format!(
            "{CONFIG_KEY}: {why}; restore the original file"
        )));
    }
    if !cfg.chunker.is_valid() {
        return Err(refuse(format!(
            "{CONFIG_KEY} has chunker sizes min {} avg {} max {}, which are not ordered min <= avg <= max within FastCDC's ranges; restore the original file",
            cfg.chunker.min, cfg.chunker.avg, cfg.chunker.max
        )));
    }
    Ok(cfg)
}
