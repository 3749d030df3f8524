//! One repository handle: a destination, the name the catalog knows it by,
//! and its description. Every key of the layout (`repo.rs`) is built here or
//! inside the engine, so callers speak of backups, never of keys.

use super::crypto::{ENCRYPTION, Keys};
use super::error::EngineError;
use super::manifest::Manifest;
use super::repo::{
    self, BACKUPS, CONFIG_KEY, Claim, ClaimOutcome, CommitMarker, REPO_FORMAT, RepoConfig,
    backup_prefix, claim_key, commit_key, manifest_key, pack_key,
};
use super::sealed::{Ids, Layout, PackData};
use crate::dest::{DestError, Destination};
use chrono::Utc;
use std::sync::Arc;

/// A frame as read from a pack, its plaintext in place (after the nonce of
/// a sealed frame, before its tag).
pub(super) struct FrameBytes {
    buf: Vec<u8>,
    plain: std::ops::Range<usize>,
}

impl std::ops::Deref for FrameBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(self.plain.clone()).unwrap_or_default()
    }
}

/// A repository on one destination.
#[derive(Clone)]
pub struct Repository {
    name: String,
    dest: Arc<dyn Destination>,
    config: Option<RepoConfig>,
    /// The keys of an encrypted repository once unlocked (`keyring.rs`).
    keys: Option<Arc<Keys>>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("name", &self.name)
            .field("dest", &self.dest.describe())
            .field("config", &self.config)
            .field("unlocked", &self.keys.is_some())
            .finish()
    }
}

impl Repository {
    /// Opens the existing repository on `dest`; a missing description is
    /// `EngineError::Dest(DestError::NotFound)`.
    pub fn open(name: &str, dest: Arc<dyn Destination>) -> Result<Repository, EngineError> {
        let bytes = dest.get(CONFIG_KEY)?;
        let config = repo::parse_config(&dest.describe(), &bytes)?;
        Ok(Repository::with(name, dest, Some(config)))
    }

