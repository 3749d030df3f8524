//! Running backups and recovering from runs a crash interrupted.

use super::error::CoreError;
use super::holds::{HoldGuard, Holder};
use super::ids::{first_backup_id, new_backup_id};
use super::model::{BackupKind, BackupRecord, BackupStatus, RunRecord, RunStatus, TaskConfig};
use super::service::{Core, open_dest};
use crate::dest::NamedDest;
use crate::engine::backup::{self, BackupPlan};
use crate::engine::progress::Progress;
use crate::engine::repo::{Claim, ClaimOutcome};
use crate::engine::{EngineError, repo, stop};
use chrono::Utc;
use std::collections::BTreeSet;

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The committed backup.
    pub backup: BackupRecord,
    /// The run record.
    pub run: RunRecord,
    /// A note for the operator (e.g. an incremental that became a full).
    pub note: Option<String>,
}

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
    pub(crate) fn task_dests(&self, task: &TaskConfig) -> Result<Vec<NamedDest>, CoreError> {
        task.destinations
            .iter()
            .map(|n| Ok((n.clone(), self.open_repo(&self.destination(n)?)?.0)))
            .collect()
    }

    /// Picks the effective kind and parent for a request, per the chain rules:
    /// a full depends on nothing, an incremental on the newest backup of the newest
    /// chain, a differential on that chain's full.
    pub fn plan_kind(
        &self,
        task: &str,
        requested: BackupKind,
    ) -> Result<(BackupKind, Option<BackupRecord>, Option<String>), CoreError> {
        let backups: Vec<BackupRecord> = self
            .catalog
            .list_backups()?
            .into_iter()
            .filter(|b| b.task == task)
            .collect();
        let newest_full = backups
            .iter()
            .filter(|b| b.kind == BackupKind::Full)
            .max_by_key(|b| (b.finished, b.id.clone()));
        match (requested, newest_full) {
            (BackupKind::Full, _) => Ok((BackupKind::Full, None, None)),
            (k, None) => Ok((
                BackupKind::Full,
                None,
                Some(format!(
                    "task {task} has no full backup yet, so this {k} backup was taken as a full"
                )),
            )),
            (BackupKind::Differential, Some(full)) => {
                Ok((BackupKind::Differential, Some(full.clone()), None))
            }
            (BackupKind::Incremental, Some(full)) => {
                let newest = backups
                    .iter()
                    .filter(|b| b.chain == full.id)
                    .max_by_key(|b| (b.finished, b.id.clone()))
                    .unwrap_or(full);
                Ok((BackupKind::Incremental, Some(newest.clone()), None))
            }
        }
    }

    /// Runs a backup as a registered job: refused (exit 5) while the task has
    /// another job, queued while the parallel-job limit is reached, listed by
    /// `strata jobs` and cancellable meanwhile.
    pub fn run_backup_job(
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
    pub fn run_backup_job_then(
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
    pub fn run_backup(
        &self,
        task_name: &str,
        requested: BackupKind,
        manual: bool,
        progress: &Progress,
    ) -> Result<RunOutcome, CoreError> {
        self.run_backup_from(None, None, task_name, requested, manual, progress)
    }

    /// Fails with `NotFound` naming the first of `ids` the catalog no longer has.
    fn require_recorded(&self, ids: &BTreeSet<String>) -> Result<(), CoreError> {
        for id in ids {
            if self.catalog.get_backup(id)?.is_none() {
                return Err(CoreError::NotFound {
                    what: "backup",
                    name: id.clone(),
                    hint: "it was deleted while a backup that depends on it was starting".into(),
                });
            }
        }
        Ok(())
    }

    /// `parent` and every backup it depends on by its parent links.
    fn ancestry(&self, parent: &BackupRecord) -> Result<BTreeSet<String>, CoreError> {
        let all = self.catalog.list_backups()?;
        let mut out = BTreeSet::new();
        let mut cur = Some(parent.id.clone());
        while let Some(id) = cur {
            if !out.insert(id.clone()) {
                break;
            }
            cur = all
                .iter()
                .find(|b| b.id == id)
                .and_then(|b| b.parent.clone());
        }
        Ok(out)
    }

    /// Plans the kind and parent and holds the parent's chain, so it cannot be
    /// deleted or expired while this run reads from it. A delete that slips in
    /// between planning and holding makes it plan again.
    fn plan_and_hold(
        &self,
        job: Option<u64>,
        task_name: &str,
        requested: BackupKind,
    ) -> Result<(KindPlan, Option<HoldGuard<'_>>), CoreError> {
        for _ in 0..4 {
            let (kind, parent, note) = self.plan_kind(task_name, requested)?;
            let Some(p) = &parent else {
                return Ok(((kind, parent, note), None));
            };
            let holder = Holder {
                job,
                task: task_name.to_string(),
                kind,
            };
            match self
                .jobs
                .holds
                .hold(holder, self.ancestry(p)?, |ids| self.require_recorded(ids))
            {
                Ok(g) => return Ok(((kind, parent, note), Some(g))),
                Err(CoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::Busy(format!(
            "task {task_name}: its backups kept being deleted while this backup was starting; retry when the deletions are done"
        )))
    }

    /// Claims the run's backup id on every destination before anything else is
    /// written there; while an id is taken (recorded in the catalog, or present
    /// on any destination), the claims made so far are released and a new id is
    /// tried. The run record always names the id being claimed, so recovery
    /// finds a claim a crash left behind.
    fn claim_id(&self, run: &mut RunRecord, dests: &[NamedDest]) -> Result<Claim, CoreError> {
        const ATTEMPTS: usize = 16;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                run.backup_id = new_backup_id(run.started);
                self.catalog.update_run(run)?;
            }
            let claim = claim_of(run);
            if self.catalog.get_backup(&claim.backup)?.is_some() {
                continue;
            }
            let mut claimed: Vec<&NamedDest> = Vec::new();
            let mut taken = None;
            for nd in dests {
                match repo::claim(nd.1.as_ref(), &claim) {
                    Ok(ClaimOutcome::Claimed) => claimed.push(nd),
                    Ok(ClaimOutcome::Taken) => {
                        taken = Some(nd.0.clone());
                        break;
                    }
                    Err(e) => {
                        for (_, d) in &claimed {
                            let _ = repo::release(d.as_ref(), &claim);
                        }
                        return Err(e.into());
                    }
                }
            }
            let Some(on) = taken else {
                return Ok(claim);
            };
            tracing::info!(backup = %claim.backup, destination = %on, "backup id taken, trying another");
            for (_, d) in &claimed {
                let _ = repo::release(d.as_ref(), &claim);
            }
        }
        Err(CoreError::Failed(format!(
            "task {}: no free backup id after {ATTEMPTS} tries (each was taken on a destination); check that the destinations' backups/ directories hold only backup directories, then retry",
            run.task
        )))
    }

    /// Marks `run` failed with `message`; the caller returns its own error.
    fn fail_run(&self, mut run: RunRecord, message: String) {
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
        let dests = self.task_dests(&task)?;
        let mut chunker = None;
        for (name, d) in &dests {
            let cfg = repo::open(d.as_ref())?;
            match chunker {
                None => chunker = Some(cfg.chunker),
                Some(c) if c != cfg.chunker => {
                    return Err(CoreError::Invalid(format!(
                        "destination {name} uses different chunker settings from {}; a task's destinations must agree",
                        dests[0].0
                    )));
                }
                Some(_) => {}
            }
        }
        let chunker = chunker.unwrap_or_default();
        let ((kind, parent, note), hold) = self.plan_and_hold(job, task_name, requested)?;
        let parent_manifest = match &parent {
            Some(p) => {
                let (_, d) = &dests[0];
                Some(repo::read_manifest(d.as_ref(), &p.id, &p.manifest_hash).map_err(|e| {
                    CoreError::Failed(format!(
                        "cannot take a {kind} backup of task {task_name}: its parent {} is unreadable ({e}); run 'strata backup run {task_name} --full' to start a new chain",
                        p.id
                    ))
                })?)
            }
            None => None,
        };
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
        let claim = match self.claim_id(&mut run, &dests) {
            Ok(c) => c,
            Err(e) => {
                self.fail_run(run, format!("{e}; the backup was not taken"));
                return Err(e);
            }
        };
        stop::point("after-claim");
        let release_all = || {
            for (name, d) in &dests {
                if let Err(e) = repo::release(d.as_ref(), &claim) {
                    tracing::warn!(backup = %claim.backup, destination = %name, "could not remove the run's data: {e}");
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
            task: &task,
            kind,
            parent: parent.as_ref().zip(parent_manifest.as_ref()),
            manual,
            started,
            dests: dests.clone(),
            chunker,
            threads: threads(),
        };
        let outcome = backup::run(&plan, progress);
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
            Ok(record) => {
                let mut done = run.clone();
                done.status = match record.status {
                    BackupStatus::Complete => RunStatus::Complete,
                    BackupStatus::Partial => RunStatus::Partial,
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
                    self.fail_run(run, format!("{e}; its data was removed"));
                    return Err(e);
                }
                drop(hold);
                Ok(RunOutcome {
                    backup: record,
                    run: done,
                    note,
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
                run.message = Some(e.to_string());
                self.catalog.update_run(&run)?;
                Err(e.into())
            }
        }
    }

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

/// The claim marker a run writes for its backup id.
fn claim_of(run: &RunRecord) -> Claim {
    Claim {
        format: repo::REPO_FORMAT,
        backup: run.backup_id.clone(),
        task: run.task.clone(),
        run: run.id,
        started: run.started,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::home::Home;
    use crate::core::model::{DestinationConfig, DestinationKind, SourceConfig};

    fn core_with_task(dir: &std::path::Path) -> Core {
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/f"), "x").unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::write(dir.join("home/strata.toml"), "max_parallel_jobs = 1\n").unwrap();
        let core = Core::open(Home::at(dir.join("home")), "test").unwrap();
        if core.tasks().unwrap().is_empty() {
            core.add_destination(DestinationConfig {
                name: "d".into(),
                kind: DestinationKind::Local {
                    path: dir.join("repo"),
                },
                repo_id: None,
            })
            .unwrap();
            core.add_task(TaskConfig {
                name: "t".into(),
                source: SourceConfig::Dir {
                    path: dir.join("src"),
                    exclude: vec![],
                },
                destinations: vec!["d".into()],
                full: None,
                incremental: None,
                differential: None,
                timezone: None,
                catch_up: Default::default(),
                retention: Default::default(),
                hooks: Default::default(),
                compression_level: 3,
                paused: false,
                created: Utc::now(),
            })
            .unwrap();
        }
        core
    }

    #[test]
    fn a_queued_run_is_recorded_and_a_cancelled_one_becomes_interrupted_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let core = std::sync::Arc::new(core_with_task(dir.path()));
        // Another job holds the only slot, so the backup of t queues.
        let slot = core
            .jobs
            .start("other", BackupKind::Full, true, Default::default())
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let c = core.clone();
        let waiter = std::thread::spawn(move || {
            c.run_backup_job_then(
                "t",
                BackupKind::Full,
                true,
                Default::default(),
                |job, run| {
                    tx.send((job, run.clone())).unwrap();
                },
            )
            .map(|_| ())
        });
        let (job, run) = rx.recv().unwrap();
        let stored = core.catalog.get_run(run.id).unwrap().unwrap();
        assert_eq!(stored.status, RunStatus::Queued);
        core.jobs.cancel(job).unwrap();
        assert!(waiter.join().unwrap().is_err());
        let done = core.catalog.get_run(run.id).unwrap().unwrap();
        assert_eq!(done.status, RunStatus::Interrupted, "{done:?}");
        assert_eq!(
            core.catalog.list_runs().unwrap().len(),
            1,
            "updated in place"
        );
        drop(slot);
    }

    #[test]
    fn recovery_marks_a_queued_run_interrupted_and_audits_it() {
        let dir = tempfile::tempdir().unwrap();
        let core = core_with_task(dir.path());
        // What a process killed while its job waited leaves behind.
        let run = core
            .catalog
            .insert_run(RunRecord {
                id: 0,
                task: "t".into(),
                requested: BackupKind::Full,
                kind: BackupKind::Full,
                backup_id: String::new(),
                destinations: vec!["d".into()],
                status: RunStatus::Queued,
                started: Utc::now(),
                finished: None,
                message: None,
            })
            .unwrap();
        drop(core);
        let core = core_with_task(dir.path());
        assert_eq!(
            core.recovered.never_started,
            vec![(run.id, "t".to_string())]
        );
        let after = core.catalog.get_run(run.id).unwrap().unwrap();
        assert_eq!(after.status, RunStatus::Interrupted);
        assert!(after.finished.is_some());
        let audit = core.audit_log(None).unwrap();
        assert!(
            audit.iter().any(|a| a.origin == "recovery"
                && a.target == "t"
                && a.outcome.starts_with("interrupted")),
            "{audit:?}"
        );
        // The task still runs normally afterwards, with a new run.
        let o = core
            .run_backup_job("t", BackupKind::Full, true, Default::default())
            .unwrap();
        assert_eq!(o.run.status, RunStatus::Complete);
        assert_ne!(o.run.id, run.id);
    }
}
