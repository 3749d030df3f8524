//! Running backups: registering the job, recording the run, claiming the id,
//! calling the engine and committing. Planning is in `planning.rs`, crash
//! recovery in `recovery.rs`.

pub(super) use super::claiming::claim_of;
use super::copy_plan::{copies_of, lacking_notes, too_few_copies};
use super::error::CoreError;
use super::ids::first_backup_id;
pub use super::recovery::Recovery;
use super::service::Core;
use super::snapshot_life::with_warnings;
use crate::engine::backup::{self, BackupPlan, Described};
use crate::engine::{EngineError, stop};
use crate::model::{
    BackupCopy, BackupKind, BackupRecord, BackupStatus, CopyState, RunRecord, RunStatus,
};
use crate::progress::Progress;
use chrono::Utc;
use std::collections::BTreeSet;

/// What a finished run produced.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunOutcome {
    /// The committed backup.
    pub backup: BackupRecord,
    /// The run record.
    pub run: RunRecord,
    /// A note for the operator (e.g. an incremental that became a full).
    pub note: Option<String>,
    /// Problems after the commit that the operator must see (a local
    /// snapshot that could not be cleared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Effective kind, parent backup, and a note when the request was changed.
pub type KindPlan = (BackupKind, Option<BackupRecord>, Option<String>);

/// Worker threads for engine jobs: `STRATA_THREADS` if set (to leave cores
/// to other work on the host), else one per core.
/// Startup refuses an invalid value (`bounds::threads_env`); one set later
/// falls back to the default rather than aborting a job.
pub fn threads() -> usize {
    super::bounds::threads_env()
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
}

impl Core {
    /// Runs a backup as a registered job: refused (exit 5) while the task has
    /// another job, queued while the parallel-job limit is reached, listed by
    /// `strata jobs` and cancellable meanwhile.
    pub(crate) fn run_backup_job(
        &self,
        task_name: &str,
        requested: BackupKind,
        manual: bool,
        progress: std::sync::Arc<Progress>,
    ) -> Result<RunOutcome, CoreError> {
        self.run_backup_job_then(task_name, requested, manual, progress, |_, _| {})
    }

    /// [`Core::run_backup_job`], calling `on_queued(job id, run)` once the run
    /// is recorded in the catalog as `queued` (before it waits for a slot), so
    /// a crash while it waits still leaves a record for recovery.
    pub(crate) fn run_backup_job_then(
        &self,
        task_name: &str,
        requested: BackupKind,
        manual: bool,
        progress: std::sync::Arc<Progress>,
        on_queued: impl FnOnce(u64, &RunRecord),
    ) -> Result<RunOutcome, CoreError> {
        let task = self.task(task_name)?;
        self.events.publish(super::events::Event::JobQueued {
            task: task_name.to_string(),
        });
        let mut queued: Option<RunRecord> = None;
        let started = self
            .jobs
            .start_with(task_name, requested, manual, progress.clone(), |job| {
                let run = self.catalog.insert_run(RunRecord {
                    id: 0,
                    task: task_name.to_string(),
                    purpose: crate::model::RunPurpose::Backup,
                    requested,
                    kind: requested,
                    backup_id: String::new(),
                    destinations: task.destinations.clone(),
                    status: RunStatus::Queued,
                    started: Utc::now(),
                    finished: None,
                    message: Some(format!("queued as job {job}, waiting for a job slot")),
                })?;
                on_queued(job, &run);
                queued = Some(run);
                Ok(())
            });
        let result = match started {
            Ok(job) => self.run_backup_from(
                queued.clone(),
                Some(job.id()),
                task_name,
                requested,
                manual,
                &progress,
            ),
            Err(e) => Err(e),
        };
        if let (Err(e), Some(q)) = (&result, &queued) {
            self.settle_unstarted(q.id, e, progress.cancelled());
        }
        self.events.publish(super::events::Event::JobFinished {
            task: task_name.to_string(),
            backup: result.as_ref().ok().map(|o| o.backup.id.clone()),
            status: match &result {
                Ok(o) => o.run.status.as_str().to_string(),
                Err(CoreError::Engine(EngineError::Cancelled)) => "interrupted".into(),
                // Cancelled while queued: the run record says interrupted too.
                Err(_) if queued.is_some() && progress.cancelled() => "interrupted".into(),
                Err(_) => "failed".into(),
            },
        });
        result
    }

    /// A queued run that failed before it started running (cancelled while
    /// queued, its task or destinations unusable) gets its final state.
    fn settle_unstarted(&self, run_id: u64, e: &CoreError, cancelled: bool) {
        let Ok(Some(mut run)) = self.catalog.get_run(run_id) else {
            return;
        };
        if run.status != RunStatus::Queued {
            return;
        }
        run.status = if cancelled {
            RunStatus::Interrupted
        } else {
            RunStatus::Failed
        };
        run.finished = Some(Utc::now());
        run.message = Some(e.to_string());
        if let Err(e) = self.catalog.update_run(&run) {
            tracing::error!(run = run.id, "cannot record the end of a queued run: {e}");
        }
    }

