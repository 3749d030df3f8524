//! Recovery when the core opens: runs a crash left queued or running are
//! settled, a backup that committed everywhere is recorded, and only the run's
//! own data is removed. A run whose destination cannot be reached is deferred
//! to the next start, so one unreachable destination never blocks the rest.

use super::error::CoreError;
use super::jobs::claim_of;
use super::service::Core;
use crate::engine::repo::{self, Claim};
use crate::engine::{EngineError, Repository};
use crate::model::{
    BackupCopy, BackupStatus, CopyPolicy, CopyState, DestinationConfig, RunPurpose, RunRecord,
    RunStatus,
};
use chrono::Utc;
use std::collections::BTreeSet;

/// What recovery found at open.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Runs whose partial data was removed.
    pub interrupted: Vec<String>,
    /// Runs that had committed on the destination before the crash, now recorded.
    pub adopted: Vec<String>,
    /// Queued runs that never started (run id, task), now marked interrupted.
    pub never_started: Vec<(u64, String)>,
    /// Running runs left as they are because a destination of theirs could
    /// not be reached; the next start tries them again.
    pub deferred: Vec<Deferred>,
}

/// A run recovery could not settle yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// Run id.
    pub run: u64,
    /// The run's backup id.
    pub backup: String,
    /// The destination that could not be reached.
    pub destination: String,
    /// Why.
    pub error: String,
}

/// A destination that failed while recovery looked at or cleaned up a run.
struct Unreachable {
    destination: String,
    error: String,
}