    /// Opens the repository on `dest`, creating it when the destination has
    /// none (used only when a destination is added).
    pub fn open_or_init(name: &str, dest: Arc<dyn Destination>) -> Result<Repository, EngineError> {
        let describe = dest.describe();
        let config = match dest.get(CONFIG_KEY) {
            Ok(bytes) => repo::parse_config(&describe, &bytes)?,
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
                    chunker: Default::default(),
                };
                let text = toml::to_string(&cfg).map_err(|e| EngineError::Repo {
                    dest: describe.clone(),
                    detail: e.to_string(),
                })?;
                match dest.put(CONFIG_KEY, text.as_bytes()) {
                    Ok(()) => cfg,
                    // Another writer initialised it first: use theirs.
                    Err(_) if dest.size(CONFIG_KEY)?.is_some() => {
                        repo::parse_config(&describe, &dest.get(CONFIG_KEY)?)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Repository::with(name, dest, Some(config)))
    }

    /// A handle that does not read the description, for removing data and for
    /// recovery, which must work whatever state the description is in.
    pub fn attach(name: &str, dest: Arc<dyn Destination>) -> Repository {
        Repository::with(name, dest, None)
    }

    fn with(name: &str, dest: Arc<dyn Destination>, config: Option<RepoConfig>) -> Repository {
        Repository {
            name: name.to_string(),
            dest,
            config,
            keys: None,
        }
    }

    /// Whether the repository is encrypted (format 2).
    pub fn is_encrypted(&self) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.encryption == ENCRYPTION)
    }

    /// Whether it is encrypted and its keys are not unlocked.
    pub fn is_locked(&self) -> bool {
        self.is_encrypted() && self.keys.is_none()
    }

    /// The unlocked keys, if any.
    pub fn keys(&self) -> Option<&Arc<Keys>> {
        self.keys.as_ref()
    }

    /// The handle with `keys` (already checked to open this repository, or
    /// shared from an earlier unlock of it).
    pub fn with_keys(mut self, keys: Arc<Keys>) -> Repository {
        self.keys = Some(keys);
        self
    }

    /// The repository id (`None` for [`Repository::attach`]).
    pub fn id(&self) -> Option<&str> {
        self.config.as_ref().map(|c| c.id.as_str())
    }

    /// `EngineError::Locked` for an encrypted repository without keys.
    fn locked(&self, what: &str) -> EngineError {
        EngineError::Locked {
            dest: self.describe(),
            detail: format!(
                "{what} needs its passphrase (--passphrase-file, --passphrase-command or STRATA_PASSPHRASE)"
            ),
        }
    }

    /// The keys to seal and open with: `None` for an unencrypted repository.
    fn sealing(&self, what: &str) -> Result<Option<&Keys>, EngineError> {
        match (&self.keys, self.is_encrypted()) {
            (Some(k), _) => Ok(Some(k.as_ref())),
            (None, true) => Err(self.locked(what)),
            (None, false) => Ok(None),
        }
    }

    /// How this repository's chunk ids and frames are made.
    pub(super) fn layout(&self) -> Result<Layout, EngineError> {
        Ok(match self.sealing("writing a backup")? {
            Some(_) => Layout {
                ids: Ids::Keyed(self.keys.clone().ok_or_else(|| self.locked("writing"))?),
                overhead: super::crypto::OVERHEAD,
                format: repo::SEALED_FORMAT,
            },
            None => Layout::plain(),
        })
    }

    /// How chunk ids are made here (plain when locked: reads fail earlier).
    pub(super) fn ids(&self) -> Ids {
        self.keys.clone().map_or(Ids::Plain, Ids::Keyed)
    }

    /// `plain` as stored under `key`: sealed in an encrypted repository.
    fn seal(&self, key: &str, plain: &[u8]) -> Result<Vec<u8>, EngineError> {
        match self.sealing(key)? {
            None => Ok(plain.to_vec()),
            Some(k) => k.seal_object(key, plain).map_err(|e| EngineError::Repo {
                dest: self.describe(),
                detail: format!("could not seal {key}: {e}"),
            }),
        }
    }

    /// The plaintext of `stored`, read from `key` (an object of backup `id`).
    pub(super) fn unseal(
        &self,
        id: &str,
        key: &str,
        stored: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        match self.sealing(key)? {
            None => Ok(stored),
            Some(k) => k
                .open_object(key, &stored)
                .map_err(|e| EngineError::Damaged {
                    backup: id.to_string(),
                    what: format!(
                        "{key} on {} {e}; restore from another destination or delete this backup",
                        self.describe()
                    ),
                }),
        }
    }

    /// The plaintext of object `key` of backup `id`.
    pub(super) fn get_object(&self, id: &str, key: &str) -> Result<Vec<u8>, EngineError> {
        let stored = self.dest.get(key)?;
        self.unseal(id, key, stored)
    }

    /// The decoded-ready bytes of the frame stored at `offset` (`len` bytes)
    /// of pack `key`: opened where they were read in an encrypted
    /// repository. Errors name the pack.
    pub(super) fn read_frame_bytes(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<FrameBytes, String> {
        let mut buf = self
            .dest
            .get_range(key, offset, len)
            .map_err(|e| format!("{e}"))?;
        let plain = match self.sealing(key).map_err(|e| e.to_string())? {
            None => 0..buf.len(),
            Some(k) => k
                .open_frame_in_place(key, offset, &mut buf)
                .map_err(|e| format!("{key} at offset {offset}: frame {e}"))?,
        };
        Ok(FrameBytes { buf, plain })
    }

    /// The destination's name in the catalog.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many packs a backup writes here at once.
    pub fn parallel_writes(&self) -> usize {
        self.dest.parallel_writes()
    }

    /// The storage's description, e.g. `local:/var/backups/strata`.
    pub fn describe(&self) -> String {
        self.dest.describe()
    }

    /// Bytes free on the storage, when it can tell (`None` otherwise).
    pub fn free_bytes(&self) -> Option<u64> {
        self.dest.free_bytes()
    }

    /// The description read at open (`None` for [`Repository::attach`]).
    pub fn config(&self) -> Option<&RepoConfig> {
        self.config.as_ref()
    }

    /// The storage, for the engine's own reads and writes of the layout.
    pub(super) fn storage(&self) -> &dyn Destination {
        self.dest.as_ref()
    }

    /// Ids of every backup directory (complete or not), sorted.
    pub fn list_backups(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.dest.list(BACKUPS)?)
    }

    /// Claims `backups/<id>/` for `claim`'s run. The id is taken when the
    /// directory already holds anything (a backup of an earlier release has
    /// no claim) or when another writer's claim wins the exclusive create.
    pub fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, EngineError> {
        if !self.dest.list(&backup_prefix(&claim.backup))?.is_empty() {
            return Ok(ClaimOutcome::Taken);
        }
        // The claim names this repository's format (a claim is shared by every
        // destination of a run, plain and encrypted alike).
        let claim = Claim {
            format: self.config.as_ref().map_or(REPO_FORMAT, |c| c.format),
            ..claim.clone()
        };
        let bytes = serde_json::to_vec_pretty(&claim).map_err(|e| EngineError::Repo {
            dest: self.describe(),
            detail: format!("could not encode the claim of backup {}: {e}", claim.backup),
        })?;
        let key = claim_key(&claim.backup);
        let bytes = self.seal(&key, &bytes)?;
        match self.dest.put(&key, &bytes) {
            Ok(()) => Ok(ClaimOutcome::Claimed),
            Err(DestError::Exists { .. }) => Ok(ClaimOutcome::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a backup directory's claim: `Ok(None)` when it has none (a backup
    /// of an earlier release, or no directory), `Err` when it cannot be read
    /// (`Dest`) or parsed (`Damaged`).
    pub fn read_claim(&self, id: &str) -> Result<Option<Claim>, EngineError> {
        self.read_marker(id, &claim_key(id), "claim marker")
    }

    /// Reads and parses a backup's commit marker; `Ok(None)` when it has none.
    pub fn read_commit(&self, id: &str) -> Result<Option<CommitMarker>, EngineError> {
        self.read_marker(id, &commit_key(id), "commit marker")
    }

    fn read_marker<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, EngineError> {
        let bytes = match self.dest.get(key) {
            Ok(b) => self.unseal(id, key, b)?,
            Err(DestError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EngineError::Damaged {
                backup: id.to_string(),
                what: format!("{what} on {} does not parse ({e})", self.describe()),
            })
    }

    /// Reads a backup's manifest and checks it against the hash the catalog or
    /// commit marker recorded, so a damaged manifest is named, never half-used.
    pub fn read_manifest(&self, id: &str, expected_hash: &str) -> Result<Manifest, EngineError> {
        let key = manifest_key(id);
        let bytes = self.dest.get(&key).map_err(|e| match e {
            DestError::NotFound { .. } => EngineError::Damaged {
                backup: id.to_string(),
                what: format!("manifest is missing on {}", self.describe()),
            },
            other => other.into(),
        })?;
        let bytes = self.unseal(id, &key, bytes)?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        if hash != expected_hash {
            return Err(EngineError::Damaged {
                backup: id.to_string(),
                what: format!(
                    "manifest on {} is damaged (BLAKE3 {} but {} was committed); restore from another destination or delete this backup",
                    self.describe(),
                    &hash[..16],
                    &expected_hash[..expected_hash.len().min(16)]
                ),
            });
        }
        Manifest::decode(&bytes).map_err(|e| EngineError::Damaged {
            backup: id.to_string(),
            what: format!("manifest on {} cannot be read: {e}", self.describe()),
        })
    }

    /// Whether `backups/<id>/` is `claim`'s run's own: its claim is the run's,
    /// or (written by an earlier release, without a claim) it holds no commit
    /// marker or one of this very run. Unparsable evidence is not ownership;
    /// a destination that cannot be read is an error, since nothing is known.
    pub fn owned_by(&self, claim: &Claim) -> Result<bool, EngineError> {
        let id = &claim.backup;
        match self.read_claim(id) {
            Ok(Some(c)) => Ok(c == *claim),
            Ok(None) => match self.read_commit(id) {
                Ok(None) => Ok(true),
                Ok(Some(m)) => Ok(m.backup.task == claim.task && m.backup.started == claim.started),
                Err(EngineError::Damaged { .. }) => Ok(false),
                Err(e) => Err(e),
            },
            Err(EngineError::Damaged { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes `claim`'s backup if, and only if, the directory is claimed by
    /// that run: another backup's data (a foreign claim, or a directory of an
    /// earlier release without one) is never touched. `COMMIT` goes first so
    /// a half-removed copy never looks complete, the claim last so a crash
    /// midway leaves a directory recovery still recognises as its own.
    /// Returns whether it removed anything.
    pub fn release(&self, claim: &Claim) -> Result<bool, EngineError> {
        let id = &claim.backup;
        match self.read_claim(id) {
            Ok(Some(c)) if c == *claim => {}
            Ok(_) => return Ok(false),
            // An unreadable claim proves nothing: leave the directory alone.
            Err(EngineError::Damaged { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        self.dest.delete(&commit_key(id))?;
        self.dest.delete(&manifest_key(id))?;
        let packs = format!("{}/packs", backup_prefix(id));
        for name in self.dest.list(&packs)? {
            self.dest.delete(&format!("{packs}/{name}"))?;
        }
        self.dest.delete_prefix(&backup_prefix(id))?;
        Ok(true)
    }

    /// Recovery's removal of an interrupted run's data, for a directory
    /// [`Repository::owned_by`] said is the run's: by its claim, or (an
    /// earlier release wrote no claim) the whole directory, `COMMIT` first.
    pub fn discard_partial(&self, claim: &Claim) -> Result<(), EngineError> {
        if self.release(claim)? {
            return Ok(());
        }
        self.delete_backup(&claim.backup)
    }

    /// Removes backup `id`'s commit marker, so its copy stops looking complete;
    /// the first step of a deletion (see [`Repository::delete_backup`]).
    pub fn retire(&self, id: &str) -> Result<(), EngineError> {
        Ok(self.dest.delete(&commit_key(id))?)
    }

    /// Removes backup `id`: the commit marker first, so a copy interrupted
    /// mid-delete never looks complete, then everything under its id.
    pub fn delete_backup(&self, id: &str) -> Result<(), EngineError> {
        self.retire(id)?;
        Ok(self.dest.delete_prefix(&backup_prefix(id))?)
    }

    /// Writes pack `n` of backup `id`, its frames sealed in an encrypted
    /// repository; returns the bytes stored.
    pub(super) fn put_pack(&self, id: &str, n: u32, pack: &PackData) -> Result<u64, EngineError> {
        let key = pack_key(id, n);
        let bytes = pack.stored(self.sealing(&key)?, &key)?;
        self.dest.put(&key, &bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Writes pack bytes exactly as given (a copy from another repository
    /// with the same layout, already re-sealed for this one).
    pub(super) fn put_stored_pack(
        &self,
        id: &str,
        n: u32,
        bytes: &[u8],
    ) -> Result<(), EngineError> {
        Ok(self.dest.put(&pack_key(id, n), bytes)?)
    }

    /// Writes the manifest of backup `id` (sealed in an encrypted repository).
    pub(super) fn put_manifest(&self, id: &str, plain: &[u8]) -> Result<(), EngineError> {
        let key = manifest_key(id);
        Ok(self.dest.put(&key, &self.seal(&key, plain)?)?)
    }

    /// Writes the commit marker of backup `id`: from now on the copy is complete.
    pub(super) fn put_commit(&self, id: &str, plain: &[u8]) -> Result<(), EngineError> {
        let key = commit_key(id);
        Ok(self.dest.put(&key, &self.seal(&key, plain)?)?)
    }
}

#[cfg(test)]
#[path = "repository_tests.rs"]
mod tests;
