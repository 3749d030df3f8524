//! Encrypted destinations in the core: creating or adopting the repository
//! at `dest add`, and the key slot actions `dest key list|add|remove|passwd`.

use super::error::CoreError;
use super::passphrase;
use super::service::Core;
use crate::engine::crypto::{KdfParams, KeySlot, Passphrase};
use crate::engine::keyring::{self, SlotLabel};
use crate::engine::repo::CONFIG_KEY;
use crate::engine::{EngineError, Repository};
use crate::model::{DestinationConfig, EncryptionConfig};

/// This machine's name, recorded in new key slots.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The repository of a new destination: an existing one is adopted as is
/// (catalog rebuild relies on it; an encrypted one needs its passphrase),
/// a missing one is created, encrypted when `encrypt` (with the master key
/// of destination `share_key_of` when given, so both can hold copies of the
/// same backups). Strata never encrypts an existing repository in place.
pub(crate) fn create_or_adopt(
    core: &Core,
    cfg: &mut DestinationConfig,
    opts: crate::dest::OpenOptions,
    encrypt: bool,
    share_key_of: Option<&str>,
) -> Result<Repository, CoreError> {
    if let Some(enc) = &cfg.encryption {
        check_sources(&cfg.name, enc)?;
    }
    let dest = crate::dest::open_with(cfg, opts)?;
    match dest.get(CONFIG_KEY) {
        Ok(_) => {
            let repo = Repository::open(&cfg.name, dest)?;
            if repo.is_encrypted() {
                cfg.encryption.get_or_insert_with(Default::default);
                return passphrase::unlock(cfg, repo);
            }
            if encrypt {
                return Err(CoreError::Refused(format!(
                    "destination {} ({}) already holds an unencrypted repository, and Strata never encrypts existing data in place; add it without --encrypt, or give an empty place for a new encrypted repository",
                    cfg.name,
                    repo.describe()
                )));
            }
            Ok(repo)
        }
        Err(crate::dest::DestError::NotFound { .. }) if encrypt => {
            let share = match share_key_of {
                Some(other) => {
                    let d = core.destination(other)?;
                    let r = core.open_repo(&d)?;
                    Some(r.keys().cloned().ok_or_else(|| {
                        CoreError::Invalid(format!(
                            "--key-of {other}: destination {other} is not encrypted, so it has no key to share"
                        ))
                    })?)
                }
                None => None,
            };
            let (pass, _from) = passphrase::require_for(cfg, Some(passphrase::Asking::Create))?;
            let host = host_name();
            let who = SlotLabel {
                host: &host,
                label: "",
            };
            let repo = keyring::create(
                &cfg.name,
                dest,
                &pass,
                KdfParams::DEFAULT,
                &who,
                share.as_deref(),
            )?;
            if let Some(k) = repo.keys() {
                passphrase::remember(k);
            }
            Ok(repo)
        }
        Err(crate::dest::DestError::NotFound { .. }) => {
            if share_key_of.is_some() {
                return Err(CoreError::Invalid(
                    "--key-of needs --encrypt: it shares the master key of an encrypted destination"
                        .into(),
                ));
            }
            Ok(Repository::open_or_init(&cfg.name, dest)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// At most one passphrase source per destination.
pub(crate) fn check_sources(name: &str, enc: &EncryptionConfig) -> Result<(), CoreError> {
    if enc.sources_set() > 1 {
        return Err(CoreError::Invalid(format!(
            "destination {name:?}: encryption names more than one of passphrase_file, passphrase_command and passphrase_env; keep one"
        )));
    }
    if let Some(f) = &enc.passphrase_file
        && !f.is_absolute()
    {
        return Err(CoreError::Invalid(format!(
            "destination {name:?}: passphrase_file {:?} is relative; give an absolute path so it means the same from the daemon",
            f.display().to_string()
        )));
    }
    Ok(())
}

/// One key slot as `dest key list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySlotRow {
    /// Slot id.
    pub id: String,
    /// When it was made (RFC 3339).
    pub created: chrono::DateTime<chrono::Utc>,
    /// Host that made it.
    pub host: String,
    /// Its label.
    pub label: String,
    /// Argon2 memory in KiB.
    pub m_kib: u32,
    /// Argon2 passes.
    pub t: u32,
    /// Argon2 lanes.
    pub p: u32,
    /// Whether the destination's passphrase opens this slot.
    pub current: bool,
}

fn row(s: &KeySlot, current: &str) -> KeySlotRow {
    KeySlotRow {
        id: s.id.clone(),
        created: s.created,
        host: s.host.clone(),
        label: s.label.clone(),
        m_kib: s.kdf.m_kib,
        t: s.kdf.t,
        p: s.kdf.p,
        current: s.id == current,
    }
}

/// The destination's repository unlocked with its own passphrase, and the
/// slot that passphrase opens (key actions always prove the passphrase,
/// never only the keys cached in memory).
fn open_current(
    core: &Core,
    name: &str,
) -> Result<(DestinationConfig, Repository, String), CoreError> {
    let cfg = core.destination(name)?;
    if cfg.encryption.is_none() {
        return Err(CoreError::Invalid(format!(
            "destination {name} is not encrypted, so it has no key slots"
        )));
    }
    let repo = Repository::open(&cfg.name, crate::dest::open(&cfg)?)?;
    if !repo.is_encrypted() {
        return Err(CoreError::Failed(format!(
            "destination {name} ({}) holds an unencrypted repository although the catalog records it as encrypted; check what is mounted there",
            repo.describe()
        )));
    }
    let (pass, from) = passphrase::require(&cfg)?;
    let (repo, slot) = passphrase::unlock_with(&cfg, repo, &pass, &from)?;
    Ok((cfg, repo, slot))
}

/// `dest key list NAME`.
pub(crate) fn list(core: &Core, name: &str) -> Result<Vec<KeySlotRow>, CoreError> {
    let (_, repo, current) = open_current(core, name)?;
    Ok(keyring::slots(&repo)?
        .iter()
        .map(|s| row(s, &current))
        .collect())
}

/// `dest key add NAME`: a new slot for the passphrase read from `new`.
pub(crate) fn add(
    core: &Core,
    name: &str,
    new: &EncryptionConfig,
    label: &str,
) -> Result<KeySlotRow, CoreError> {
    let (_, repo, _) = open_current(core, name)?;
    let pass = new_passphrase(name, new)?;
    let host = host_name();
    let slot = keyring::add(
        &repo,
        &pass,
        KdfParams::DEFAULT,
        &SlotLabel { host: &host, label },
    )?;
    Ok(row(&slot, ""))
}

/// `dest key remove NAME KEYID` (never the last slot).
pub(crate) fn remove(core: &Core, name: &str, id: &str) -> Result<KeySlotRow, CoreError> {
    let (_, repo, current) = open_current(core, name)?;
    match keyring::remove(&repo, id) {
        Ok(slot) => Ok(row(&slot, &current)),
        Err(EngineError::Passphrase { detail, .. }) => Err(CoreError::Refused(detail)),
        Err(EngineError::Dest(crate::dest::DestError::NotFound { .. })) => {
            Err(CoreError::NotFound {
                what: "key slot",
                name: id.to_string(),
                hint: format!("list them with 'strata dest key list {name}'"),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `dest key passwd NAME`: replaces the slot the current passphrase opens
/// with one for the passphrase read from `new` (written first, then the
/// old one deleted).
pub(crate) fn passwd(
    core: &Core,
    name: &str,
    new: &EncryptionConfig,
) -> Result<KeySlotRow, CoreError> {
    let (_, repo, current) = open_current(core, name)?;
    let pass = new_passphrase(name, new)?;
    let host = host_name();
    let old = keyring::slots(&repo)?
        .into_iter()
        .find(|s| s.id == current)
        .map(|s| s.label)
        .unwrap_or_default();
    let slot = keyring::passwd(
        &repo,
        &current,
        &pass,
        KdfParams::DEFAULT,
        &SlotLabel {
            host: &host,
            label: &old,
        },
    )?;
    if let Some(id) = repo.id() {
        passphrase::forget(id);
    }
    Ok(row(&slot, ""))
}

fn new_passphrase(name: &str, new: &EncryptionConfig) -> Result<Passphrase, CoreError> {
    check_sources(name, new)?;
    match passphrase::read_or_ask(new, name, Some(passphrase::Asking::NewSlot))? {
        Some((p, _)) => Ok(p),
        None => Err(CoreError::Invalid(format!(
            "the new passphrase for destination {name} is not available ({} is not set); give it with --new-passphrase-file FILE, --new-passphrase-command CMD or STRATA_NEW_PASSPHRASE, or run the command on a terminal to be asked",
            new.source()
        ))),
    }
}