impl Core {
    /// Finishes runs a crash left as running: data that reached its commit
    /// marker on every destination is recorded (it is complete), anything else
    /// the run wrote is removed. A directory the run does not own (another
    /// backup's claim, or another backup's commit) is never touched.
    pub(crate) fn recover(&self) -> Result<Recovery, CoreError> {
        let mut out = Recovery::default();
        // A queued run wrote nothing; its fire time (if scheduled) was already
        // handled, so it is not caught up: it is reported for a person to rerun.
        for mut run in self.catalog.queued_runs()? {
            run.status = RunStatus::Interrupted;
            run.finished = Some(Utc::now());
            run.message = Some(format!(
                "interrupted: it was queued when the process stopped and never started; run it again with 'strata backup run {}'",
                run.task
            ));
            self.catalog.update_run(&run)?;
            self.audit_recovery(
                &run,
                "was queued when the process stopped and never started",
            );
            out.never_started.push((run.id, run.task.clone()));
        }
        for mut run in self.catalog.running_runs()? {
            // Verification and retention write no backup data: nothing to
            // finish or discard, only the record to close (retention's
            // deletions are queued and resume by themselves).
            if matches!(run.purpose, RunPurpose::Verify | RunPurpose::Retention) {
                run.status = RunStatus::Interrupted;
                run.finished = Some(Utc::now());
                run.message = Some(format!(
                    "interrupted: the process stopped during this {}; it runs again at its next scheduled time (or now with 'strata {} --task {}')",
                    run.purpose.as_str(),
                    if run.purpose == RunPurpose::Verify {
                        "verify"
                    } else {
                        "prune"
                    },
                    run.task
                ));
                self.catalog.update_run(&run)?;
                self.audit_recovery(&run, "was interrupted when the process stopped");
                continue;
            }
            // A running run of a backup the catalog already holds was a sync
            // writing one more copy of it (runs from before purposes existed
            // say backup, hence the second test).
            if run.purpose == RunPurpose::Sync
                || (!run.backup_id.is_empty() && self.catalog.get_backup(&run.backup_id)?.is_some())
            {
                self.recover_sync(&mut run, &mut out)?;
                continue;
            }
            let claim = claim_of(&run);
            // Per destination: whether the directory is this run's, and its
            // commit marker if it completed there. One unreachable destination
            // leaves the whole run for the next start: its partial data there
            // could not be removed, and adoption needs every copy.
            let mut copies = Vec::new();
            let mut unreachable = None;
            for name in &run.destinations {
                let Some(cfg) = self.catalog.get_destination(name)? else {
                    continue;
                };
                match inspect(&cfg, &claim) {
                    Ok(copy) => copies.push(copy),
                    Err(u) => {
                        unreachable = Some(u);
                        break;
                    }
                }
            }
            if let Some(u) = unreachable {
                out.deferred.push(defer(&run, u));
                continue;
            }
            let defined = copies.len();
            // Adopt a backup that committed on as many destinations as its
            // task's policy requires (all, by default); the other copies are
            // removed and recorded missing, for sync to fill in. Below the
            // policy it is removed everywhere instead.
            let policy = self
                .catalog
                .get_task(&run.task)?
                .map_or(CopyPolicy::All, |t| t.require);
            let required = policy.required(run.destinations.len()).max(1);
            let committed = copies.iter().filter(|c| c.committed.is_some()).count();
            let enough = defined == run.destinations.len() && committed >= required;
            let marker = if enough {
                copies.iter().find_map(|c| c.committed.clone())
            } else {
                None
            };
            // The copies that did not commit, removed before the backup is
            // recorded so no half-written copy is ever listed as missing
            // while still holding a stale claim.
            if marker.is_some()
                && committed < defined
                && let Some(u) = discard_uncommitted(&copies, &claim)
            {
                out.deferred.push(defer(&run, u));
                continue;
            }
            run.finished = Some(Utc::now());
            let mut why_not = None;
            if let Some(mut marker) = marker {
                let lacking: Vec<&str> = copies
                    .iter()
                    .filter(|c| c.committed.is_none())
                    .map(|c| c.repo.name())
                    .collect();
                marker.backup.copies = copies
                    .iter()
                    .map(|c| match c.committed {
                        Some(_) => BackupCopy::complete(c.repo.name()),
                        None => BackupCopy {
                            destination: c.repo.name().to_string(),
                            state: CopyState::Missing,
                            error: Some(
                                "the process stopped before this copy committed; 'strata backup sync' writes it"
                                    .into(),
                            ),
                            attempts: 0,
                            retry_at: None,
                        },
                    })
                    .collect();
                run.status = match marker.backup.status {
                    BackupStatus::Partial => RunStatus::Partial,
                    BackupStatus::Complete if !lacking.is_empty() => RunStatus::Degraded,
                    BackupStatus::Complete => RunStatus::Complete,
                };
                run.message = Some(if lacking.is_empty() {
                    "recorded after an interruption: the backup had committed on every destination"
                        .into()
                } else {
                    format!(
                        "recorded after an interruption: the backup had committed on {committed} of {defined} destinations, as its task requires; the copy on {} is missing until 'strata backup sync {}' or the scheduler's retry writes it",
                        lacking.join(", "),
                        run.backup_id
                    )
                });
                let requires = self.references(&marker, &copies)?;
                match self.catalog.commit_backup(&marker.backup, &run, &requires) {
                    Ok(()) => {
                        out.adopted.push(run.backup_id.clone());
                        continue;
                    }
                    Err(
                        e @ (super::catalog::CatalogError::DependencyGone { .. }
                        | super::catalog::CatalogError::BackupExists { .. }),
                    ) => why_not = Some(e.to_string()),
                    Err(e) => return Err(e.into()),
                }
            }
            let mut foreign = Vec::new();
            let mut unreachable = None;
            for c in &copies {
                if !c.own {
                    foreign.push(c.repo.name().to_string());
                    continue;
                }
                if let Err(e) = c.repo.discard_partial(&claim) {
                    unreachable = Some(Unreachable {
                        destination: c.repo.name().to_string(),
                        error: e.to_string(),
                    });
                    break;
                }
            }
            if let Some(u) = unreachable {
                out.deferred.push(defer(&run, u));
                continue;
            }
            run.status = RunStatus::Interrupted;
            let mut msg = "interrupted (the process stopped mid-run); its partial data was removed"
                .to_string();
            if let Some(w) = why_not {
                msg = format!("interrupted (the process stopped mid-run) and not recorded: {w}");
            }
            if !foreign.is_empty() {
                msg.push_str(&format!(
                    "; backups/{}/ on {} belongs to another backup and was left alone",
                    run.backup_id,
                    foreign.join(", ")
                ));
            }
            self.audit_recovery(&run, &msg);
            run.message = Some(msg);
            self.catalog.update_run(&run)?;
            out.interrupted.push(run.backup_id.clone());
        }
        Ok(out)
    }

    /// Audits what recovery did to `run`: "interrupted: run N WHAT".
    fn audit_recovery(&self, run: &RunRecord, what: &str) {
        self.record_unknown_access(
            "strata",
            None,
            "recovery",
            "backup run",
            &run.task,
            &format!("interrupted: run {} {what}", run.id),
        );
    }

    /// Backups whose data a committed copy references (its parent and pack owners).
    fn references(
        &self,
        marker: &repo::CommitMarker,
        copies: &[RunCopy],
    ) -> Result<Vec<String>, CoreError> {
        let id = &marker.backup.id;
        let mut out: BTreeSet<String> = marker.backup.parent.iter().cloned().collect();
        if let Some(c) = copies.iter().find(|c| c.committed.is_some()) {
            let m = c.repo.read_manifest(id, &marker.manifest_hash)?;
            out.extend(m.packs.into_iter().map(|p| p.backup));
        }
        out.remove(id);
        Ok(out.into_iter().collect())
    }
}