    /// Runs one backup of `task` now and commits it to the catalog (unregistered:
    /// callers go through [`Core::run_backup_job`] unless they own the process).
    #[cfg(test)]
    pub(crate) fn run_backup(
        &self,
        task_name: &str,
        requested: BackupKind,
        manual: bool,
        progress: &Progress,
    ) -> Result<RunOutcome, CoreError> {
        self.run_backup_from(None, None, task_name, requested, manual, progress)
    }

    /// Marks `run` failed with `message`; the caller returns its own error.
    fn fail_run(&self, mut run: RunRecord, message: String) {
        // Nothing was committed: a failed run names no backup.
        run.backup_id.clear();
        run.status = RunStatus::Failed;
        run.finished = Some(Utc::now());
        run.message = Some(message);
        if let Err(e) = self.catalog.update_run(&run) {
            tracing::warn!(run = run.id, "could not record the failed run: {e}");
        }
    }

    /// [`Core::run_backup`] as job `job`; a `queued` run record becomes this
    /// run's record in place (same id) instead of a new one.
    fn run_backup_from(
        &self,
        queued: Option<RunRecord>,
        job: Option<u64>,
        task_name: &str,
        requested: BackupKind,
        manual: bool,
        progress: &Progress,
    ) -> Result<RunOutcome, CoreError> {
        let task = self.task(task_name)?;
        let (mut repos, mut missing) = self.reachable_repos(&task)?;
        let required = task.require.required(task.destinations.len()).max(1);
        if repos.len() < required {
            return Err(too_few_copies(&task, required, &missing));
        }
        let mut chunker = None;
        for r in &repos {
            let Some(cfg) = r.config() else { continue };
            match chunker {
                None => chunker = Some(cfg.chunker),
                Some(c) if c != cfg.chunker => {
                    return Err(CoreError::Invalid(format!(
                        "destination {} uses different chunker settings from {}; a task's destinations must agree",
                        r.name(),
                        repos[0].name()
                    )));
                }
                Some(_) => {}
            }
        }
        let chunker = chunker.unwrap_or_default();
        let ((kind, parent, note), hold) = self.plan_and_hold(job, task_name, requested)?;
        let parent_manifest = match &parent {
            Some(p) => {
                let Some(first) = repos.first() else {
                    return Err(CoreError::Invalid(format!(
                        "task {task_name} has no destinations; add one with 'strata task add'"
                    )));
                };
                Some(first.read_manifest(&p.id, &p.manifest_hash).map_err(|e| {
                    CoreError::Failed(format!(
                        "cannot take a {kind} backup of task {task_name}: its parent {} is unreadable ({e}); run 'strata backup run {task_name} --full' to start a new chain",
                        p.id
                    ))
                })?)
            }
            None => None,
        };
        if let Some(m) = &parent_manifest {
            self.drop_chainless(&mut repos, &mut missing, m, task_name)?;
            if repos.len() < required {
                return Err(too_few_copies(&task, required, &missing));
            }
        }
        // Every backup whose packs the new manifest may reference must stay
        // until this one has committed; the commit re-checks them all.
        let requires: Vec<String> = match (&hold, &parent_manifest, &parent) {
            (Some(g), Some(m), Some(p)) => {
                let owners: BTreeSet<String> = m.packs.iter().map(|r| r.backup.clone()).collect();
                self.jobs
                    .holds
                    .extend(g, owners, |ids| self.require_recorded(ids))
                    .map_err(|e| match e {
                        CoreError::NotFound { name, .. } => CoreError::Failed(format!(
                            "cannot take a {kind} backup of task {task_name}: its parent {} uses data of backup {name}, which is no longer in the catalog; run 'strata backup run {task_name} --full' to start a new chain",
                            p.id
                        )),
                        other => other,
                    })?;
                self.jobs.holds.held_by(g).into_iter().collect()
            }
            _ => Vec::new(),
        };
        let started = Utc::now();
        // The run is recorded before any data is written, so a crash at any
        // later point leaves a record that recovery can clean up after.
        let fresh = RunRecord {
            id: queued.as_ref().map_or(0, |q| q.id),
            task: task_name.to_string(),
            purpose: crate::model::RunPurpose::Backup,
            requested,
            kind,
            backup_id: first_backup_id(started),
            destinations: task.destinations.clone(),
            status: RunStatus::Running,
            started,
            finished: None,
            message: note.clone(),
        };
        let mut run = match queued {
            Some(_) => {
                self.catalog.update_run(&fresh)?;
                fresh
            }
            None => self.catalog.insert_run(fresh)?,
        };
        stop::point("after-run-record");
        let claim = match self.claim_id(&mut run, &repos) {
            Ok(c) => c,
            Err(e) => {
                self.fail_run(run, format!("{e}; the backup was not taken"));
                return Err(e);
            }
        };
        stop::point("after-claim");
        let release_all = || {
            for r in &repos {
                if let Err(e) = r.release(&claim) {
                    tracing::warn!(backup = %claim.backup, destination = %r.name(), "could not remove the run's data: {e}");
                }
            }
        };
        let hook_env = |status: &str| {
            vec![
                ("STRATA_TASK", task.name.clone()),
                ("STRATA_KIND", kind.as_str().to_string()),
                ("STRATA_BACKUP_ID", run.backup_id.clone()),
                ("STRATA_STATUS", status.to_string()),
            ]
        };
        let timeout = std::time::Duration::from_secs(
            task.hooks
                .timeout_secs
                .unwrap_or(super::hooks::DEFAULT_TIMEOUT),
        );
        if let Some(cmd) = &task.hooks.before
            && let Err(f) = super::hooks::run("before", cmd, &hook_env("starting"), timeout)
        {
            release_all();
            self.fail_run(run, format!("{}; the backup was not taken", f.message));
            return Err(CoreError::Failed(format!(
                "task {task_name}: {}; the backup was not taken",
                f.message
            )));
        }
        let plan = BackupPlan {
            backup_id: run.backup_id.clone(),
            claim: &claim,
            task: &task.name,
            kind,
            parent: parent.as_ref().zip(parent_manifest.as_ref()),
            started,
            repos: &repos,
            // The same number of complete copies as the policy asks for: the
            // unreachable destinations give none.
            required: required.min(repos.len()).max(1),
            chunker,
            compression_level: task.compression_level,
            threads: threads(),
        };
        // A snapshot source's snapshot is settled by the core once the run ends.
        let tag = crate::source::snapshot::tag_for(&task.name, &run.backup_id);
        let snapshot = crate::source::snapshot_spec(&task.source)
            .map(|s| crate::source::snapshot::SnapshotSource::new(s, &tag));
        let generic;
        let source: &dyn crate::source::Source = match &snapshot {
            Some(s) => s,
            None => {
                generic = crate::source::open(&task.source, &tag);
                generic.as_ref()
            }
        };
        let settle = |committed: bool| match &snapshot {
            Some(s) if s.began() => self.settle_snapshots(&task, &tag, committed),
            _ => Vec::new(),
        };
        let outcome = backup::run(&plan, source, progress, |stats| Described {
            record: super::planning::record_of(&plan, &task, manual, stats),
            task: task.clone(),
        })
        .map(|done| {
            // A copy that failed while it was written is recorded with its error.
            for c in done.copies.iter().filter(|c| c.error.is_some()) {
                missing.push(BackupCopy::lacking(
                    &c.destination,
                    CopyState::Failed,
                    c.error.clone().unwrap_or_default(),
                ));
            }
            done.marker.backup
        });
        let after_note = task.hooks.after.as_ref().and_then(|cmd| {
            let status = match &outcome {
                Ok(r) => r.status.as_str(),
                Err(_) => "failed",
            };
            super::hooks::run("after", cmd, &hook_env(status), timeout)
                .err()
                .map(|f| f.message)
        });
        let note = match (note, after_note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        match outcome {
            Ok(mut record) => {
                record.destinations = task.destinations.clone();
                record.copies = copies_of(&task, &missing);
                let lacking = lacking_notes(&record.copies);
                let mut done = run.clone();
                done.status = match record.status {
                    BackupStatus::Partial => RunStatus::Partial,
                    BackupStatus::Complete if !lacking.is_empty() => RunStatus::Degraded,
                    BackupStatus::Complete => RunStatus::Complete,
                };
                let note = match (note, lacking.is_empty()) {
                    (n, true) => n,
                    (None, false) => Some(lacking.join("; ")),
                    (Some(n), false) => Some(format!("{n}; {}", lacking.join("; "))),
                };
                done.finished = Some(record.finished);
                if note.is_some() {
                    done.message = note.clone();
                }
                if let Err(e) = self.catalog.commit_backup(&record, &done, &requires) {
                    // Not recorded, so not a backup: its data (and only its
                    // own, by the claim) goes again.
                    release_all();
                    let e = CoreError::from(e);
                    let w = settle(false);
                    let m = with_warnings(Some(format!("{e}; its data was removed")), &w);
                    self.fail_run(run, m.unwrap_or_default());
                    return Err(e);
                }
                drop(hold);
                let warnings = settle(true);
                if !warnings.is_empty() {
                    done.message = with_warnings(done.message, &warnings);
                    if let Err(e) = self.catalog.update_run(&done) {
                        tracing::warn!(run = done.id, "could not record the run's warnings: {e}");
                    }
                }
                Ok(RunOutcome {
                    backup: record,
                    run: done,
                    note,
                    warnings,
                })
            }
            Err(e) => {
                let mut run = run;
                run.status = if matches!(e, EngineError::Cancelled) {
                    RunStatus::Interrupted
                } else {
                    RunStatus::Failed
                };
                run.finished = Some(Utc::now());
                let w = settle(false);
                run.message = with_warnings(Some(e.to_string()), &w);
                // Nothing was committed: the run names no backup.
                run.backup_id.clear();
                self.catalog.update_run(&run)?;
                match (w.is_empty(), e) {
                    // The caller sees what happened to the local snapshot too.
                    (false, e) if !matches!(e, EngineError::Cancelled) => Err(CoreError::Failed(
                        with_warnings(Some(CoreError::from(e).to_string()), &w).unwrap_or_default(),
                    )),
                    (_, e) => Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
