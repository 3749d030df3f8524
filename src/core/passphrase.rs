//! Passphrases of encrypted destinations: read from where the destination
//! says (`encryption = { passphrase_file | passphrase_command |
//! passphrase_env }`, else `STRATA_PASSPHRASE`, else — where a front end on a
//! terminal installed one — asked at a prompt), used to unlock the
//! repository once per process, and forgotten; the unlocked keys are kept in
//! memory (never on disk) so each later open skips the Argon2 derivation.
//! A passphrase never reaches a process argument, a log, the audit log, an
//! error message or a run record: messages name only where it was read.

use super::error::CoreError;
use crate::engine::crypto::Keys;
/// A passphrase in memory (zeroized when dropped), for the front ends that ask for one.
pub use crate::engine::crypto::Passphrase;
use crate::engine::keyring;
use crate::engine::{EngineError, Repository};
use crate::model::{DestinationConfig, EncryptionConfig, PASSPHRASE_ENV};
use std::collections::HashMap;
use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

/// The three ways to give a passphrase, for the "missing" message.
pub(crate) const HOW: &str = "give it with --passphrase-file FILE (a private 0600 file), --passphrase-command CMD, or the STRATA_PASSPHRASE environment variable (in TOML: encryption = { passphrase_file = \"…\" }, passphrase_command or passphrase_env), or run the command on a terminal to be asked";

/// Asks a person for a passphrase (`None`: no answer). Front ends on a
/// terminal install one; the daemon and the console never do, so nothing
/// there ever waits on a prompt nobody sees.
pub type Ask = fn(prompt: &str) -> Option<Passphrase>;

static ASK: OnceLock<Ask> = OnceLock::new();

/// Installs the prompt asked when a destination's passphrase variable is unset.
pub fn ask_with(ask: Ask) {
    let _ = ASK.set(ask);
}

/// Where a prompted passphrase came from, in messages.
const PROMPTED: &str = "the terminal prompt";

/// What a passphrase is asked for: opening asks once; a new one (creation,
/// `dest key add|passwd`) asks twice so a typo cannot lock the data away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asking {
    /// The passphrase that opens destination NAME.
    Open,
    /// The passphrase a new repository is created with.
    Create,
    /// A new key slot's passphrase.
    NewSlot,
}

/// Asks at the installed prompt; `Ok(None)` without one or without an answer.
fn ask(name: &str, why: Asking) -> Result<Option<(Passphrase, String)>, CoreError> {
    let Some(ask) = ASK.get() else {
        return Ok(None);
    };
    let first = match why {
        Asking::Open => format!("Passphrase for destination {name}: "),
        Asking::Create => format!("New passphrase for the encrypted destination {name}: "),
        Asking::NewSlot => format!("New passphrase for a key slot of destination {name}: "),
    };
    let Some(p) = ask(&first) else {
        return Ok(None);
    };
    if why != Asking::Open {
        let again = ask("Type it again: ").unwrap_or_else(|| Passphrase::new(Vec::new()));
        if again.expose() != p.expose() {
            return Err(CoreError::Invalid(format!(
                "the two passphrases typed for destination {name} differ; nothing was written, run the command again"
            )));
        }
    }
    non_empty(p, PROMPTED.to_string()).map(Some)
}

/// Most bytes read from a passphrase file or command.
const MAX_LEN: usize = 64 * 1024;

/// Unlocked keys by repository id, for this process only.
fn cache() -> &'static Mutex<HashMap<String, Arc<Keys>>> {
    static KEYS: OnceLock<Mutex<HashMap<String, Arc<Keys>>>> = OnceLock::new();
    KEYS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cached(repo_id: &str) -> Option<Arc<Keys>> {
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(repo_id)
        .cloned()
}

/// Remembers `keys` for their repository (after an unlock or a creation).
pub(crate) fn remember(keys: &Arc<Keys>) {
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(keys.repo_id().to_string(), keys.clone());
}

/// Forgets the keys of `repo_id` (a changed passphrase is asked again).
pub(crate) fn forget(repo_id: &str) {
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(repo_id);
}

