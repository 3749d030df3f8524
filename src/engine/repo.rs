//! Repository layout inside one destination: `strata-repo.toml` and
//! `backups/<id>/{CLAIM, packs/NNNNNN.pack, manifest, COMMIT}` (docs/format.md).

use super::chunk::ChunkerParams;
use super::error::EngineError;
use crate::dest::{DestError, Destination};
use crate::model::{BackupRecord, TaskConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Key of the repository description.
pub const CONFIG_KEY: &str = "strata-repo.toml";
/// Repository format version written by this build.
pub const REPO_FORMAT: u32 = 1;
/// Prefix of all backups.
pub const BACKUPS: &str = "backups";

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
    /// `none` (encryption arrives in a later format revision as a new value here).
    pub encryption: String,
    /// Chunker sizes used by every backup in this repository.
    pub chunker: ChunkerParams,
}

/// `backups/<id>`.
pub fn backup_prefix(id: &str) -> String {
    format!("{BACKUPS}/{id}")
}

/// `backups/<id>/manifest`.
pub fn manifest_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/manifest")
}

/// `backups/<id>/CLAIM`.
pub fn claim_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/CLAIM")
}

/// `backups/<id>/COMMIT`.
pub fn commit_key(id: &str) -> String {
    format!("{BACKUPS}/{id}/COMMIT")
}

/// `backups/<id>/packs/<n>.pack` (six digits, zero padded).
pub fn pack_key(id: &str, n: u32) -> String {
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

/// What [`claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The id is now ours on this destination.
    Claimed,
    /// Another backup has (or had) this id here: pick another.
    Taken,
}

/// Claims `backups/<id>/` on `dest` for `claim`'s run. The id is taken when
/// the directory already holds anything (a backup of an earlier release has
/// no claim) or when another writer's claim wins the exclusive create.
pub fn claim(dest: &dyn Destination, claim: &Claim) -> Result<ClaimOutcome, EngineError> {
    if !dest.list(&backup_prefix(&claim.backup))?.is_empty() {
        return Ok(ClaimOutcome::Taken);
    }
    let bytes = serde_json::to_vec_pretty(claim).map_err(|e| EngineError::Repo {
        dest: dest.describe(),
        detail: format!("could not encode the claim of backup {}: {e}", claim.backup),
    })?;
    match dest.put(&claim_key(&claim.backup), &bytes) {
        Ok(()) => Ok(ClaimOutcome::Claimed),
        Err(DestError::Exists { .. }) => Ok(ClaimOutcome::Taken),
        Err(e) => Err(e.into()),
    }
}

/// Reads a backup directory's claim: `Ok(None)` when it has none (a backup of
/// an earlier release, or no directory), `Err` when it cannot be read or parsed.
pub fn read_claim(dest: &dyn Destination, id: &str) -> Result<Option<Claim>, EngineError> {
    read_marker(dest, id, &claim_key(id), "claim marker")
}

