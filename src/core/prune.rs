//! Applying retention: evaluate each task's policy and delete what expired.
//! A prune that deletes something or fails is a `retention` run of its task.

use super::error::CoreError;
use super::retention::{Decision, evaluate_in};
use super::service::Core;
use crate::model::{BackupKind, BackupRecord, RunPurpose, RunRecord, RunStatus, TaskConfig};
use chrono::Utc;
use serde::Serialize;
use std::collections::HashMap;

/// What a prune decided and did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PruneReport {
    /// One decision per backup of the evaluated tasks, by task, then finish time.
    pub decisions: Vec<Decision>,
    /// Backups that expired (deleted, or that would be with `dry_run`).
    pub expired: usize,
    /// Sum of the expired backups' stored bytes (freed on each destination).
    pub freed_bytes: u64,
    /// Nothing was deleted.
    pub dry_run: bool,
    /// Backups that would have expired but a running job reads from them:
    /// kept this time, they expire at a later prune.
    pub in_use: Vec<String>,
}

/// How many ancestors `id` has among `by_id` (a broken or cyclic link stops the walk).
fn depth(by_id: &HashMap<&str, &BackupRecord>, id: &str) -> usize {
    let mut d = 0;
    let mut cur = by_id.get(id).and_then(|b| b.parent.as_deref());
    while let Some(p) = cur {
        d += 1;
        if d > by_id.len() {
            break;
        }
        cur = by_id.get(p).and_then(|b| b.parent.as_deref());
    }
    d
}