fn trim(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

/// What `enc` yields: the passphrase and where it came from, `Ok(None)`
/// when that source has nothing (an unset variable), `Err` when the source
/// itself fails (a file that is not private, a command that fails).
pub(crate) fn read(enc: &EncryptionConfig) -> Result<Option<(Passphrase, String)>, CoreError> {
    let from = enc.source();
    if let Some(path) = &enc.passphrase_file {
        let text = crate::dest::credentials::read_private_file(path, "passphrase file")
            .map_err(CoreError::Invalid)?;
        let p = Passphrase::new(trim(text.as_bytes().to_vec()));
        return non_empty(p, from).map(Some);
    }
    if let Some(cmd) = &enc.passphrase_command {
        return run_command(cmd, &from)
            .and_then(|p| non_empty(p, from))
            .map(Some);
    }
    let var = enc.passphrase_env.as_deref().unwrap_or(PASSPHRASE_ENV);
    match std::env::var_os(var) {
        Some(v) => {
            use std::os::unix::ffi::OsStringExt;
            non_empty(Passphrase::new(v.into_vec()), from).map(Some)
        }
        None => Ok(None),
    }
}

fn non_empty(p: Passphrase, from: String) -> Result<(Passphrase, String), CoreError> {
    if p.is_empty() {
        return Err(CoreError::Invalid(format!(
            "the passphrase from {from} is empty; an encrypted repository needs a passphrase"
        )));
    }
    Ok((p, from))
}

/// Runs `cmd` (no shell unless it has shell syntax, like a dump command)
/// and takes its standard output; its stderr goes to ours, never into messages.
fn run_command(cmd: &str, from: &str) -> Result<Passphrase, CoreError> {
    let inv = crate::source::command::invocation(cmd, None)
        .map_err(|e| CoreError::Invalid(format!("{from}: {e}")))?;
    let mut child = inv
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CoreError::Invalid(format!("{from} cannot start: {}", e.kind())))?;
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(MAX_LEN as u64)
            .read_to_end(&mut out)
            .map_err(|e| {
                CoreError::Failed(format!("{from}: reading its output failed: {}", e.kind()))
            })?;
    }
    let status = child
        .wait()
        .map_err(|e| CoreError::Failed(format!("{from}: {}", e.kind())))?;
    let p = Passphrase::new(trim(out));
    if !status.success() {
        return Err(CoreError::Invalid(format!(
            "{from} failed ({status}); fix it or give the passphrase another way"
        )));
    }
    Ok(p)
}

/// The passphrase of `cfg`, or exit 2 naming the destination and the ways to give it.
pub(crate) fn require(cfg: &DestinationConfig) -> Result<(Passphrase, String), CoreError> {
    require_for(cfg, Some(Asking::Open))
}

/// Like [`require`]; a prompt asks as `why` says, or not at all (`None`).
pub(crate) fn require_for(
    cfg: &DestinationConfig,
    why: Option<Asking>,
) -> Result<(Passphrase, String), CoreError> {
    let enc = cfg.encryption.as_deref().cloned().unwrap_or_default();
    read_or_ask(&enc, &cfg.name, why)?.ok_or_else(|| missing(&cfg.name, &enc))
}

/// [`read`], then — only when the source is an unset variable, and `why`
/// says what for — the prompt.
pub(crate) fn read_or_ask(
    enc: &EncryptionConfig,
    name: &str,
    why: Option<Asking>,
) -> Result<Option<(Passphrase, String)>, CoreError> {
    match (read(enc)?, why) {
        (Some(got), _) => Ok(Some(got)),
        (None, Some(why)) => ask(name, why),
        (None, None) => Ok(None),
    }
}

/// The "no passphrase" error of destination `name` (exit 2; a daemon shows
/// the destination as `locked`).
pub(crate) fn missing(name: &str, enc: &EncryptionConfig) -> CoreError {
    CoreError::Engine(EngineError::Locked {
        dest: name.to_string(),
        detail: format!(
            "destination {name} has no passphrase available ({} is not set); {HOW}",
            enc.source()
        ),
    })
}

/// Unlocks `repo` (an encrypted repository of destination `cfg`): from this
/// process's memory, else with the destination's passphrase. A wrong one is
/// exit 4 naming the destination and the source.
pub(crate) fn unlock(cfg: &DestinationConfig, repo: Repository) -> Result<Repository, CoreError> {
    unlock_as(cfg, repo, true)
}

/// [`unlock`] that never asks at a prompt: for the checks and recoveries
/// that run on their own (health checks on threads nobody watches, the
/// recovery a command does before its own work); a locked destination then
/// waits like an unreachable one.
pub(crate) fn unlock_unasked(
    cfg: &DestinationConfig,
    repo: Repository,
) -> Result<Repository, CoreError> {
    unlock_as(cfg, repo, false)
}

fn unlock_as(
    cfg: &DestinationConfig,
    repo: Repository,
    asking: bool,
) -> Result<Repository, CoreError> {
    if !repo.is_encrypted() || repo.keys().is_some() {
        return Ok(repo);
    }
    if let Some(k) = repo.id().and_then(cached) {
        return Ok(repo.with_keys(k));
    }
    let (pass, from) = require_for(cfg, asking.then_some(Asking::Open))?;
    let (repo, _slot) = unlock_with(cfg, repo, &pass, &from)?;
    Ok(repo)
}

/// Unlocks `repo` with `pass`; the slot that opened it comes back too.
pub(crate) fn unlock_with(
    cfg: &DestinationConfig,
    repo: Repository,
    pass: &Passphrase,
    from: &str,
) -> Result<(Repository, String), CoreError> {
    match keyring::unlock(repo, pass, from) {
        Ok((repo, slot)) => {
            if let Some(k) = repo.keys() {
                remember(k);
            }
            Ok((repo, slot))
        }
        Err(EngineError::Passphrase { dest, detail }) => {
            Err(CoreError::Engine(EngineError::Passphrase {
                detail: format!("destination {}: {detail}", cfg.name),
                dest,
            }))
        }
        Err(e) => Err(e.into()),
    }
}
