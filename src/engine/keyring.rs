//! Key slots of an encrypted repository (`keys/<keyid>`, docs/format.md):
//! creating the repository with its first slot, unlocking it with a
//! passphrase, and adding, removing and replacing slots. Each change is one
//! object written or deleted, in an order where a crash at any moment leaves
//! at least one working slot.

use super::crypto::{
    self, CryptoError, ENCRYPTION, KEYS, KdfParams, KeySlot, Keys, MasterKey, Passphrase,
};
use super::error::EngineError;
use super::repo::{self, CONFIG_KEY, RepoConfig, SEALED_FORMAT};
use super::repository::Repository;
use crate::dest::{DestError, Destination};
use chrono::Utc;
use std::sync::Arc;

/// Who makes a slot: the host and a label, for `dest key list`.
pub struct SlotLabel<'a> {
    /// Host name.
    pub host: &'a str,
    /// Free label.
    pub label: &'a str,
}

fn repo_err(dest: &str, detail: String) -> EngineError {
    EngineError::Repo {
        dest: dest.to_string(),
        detail,
    }
}

fn put_slot(dest: &dyn Destination, slot: &KeySlot) -> Result<(), EngineError> {
    let bytes = serde_json::to_vec_pretty(slot).map_err(|e| {
        repo_err(
            &dest.describe(),
            format!("could not encode key slot {}: {e}", slot.id),
        )
    })?;
    Ok(dest.put(&crypto::slot_key(&slot.id), &bytes)?)
}

