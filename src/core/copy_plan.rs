//! Which copies a run writes: the destinations that open now, less those
//! where the chain it builds on has no complete copy, checked against the
//! task's copy policy; and the copies a committed backup then records.

use super::error::CoreError;
use super::service::Core;
use crate::engine::manifest::Manifest;
use crate::engine::{EngineError, Repository};
use crate::model::{BackupCopy, CopyState, TaskConfig};
use std::collections::BTreeSet;

impl Core {
    /// The repositories of a task that open now, in write order, and for each
    /// destination that does not, why: one unreachable destination must not
    /// stop the backup on the others.
    ///
    /// An encrypted destination whose passphrase is wrong stops the run
    /// before anything is written (exit 4: the configuration must be fixed);
    /// one whose passphrase is unavailable (`locked`) waits like an
    /// unreachable one, unless no destination opens at all: then the run
    /// fails with that error (exit 2, naming the ways to give it).
    pub(super) fn reachable_repos(
        &self,
        task: &TaskConfig,
    ) -> Result<(Vec<Repository>, Vec<BackupCopy>), CoreError> {
        let mut repos = Vec::new();
        let mut missing = Vec::new();
        let mut locked = None;
        for n in &task.destinations {
            match self.destination(n).and_then(|cfg| self.open_repo(&cfg)) {
                Ok(r) => repos.push(r),
                Err(e @ CoreError::Engine(EngineError::Passphrase { .. })) => return Err(e),
                Err(e @ CoreError::Engine(EngineError::Locked { .. })) => {
                    missing.push(BackupCopy::lacking(n, CopyState::Missing, e.to_string()));
                    locked.get_or_insert(e);
                }
                Err(e) => missing.push(BackupCopy::lacking(n, CopyState::Missing, e.to_string())),
            }
        }
        match locked {
            Some(e) if repos.is_empty() => Err(e),
            _ => Ok((repos, missing)),
        }
    }

    /// Leaves out the repositories where a backup whose data `m` reuses has
    /// no complete copy: a copy written there could not be restored
    /// (`backup sync` fills the chain in first).
    pub(super) fn drop_chainless(
        &self,
        repos: &mut Vec<Repository>,
        missing: &mut Vec<BackupCopy>,
        m: &Manifest,
        task_name: &str,
    ) -> Result<(), CoreError> {
        let owners: BTreeSet<String> = m.packs.iter().map(|r| r.backup.clone()).collect();
        let mut lacking: Vec<(String, String)> = Vec::new();
        for id in &owners {
            let Some(b) = self.catalog.get_backup(id)? else {
                continue;
            };
            for c in b.copies() {
                if c.state != CopyState::Complete {
                    lacking.push((c.destination, b.id.clone()));
                }
            }
        }
        repos.retain(|r| {
            let Some((_, id)) = lacking.iter().find(|(d, _)| d == r.name()) else {
                return true;
            };
            missing.push(BackupCopy::lacking(
                r.name(),
                CopyState::Missing,
                format!(
                    "backup {id} of its chain has no complete copy there; run 'strata backup run {task_name} --full' or sync the chain first"
                ),
            ));
            false
        });
        Ok(())
    }
}

/// One copy per destination of `task`: complete, unless `missing` says why not.
pub(super) fn copies_of(task: &TaskConfig, missing: &[BackupCopy]) -> Vec<BackupCopy> {
    task.destinations
        .iter()
        .map(|d| {
            missing
                .iter()
                .find(|c| &c.destination == d)
                .cloned()
                .unwrap_or_else(|| BackupCopy::complete(d))
        })
        .collect()
}

/// A note per copy that is not complete, for the run's message.
pub(super) fn lacking_notes(copies: &[BackupCopy]) -> Vec<String> {
    copies
        .iter()
        .filter(|c| c.state != CopyState::Complete)
        .map(|c| {
            format!(
                "no copy on {}: {}",
                c.destination,
                c.error.as_deref().unwrap_or("not written")
            )
        })
        .collect()
}

/// The error of a backup that cannot reach as many destinations as its
/// task requires: each one named, with why, and what to do.
pub(super) fn too_few_copies(
    task: &TaskConfig,
    required: usize,
    missing: &[BackupCopy],
) -> CoreError {
    let why: Vec<String> = missing
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.destination,
                c.error.as_deref().unwrap_or("not reachable")
            )
        })
        .collect();
    CoreError::Failed(format!(
        "task {} needs {required} of its {} destination(s) (require = \"{}\") and cannot write to {}; the backup was not taken. Fix the destination (mount it, check 'strata dest list') and run the backup again",
        task.name,
        task.destinations.len(),
        task.require,
        why.join("; ")
    ))
}