impl Core {
    /// An interrupted sync: a copy whose commit marker made it is recorded
    /// complete; anything less is removed, where the claim proves it the
    /// sync's own, so no copy ever looks complete that is not.
    fn recover_sync(&self, run: &mut RunRecord, out: &mut Recovery) -> Result<(), CoreError> {
        let claim = claim_of(run);
        let mut finished = Vec::new();
        let mut removed = Vec::new();
        for name in run.destinations.clone() {
            let Some(cfg) = self.catalog.get_destination(&name)? else {
                continue;
            };
            let copy = match inspect(&cfg, &claim) {
                Ok(c) => c,
                Err(u) => {
                    out.deferred.push(defer(run, u));
                    return Ok(());
                }
            };
            if !copy.own {
                continue;
            }
            if copy.committed.is_some() {
                self.set_copy_complete(&run.backup_id, &name)?;
                finished.push(name);
            } else {
                if let Err(e) = copy.repo.discard_partial(&claim) {
                    out.deferred.push(defer(
                        run,
                        Unreachable {
                            destination: name,
                            error: e.to_string(),
                        },
                    ));
                    return Ok(());
                }
                removed.push(name);
            }
        }
        run.finished = Some(Utc::now());
        if removed.is_empty() && !finished.is_empty() {
            run.status = RunStatus::Complete;
            run.message = Some(format!(
                "sync recorded after an interruption: the copy on {} had committed",
                finished.join(", ")
            ));
        } else {
            run.status = RunStatus::Interrupted;
            run.message = Some(format!(
                "interrupted: the sync of backup {} stopped before its copy was complete; its partial copy was removed (run 'strata backup sync {}' again)",
                run.backup_id, run.backup_id
            ));
            out.interrupted.push(run.backup_id.clone());
        }
        self.catalog.update_run(run)?;
        let what = run.message.clone().unwrap_or_default();
        self.audit_recovery(run, &what);
        Ok(())
    }
}

/// One destination of an interrupted run.
struct RunCopy {
    repo: Repository,
    /// Whether `backups/<id>/` there is the run's own.
    own: bool,
    /// Its commit marker, when the run completed there with an intact manifest.
    committed: Option<repo::CommitMarker>,
}

/// Looks at a run's directory on one destination; an error means the
/// destination could not be opened or read, so nothing is known about it.
fn inspect(cfg: &DestinationConfig, claim: &Claim) -> Result<RunCopy, Unreachable> {
    let unreachable = |error: String| Unreachable {
        destination: cfg.name.clone(),
        error,
    };
    // An encrypted repository's claims and markers are sealed: it is
    // unlocked first, and while its passphrase is unavailable it waits like
    // an unreachable destination.
    let repo = if cfg.encryption.is_some() {
        super::service::probe_repository(cfg).map_err(|e| unreachable(e.to_string()))?
    } else {
        let dest = crate::dest::open(cfg).map_err(|e| unreachable(e.to_string()))?;
        Repository::attach(&cfg.name, dest)
    };
    let own = repo
        .owned_by(claim)
        .map_err(|e| unreachable(e.to_string()))?;
    let committed = if own {
        match repo.read_commit(&claim.backup) {
            Ok(Some(marker)) => repo
                .read_manifest(&claim.backup, &marker.manifest_hash)
                .is_ok()
                .then_some(marker),
            Ok(None) | Err(EngineError::Damaged { .. }) => None,
            Err(e) => return Err(unreachable(e.to_string())),
        }
    } else {
        None
    };
    Ok(RunCopy {
        repo,
        own,
        committed,
    })
}

/// Removes the run's own data from every copy that did not commit; the
/// destination that could not be cleaned, if any.
fn discard_uncommitted(copies: &[RunCopy], claim: &Claim) -> Option<Unreachable> {
    copies
        .iter()
        .filter(|c| c.own && c.committed.is_none())
        .find_map(|c| {
            c.repo.discard_partial(claim).err().map(|e| Unreachable {
                destination: c.repo.name().to_string(),
                error: e.to_string(),
            })
        })
}

/// Leaves `run` as it is for the next start, saying why.
fn defer(run: &RunRecord, u: Unreachable) -> Deferred {
    tracing::warn!(
        run = run.id,
        backup = %run.backup_id,
        destination = %u.destination,
        "recovery deferred: {}",
        u.error
    );
    Deferred {
        run: run.id,
        backup: run.backup_id.clone(),
        destination: u.destination,
        error: u.error,
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
