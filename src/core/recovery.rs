//! Recovery when the core opens: runs a crash left queued or running are
//! settled, a backup that committed everywhere is recorded, and only the run's
//! own data is removed.

use super::error::CoreError;
use super::jobs::claim_of;
use super::service::{Core, open_dest};
use crate::engine::repo::{self, Claim};
use crate::model::{BackupStatus, RunRecord, RunStatus};
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
}

impl Core {
    /// Finishes runs a crash left as running: data that reached its commit
    /// marker on every destination is recorded (it is complete), anything else
    /// the run wrote is removed. A directory the run does not own (another
    /// backup's claim, or another backup's commit) is never touched.
    pub fn recover(&self) -> Result<Recovery, CoreError> {
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
            let mut dests = Vec::new();
            for name in &run.destinations {
                if let Some(cfg) = self.catalog.get_destination(name)? {
                    dests.push((name.clone(), open_dest(&cfg)));
                }
            }
            let claim = claim_of(&run);
            // Per destination: whether the directory is this run's, and its
            // commit marker if it completed there.
            let mut copies = Vec::new();
            for (name, d) in &dests {
                let own = owns(d.as_ref(), &run, &claim);
                let committed = if own {
                    match repo::read_commit(d.as_ref(), &run.backup_id) {
                        Ok(Some(marker))
                            if repo::read_manifest(
                                d.as_ref(),
                                &run.backup_id,
                                &marker.manifest_hash,
                            )
                            .is_ok() =>
                        {
                            Some(marker)
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                copies.push((name, d, own, committed));
            }
            // Adopt only a backup that committed on every destination of the run;
            // a copy on some of them is removed everywhere instead.
            let everywhere = dests.len() == run.destinations.len()
                && !copies.is_empty()
                && copies.iter().all(|c| c.3.is_some());
            let marker = if everywhere {
                copies.iter().find_map(|c| c.3.clone())
            } else {
                None
            };
            run.finished = Some(Utc::now());
            let mut why_not = None;
            if let Some(marker) = marker {
                run.status = match marker.backup.status {
                    BackupStatus::Complete => RunStatus::Complete,
                    BackupStatus::Partial => RunStatus::Partial,
                };
                run.message = Some(
                    "recorded after an interruption: the backup had committed on every destination"
                        .into(),
                );
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
            for (name, d, own, _) in &copies {
                if !own {
                    foreign.push(name.as_str());
                    continue;
                }
                if repo::release(d.as_ref(), &claim)? {
                    continue;
                }
                // A directory without a claim was written by an earlier release.
                // The commit marker goes first, so a half-deleted copy never looks complete.
                d.delete(&repo::commit_key(&run.backup_id))?;
                d.delete_prefix(&repo::backup_prefix(&run.backup_id))?;
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
        copies: &[RecoveredCopy<'_>],
    ) -> Result<Vec<String>, CoreError> {
        let id = &marker.backup.id;
        let mut out: BTreeSet<String> = marker.backup.parent.iter().cloned().collect();
        if let Some((_, d, _, _)) = copies.first() {
            let m = repo::read_manifest(d.as_ref(), id, &marker.manifest_hash)?;
            out.extend(m.packs.into_iter().map(|p| p.backup));
        }
        out.remove(id);
        Ok(out.into_iter().collect())
    }
}

/// One destination of an interrupted run: name, storage, owned, commit marker.
type RecoveredCopy<'a> = (
    &'a String,
    &'a std::sync::Arc<dyn crate::dest::Destination>,
    bool,
    Option<repo::CommitMarker>,
);

/// Whether `backups/<id>/` on `d` is the interrupted `run`'s own: its claim is
/// the run's, or (written by an earlier release, without a claim) it holds no
/// commit marker or one of this very run. Unreadable evidence is not ownership.
fn owns(d: &dyn crate::dest::Destination, run: &RunRecord, claim: &Claim) -> bool {
    match repo::read_claim(d, &run.backup_id) {
        Ok(Some(c)) => c == *claim,
        Ok(None) => match repo::read_commit(d, &run.backup_id) {
            Ok(None) => true,
            Ok(Some(m)) => m.backup.task == run.task && m.backup.started == run.started,
            Err(_) => false,
        },
        Err(_) => false,
    }
}