impl Core {
    /// Applies retention now to every task, or to `task` only. Each task's
    /// backups are evaluated with its policy at the current time; unless
    /// `dry_run`, the expired ones are deleted, dependents before what they
    /// depend on, exactly as `backup delete` would. Backups whose task no
    /// longer exists are left alone. One task's failure does not stop the
    /// others; the first error is returned after all were tried.
    pub(crate) fn prune(
        &self,
        task: Option<&str>,
        dry_run: bool,
    ) -> Result<PruneReport, CoreError> {
        let tasks: Vec<TaskConfig> = match task {
            Some(t) => vec![self.task(t)?],
            None => self.tasks()?,
        };
        if dry_run {
            return self.prune_tasks(&tasks, true);
        }
        let mut total = PruneReport {
            decisions: Vec::new(),
            expired: 0,
            freed_bytes: 0,
            dry_run,
            in_use: Vec::new(),
        };
        let mut first_error = None;
        for t in &tasks {
            let started = Utc::now();
            let result = self.prune_tasks(std::slice::from_ref(t), false);
            self.record_retention(t, started, &result);
            match result {
                Ok(r) => {
                    total.decisions.extend(r.decisions);
                    total.expired += r.expired;
                    total.freed_bytes += r.freed_bytes;
                    total.in_use.extend(r.in_use);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Records a retention run of `task` when it deleted something or failed
    /// (a prune that found nothing to do is not worth a line in `runs`).
    fn record_retention(
        &self,
        task: &TaskConfig,
        started: chrono::DateTime<Utc>,
        result: &Result<PruneReport, CoreError>,
    ) {
        let (status, message) = match result {
            Ok(r) if r.expired == 0 => return,
            Ok(r) => {
                let ids: Vec<&str> = r
                    .decisions
                    .iter()
                    .filter(|d| !d.keep)
                    .map(|d| d.id.as_str())
                    .collect();
                (
                    RunStatus::Complete,
                    format!(
                        "deleted {} expired backup(s), {} freed on each destination: {}",
                        r.expired,
                        crate::units::size(r.freed_bytes),
                        ids.join(", ")
                    ),
                )
            }
            Err(e) => (RunStatus::Failed, format!("retention failed: {e}")),
        };
        let run = RunRecord {
            id: 0,
            task: task.name.clone(),
            purpose: RunPurpose::Retention,
            requested: BackupKind::Full,
            kind: BackupKind::Full,
            backup_id: String::new(),
            destinations: task.destinations.clone(),
            status,
            started,
            finished: Some(Utc::now()),
            message: Some(message),
        };
        if let Err(e) = self.catalog.insert_run(run) {
            tracing::error!(task = %task.name, "cannot record a retention run: {e}");
        }
    }

    /// [`Core::prune`] of `tasks` together, without recording runs.
    fn prune_tasks(&self, tasks: &[TaskConfig], dry_run: bool) -> Result<PruneReport, CoreError> {
        let all = self.catalog.list_backups()?;
        let now = Utc::now();
        let mut decisions: Vec<Decision> = Vec::new();
        for t in tasks {
            let mine: Vec<BackupRecord> =
                all.iter().filter(|b| b.task == t.name).cloned().collect();
            // Calendar rules (keep_daily…) count days in the task's own zone.
            let tz = match &t.timezone {
                Some(z) => super::scheduler::parse_tz(z).map_err(CoreError::Invalid)?,
                None => super::scheduler::host_tz(),
            };
            let ds = evaluate_in(&mine, &t.retention, now, &tz).map_err(|e| {
                CoreError::Invalid(format!(
                    "task {}: retention policy cannot be applied: {e}; fix it in the task definition",
                    t.name
                ))
            })?;
            decisions.extend(ds);
        }
        let by_id: HashMap<&str, &BackupRecord> = all.iter().map(|b| (b.id.as_str(), b)).collect();
        // A backup a running job reads from is kept this time, with everything
        // it depends on; the next prune expires it once the job is done.
        let mut in_use = Vec::new();
        let held: Vec<(String, String)> = decisions
            .iter()
            .filter(|d| !d.keep)
            .filter_map(|d| {
                let h = self.jobs.holds.holder_of(&d.id)?;
                Some((d.id.clone(), format!("in use by {}", h.describe())))
            })
            .collect();
        for (id, reason) in held {
            in_use.push(id.clone());
            keep_with_ancestors(&mut decisions, &by_id, &id, reason);
        }
        // The expired set is closed under descendants, so deleting deepest
        // first always finds the backup without remaining dependents.
        let mut victims: Vec<(usize, Decision)> = decisions
            .iter()
            .filter(|d| !d.keep)
            .map(|d| (depth(&by_id, &d.id), d.clone()))
            .collect();
        victims.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.finished.cmp(&a.1.finished)));
        let mut freed_bytes = 0;
        let mut expired = 0;
        for (_, d) in &victims {
            if decisions.iter().any(|x| x.id == d.id && x.keep) {
                // Kept meanwhile as an ancestor of a backup that became in use.
                continue;
            }
            if dry_run {
                freed_bytes += d.stored_bytes;
                expired += 1;
                continue;
            }
            match self.delete_backup(&d.id, false) {
                Ok(gone) => {
                    expired += 1;
                    for g in gone {
                        freed_bytes += g.stored_bytes;
                    }
                }
                // A job started reading from it after the evaluation: skip it.
                Err(CoreError::Busy(_)) => {
                    let reason = match self.jobs.holds.holder_of(&d.id) {
                        Some(h) => format!("in use by {}", h.describe()),
                        None => "in use by a running backup".into(),
                    };
                    in_use.push(d.id.clone());
                    keep_with_ancestors(&mut decisions, &by_id, &d.id, reason);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(PruneReport {
            expired,
            decisions,
            freed_bytes,
            dry_run,
            in_use,
        })
    }
}

/// Turns the expiry of `id` (and of every expired backup it depends on) into a
/// keep, with `reason` for `id` and "needed by" for its ancestors.
fn keep_with_ancestors(
    decisions: &mut [Decision],
    by_id: &HashMap<&str, &BackupRecord>,
    id: &str,
    reason: String,
) {
    let mut cur = Some((id.to_string(), reason));
    let mut steps = 0;
    while let Some((cid, why)) = cur.take() {
        if let Some(d) = decisions.iter_mut().find(|d| d.id == cid)
            && !d.keep
        {
            d.keep = true;
            d.reasons = vec![why];
        }
        steps += 1;
        if steps > by_id.len() {
            break;
        }
        cur = by_id
            .get(cid.as_str())
            .and_then(|b| b.parent.clone())
            .map(|p| (p, format!("needed by {cid}")));
    }
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