/// Creates an encrypted repository on `dest`, which must hold none: its
/// first key slot first, then `strata-repo.toml`, so a description never
/// exists without a way to open it. `share` gives the master key of another
/// repository, so both can hold copies of the same backups.
pub fn create(
    name: &str,
    dest: Arc<dyn Destination>,
    pass: &Passphrase,
    params: KdfParams,
    who: &SlotLabel<'_>,
    share: Option<&Keys>,
) -> Result<Repository, EngineError> {
    let describe = dest.describe();
    match dest.get(CONFIG_KEY) {
        Ok(_) => {
            return Err(repo_err(
                &describe,
                format!(
                    "{CONFIG_KEY} exists already; add the destination without --encrypt to use the repository it describes"
                ),
            ));
        }
        Err(DestError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let mut raw = [0u8; 8];
    crypto::random(&mut raw).map_err(|e| repo_err(&describe, e.to_string()))?;
    let id = crypto::to_hex(&raw);
    let keys = match share {
        Some(k) => k.for_repository(&id),
        None => Keys::new(
            MasterKey::generate().map_err(|e| repo_err(&describe, e.to_string()))?,
            &id,
        ),
    };
    let slot = KeySlot::create(&keys, pass, params, who.host, who.label)
        .map_err(|e| repo_err(&describe, e.to_string()))?;
    put_slot(dest.as_ref(), &slot)?;
    let cfg = RepoConfig {
        format: SEALED_FORMAT,
        id,
        created: Utc::now(),
        compression: "zstd".into(),
        encryption: ENCRYPTION.into(),
        chunker: Default::default(),
    };
    let text = toml::to_string(&cfg).map_err(|e| repo_err(&describe, e.to_string()))?;
    dest.put(CONFIG_KEY, text.as_bytes())?;
    Ok(Repository::open(name, dest)?.with_keys(Arc::new(keys)))
}

/// Every key slot of `repo`, sorted by creation; a slot that does not parse
/// is an error naming it.
pub fn slots(repo: &Repository) -> Result<Vec<KeySlot>, EngineError> {
    let dest = repo.storage();
    let mut out = Vec::new();
    for name in dest.list(KEYS)? {
        if name.starts_with(".tmp-") {
            continue;
        }
        let key = crypto::slot_key(&name);
        let bytes = dest.get(&key)?;
        let slot: KeySlot = serde_json::from_slice(&bytes).map_err(|e| {
            repo_err(&repo.describe(), format!("key slot {key} does not parse ({e}); restore it or remove it with 'strata dest key remove'"))
        })?;
        if slot.id != name {
            return Err(repo_err(
                &repo.describe(),
                format!(
                    "key slot {key} names itself {}; it was moved or damaged",
                    slot.id
                ),
            ));
        }
        out.push(slot);
    }
    out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Unlocks `repo` with `pass` (read from `from`, e.g. `STRATA_PASSPHRASE`,
/// for the message): the handle with its keys, and the slot that opened.
/// No slot opening is `EngineError::Passphrase`, one sentence naming the
/// destination and `from`.
pub fn unlock(
    repo: Repository,
    pass: &Passphrase,
    from: &str,
) -> Result<(Repository, String), EngineError> {
    let Some(id) = repo.id().map(str::to_string) else {
        return Err(repo_err(
            &repo.describe(),
            format!("{CONFIG_KEY} was not read"),
        ));
    };
    if !repo.is_encrypted() {
        return Ok((repo, String::new()));
    }
    let all = slots(&repo)?;
    if all.is_empty() {
        return Err(repo_err(
            &repo.describe(),
            format!(
                "the repository is encrypted but has no key slot under {KEYS}/; restore them from a copy of the destination"
            ),
        ));
    }
    let mut unusable = Vec::new();
    for slot in &all {
        match slot.open(pass, &id) {
            Ok(keys) => return Ok((repo.with_keys(Arc::new(keys)), slot.id.clone())),
            Err(CryptoError::WrongPassphrase(_)) => {}
            Err(e) => unusable.push(e.to_string()),
        }
    }
    let mut detail = format!(
        "the passphrase from {from} does not open the encrypted repository on {} (tried {} key slot{})",
        repo.describe(),
        all.len(),
        if all.len() == 1 { "" } else { "s" }
    );
    if !unusable.is_empty() {
        detail.push_str(&format!("; {}", unusable.join("; ")));
    }
    Err(EngineError::Passphrase {
        dest: repo.describe(),
        detail,
    })
}

/// Adds a slot for `pass` to the unlocked `repo`.
pub fn add(
    repo: &Repository,
    pass: &Passphrase,
    params: KdfParams,
    who: &SlotLabel<'_>,
) -> Result<KeySlot, EngineError> {
    let keys = unlocked(repo)?;
    let slot = KeySlot::create(keys, pass, params, who.host, who.label)
        .map_err(|e| repo_err(&repo.describe(), e.to_string()))?;
    put_slot(repo.storage(), &slot)?;
    Ok(slot)
}

/// Removes slot `id`; refuses the last one (the data would be lost).
pub fn remove(repo: &Repository, id: &str) -> Result<KeySlot, EngineError> {
    let all = slots(repo)?;
    let Some(slot) = all.iter().find(|s| s.id == id).cloned() else {
        return Err(EngineError::Dest(DestError::NotFound {
            dest: repo.describe(),
            key: crypto::slot_key(id),
        }));
    };
    if all.len() == 1 {
        return Err(EngineError::Passphrase {
            dest: repo.describe(),
            detail: format!(
                "key slot {id} is the last key of the encrypted repository on {}; add another with 'strata dest key add' before removing it",
                repo.describe()
            ),
        });
    }
    repo.storage().delete(&crypto::slot_key(id))?;
    Ok(slot)
}

/// Replaces slot `old` by a new one for `pass`: the new slot is written
/// (and durable) before the old one is deleted, so a crash in between
/// leaves both passphrases working, never neither.
pub fn passwd(
    repo: &Repository,
    old: &str,
    pass: &Passphrase,
    params: KdfParams,
    who: &SlotLabel<'_>,
) -> Result<KeySlot, EngineError> {
    let slot = add(repo, pass, params, who)?;
    super::stop::point("passwd-after-new-slot");
    repo.storage().delete(&crypto::slot_key(old))?;
    Ok(slot)
}

fn unlocked(repo: &Repository) -> Result<&Keys, EngineError> {
    repo.keys()
        .map(|k| k.as_ref())
        .ok_or_else(|| EngineError::Locked {
            dest: repo.describe(),
            detail: "changing its keys needs its passphrase".into(),
        })
}

/// Whether `bytes` read as `strata-repo.toml` describe an encrypted repository.
pub fn describes_encrypted(dest: &str, bytes: &[u8]) -> Result<bool, EngineError> {
    Ok(repo::parse_config(dest, bytes)?.encryption == ENCRYPTION)
}