/// Reads a JSON marker object of backup `id`; `Ok(None)` when it is absent.
fn read_marker<T: serde::de::DeserializeOwned>(
    dest: &dyn Destination,
    id: &str,
    key: &str,
    what: &str,
) -> Result<Option<T>, EngineError> {
    let bytes = match dest.get(key) {
        Ok(b) => b,
        Err(DestError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| EngineError::Damaged {
            backup: id.to_string(),
            what: format!("{what} on {} does not parse ({e})", dest.describe()),
        })
}

/// Removes `claim`'s backup from `dest` if, and only if, the directory is
/// claimed by that run: another backup's data (a foreign claim, or a directory
/// of an earlier release without one) is never touched. `COMMIT` goes first so
/// a half-removed copy never looks complete, the claim last so a crash midway
/// leaves a directory recovery still recognises as its own. Returns whether it
/// removed anything.
pub fn release(dest: &dyn Destination, claim: &Claim) -> Result<bool, EngineError> {
    let id = &claim.backup;
    match read_claim(dest, id) {
        Ok(Some(c)) if c == *claim => {}
        Ok(_) => return Ok(false),
        // An unreadable claim proves nothing: leave the directory alone.
        Err(EngineError::Damaged { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    dest.delete(&commit_key(id))?;
    dest.delete(&manifest_key(id))?;
    let packs = format!("{}/packs", backup_prefix(id));
    for name in dest.list(&packs)? {
        dest.delete(&format!("{packs}/{name}"))?;
    }
    dest.delete_prefix(&backup_prefix(id))?;
    Ok(true)
}

/// Reads the repository description, creating it in an empty destination.
pub fn open_or_init(dest: &dyn Destination) -> Result<RepoConfig, EngineError> {
    match dest.get(CONFIG_KEY) {
        Ok(bytes) => parse_config(dest, &bytes),
        Err(DestError::NotFound { .. }) => {
            let now = Utc::now();
            let id = blake3::hash(format!("{now:?}{}", std::process::id()).as_bytes()).to_hex()
                [..16]
                .to_string();
            let cfg = RepoConfig {
                format: REPO_FORMAT,
                id,
                created: now,
                compression: "zstd".into(),
                encryption: "none".into(),
                chunker: ChunkerParams::default(),
            };
            let text = toml::to_string(&cfg).map_err(|e| EngineError::Repo {
                dest: dest.describe(),
                detail: e.to_string(),
            })?;
            match dest.put(CONFIG_KEY, text.as_bytes()) {
                Ok(()) => Ok(cfg),
                // Another writer initialised it first: use theirs.
                Err(_) if dest.size(CONFIG_KEY)?.is_some() => {
                    parse_config(dest, &dest.get(CONFIG_KEY)?)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads an existing repository description.
pub fn open(dest: &dyn Destination) -> Result<RepoConfig, EngineError> {
    let bytes = dest.get(CONFIG_KEY)?;
    parse_config(dest, &bytes)
}

fn parse_config(dest: &dyn Destination, bytes: &[u8]) -> Result<RepoConfig, EngineError> {
    let text = std::str::from_utf8(bytes).map_err(|_| EngineError::Repo {
        dest: dest.describe(),
        detail: format!("{CONFIG_KEY} is not UTF-8"),
    })?;
    let cfg: RepoConfig = toml::from_str(text).map_err(|e| EngineError::Repo {
        dest: dest.describe(),
        detail: format!("{CONFIG_KEY} does not parse: {}", e.message()),
    })?;
    let refuse = |detail: String| EngineError::Repo {
        dest: dest.describe(),
        detail,
    };
    if cfg.format > REPO_FORMAT {
        return Err(refuse(format!(
            "{CONFIG_KEY} says format {}, newer than this build reads ({REPO_FORMAT}); upgrade strata",
            cfg.format
        )));
    }
    if cfg.compression != "zstd" {
        return Err(refuse(format!(
            "{CONFIG_KEY} names compression {:?}, which this build does not implement (only \"zstd\"); use a build that does",
            cfg.compression
        )));
    }
    if cfg.encryption != "none" {
        return Err(refuse(format!(
            "{CONFIG_KEY} names encryption {:?}, which this build does not implement (only \"none\"); use a build that does",
            cfg.encryption
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

/// Reads and parses a backup's commit marker; `Ok(None)` when it has none.
pub fn read_commit(dest: &dyn Destination, id: &str) -> Result<Option<CommitMarker>, EngineError> {
    read_marker(dest, id, &commit_key(id), "commit marker")
}

/// Reads a backup's manifest and checks it against the hash the catalog or
/// commit marker recorded, so a damaged manifest is named, never half-used.
pub fn read_manifest(
    dest: &dyn Destination,
    id: &str,
    expected_hash: &str,
) -> Result<super::manifest::Manifest, EngineError> {
    let bytes = dest.get(&manifest_key(id)).map_err(|e| match e {
        DestError::NotFound { .. } => EngineError::Damaged {
            backup: id.to_string(),
            what: format!("manifest is missing on {}", dest.describe()),
        },
        other => other.into(),
    })?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if hash != expected_hash {
        return Err(EngineError::Damaged {
            backup: id.to_string(),
            what: format!(
                "manifest on {} is damaged (BLAKE3 {} but {} was committed); restore from another destination or delete this backup",
                dest.describe(),
                &hash[..16],
                &expected_hash[..expected_hash.len().min(16)]
            ),
        });
    }
    super::manifest::Manifest::decode(&bytes).map_err(|e| EngineError::Damaged {
        backup: id.to_string(),
        what: format!("manifest on {} cannot be read: {e}", dest.describe()),
    })
}
