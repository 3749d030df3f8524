//! The scheduler loop of `strata serve`: fires due backups, records missed
//! ones, applies retention after each scheduled backup, and persists how far
//! the schedule was handled. The pure decisions live in `scheduler.rs`.

use super::clock::{Clock, SystemClock};
use super::home::Home;
use super::scheduler::{Scheduler, host_tz};
use super::service::Core;
use crate::model::{RunRecord, RunStatus, TaskConfig};
use crate::progress::Progress;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn state_path(home: &Home) -> PathBuf {
    home.root().join("scheduler-state.json")
}

fn load_state(path: &Path) -> HashMap<String, DateTime<Utc>> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(path: &Path, state: &HashMap<String, DateTime<Utc>>) {
    let tmp = path.with_extension("json.tmp");
    let ok = serde_json::to_vec_pretty(state)
        .ok()
        .and_then(|b| crate::core::private::write(&tmp, &b).ok())
        .and_then(|_| std::fs::rename(&tmp, path).ok());
    if ok.is_none() {
        tracing::warn!("could not save scheduler state to {}", path.display());
    }
}

impl Core {
    /// Marks this core as the daemon's: detached jobs may outlive their request.
    pub fn start_serving(&self) {
        self.serving.store(true, Ordering::Relaxed);
    }

    /// Fires due backups, records missed ones, applies retention after each
    /// scheduled backup, and persists how far the schedule was handled.
    pub fn run_scheduler(self: &Arc<Self>, stop: &AtomicBool) {
        let core = self;
        let home = &self.home;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut sched = Scheduler::new(clock.clone());
        let host = host_tz();
        let path = state_path(home);
        let saved = load_state(&path);
        let mut known: HashMap<String, TaskConfig> = HashMap::new();
        let retrying = Arc::new(AtomicBool::new(false));
        let mut last_retry: Option<std::time::Instant> = None;
        let mut alerts = super::notify::Alerts::default();
        let mut last_alert_look: Option<std::time::Instant> = None;
        let mut verifies = super::verify_schedule::VerifyTimer::default();
        while !stop.load(Ordering::Relaxed) {
            match core.tasks() {
                Ok(tasks) => {
                    for t in &tasks {
                        if known.get(&t.name) == Some(t) {
                            continue;
                        }
                        let first = !known.contains_key(&t.name);
                        match sched.upsert(t, host) {
                            Ok(()) => {
                                if first && let Some(ts) = saved.get(&t.name) {
                                    sched.restore_state(&t.name, *ts);
                                }
                            }
                            Err(e) => tracing::error!(task = %t.name, "schedule not usable: {e}"),
                        }
                        known.insert(t.name.clone(), t.clone());
                    }
                    let gone: Vec<String> = known
                        .keys()
                        .filter(|n| !tasks.iter().any(|t| &t.name == *n))
                        .cloned()
                        .collect();
                    for n in gone {
                        sched.remove(&n);
                        known.remove(&n);
                    }
                }
                Err(e) => tracing::error!("cannot read tasks: {e}"),
            }
            if let Ok(tasks) = core.tasks() {
                for v in verifies.due(&tasks, host, clock.now()) {
                    spawn_verify(core, v);
                }
            }
            let due = sched.due(clock.now());
            for m in sched.take_skipped() {
                record_missed(core, &m.task, m.kind, m.scheduled_for);
            }
            for d in due {
                if core.jobs.is_busy(&d.task) {
                    tracing::warn!(task = %d.task, "previous backup still running; this scheduled run is skipped");
                    record_missed(core, &d.task, d.kind, d.scheduled_for);
                    continue;
                }
                let core = core.clone();
                std::thread::spawn(move || {
                    tracing::info!(task = %d.task, kind = %d.kind, due = %d.scheduled_for, catch_up = d.missed, "scheduled backup");
                    match core.run_backup_job(&d.task, d.kind, false, Arc::new(Progress::default()))
                    {
                        Ok(o) => {
                            tracing::info!(task = %d.task, backup = %o.backup.id, status = o.run.status.as_str(), "backup committed");
                            if o.run.status != RunStatus::Complete {
                                core.audit_system(
                                    "backup run",
                                    &d.task,
                                    &format!(
                                        "{} as backup {}{}",
                                        o.run.status.as_str(),
                                        o.backup.id,
                                        o.run
                                            .message
                                            .as_deref()
                                            .map(|m| format!(": {m}"))
                                            .unwrap_or_default()
                                    ),
                                );
                            }
                            // Retention runs after each scheduled backup of the task.
                            match core.prune(Some(&d.task), false) {
                                Ok(r) if r.expired > 0 => {
                                    tracing::info!(task = %d.task, expired = r.expired, freed = r.freed_bytes, "retention")
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::error!(task = %d.task, "retention failed: {e}");
                                    core.audit_system("prune", &d.task, &format!("failed: {e}"));
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(task = %d.task, "scheduled backup failed: {e}");
                            core.audit_system("backup run", &d.task, &format!("failed: {e}"));
                        }
                    }
                });
            }
            // Copies a destination lacks are filled in by themselves, one
            // pass at a time, off this loop.
            if last_retry.is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                && !retrying.swap(true, Ordering::SeqCst)
            {
                last_retry = Some(std::time::Instant::now());
                let (core, flag) = (core.clone(), retrying.clone());
                std::thread::spawn(move || {
                    if let Err(e) = core.apply_pending_deletions() {
                        tracing::error!("cannot apply queued deletions: {e}");
                    }
                    if let Err(e) = core.retry_copies() {
                        tracing::error!("cannot look at copies to retry: {e}");
                    }
                    flag.store(false, Ordering::SeqCst);
                });
            }
            // Every few seconds: each look reads every task's row.
            if last_alert_look.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                last_alert_look = Some(std::time::Instant::now());
                core.send_alerts(&mut alerts);
            }
            save_state(&path, &sched.states().into_iter().collect());
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Runs a due verification off the loop; one already running for the task
/// makes this one wait for the next due time (nothing is caught up).
fn spawn_verify(core: &Arc<Core>, v: super::verify_schedule::DueVerify) {
    if core
        .jobs
        .is_doing(&v.task, crate::model::RunPurpose::Verify)
    {
        tracing::warn!(task = %v.task, "previous verification still running; this one is skipped");
        return;
    }
    let core = core.clone();
    std::thread::spawn(move || {
        tracing::info!(task = %v.task, sample = v.sample, "scheduled verification");
        match core.run_verify_job(&v.task, v.sample, Arc::new(Progress::default())) {
            Ok(reports) => {
                let bad: Vec<&str> = reports
                    .iter()
                    .filter(|r| !r.ok())
                    .map(|r| r.backup.as_str())
                    .collect();
                if !bad.is_empty() {
                    tracing::error!(task = %v.task, damaged = ?bad, "scheduled verification found problems");
                    core.audit_system(
                        "verify",
                        &v.task,
                        &format!("failed: problems in backup(s) {}", bad.join(", ")),
                    );
                }
            }
            Err(e) => {
                tracing::error!(task = %v.task, "scheduled verification failed: {e}");
                core.audit_system("verify", &v.task, &format!("failed: {e}"));
            }
        }
    });
}

fn record_missed(core: &Core, task: &str, kind: crate::model::BackupKind, at: DateTime<Utc>) {
    let run = RunRecord {
        id: 0,
        task: task.to_string(),
        purpose: crate::model::RunPurpose::Backup,
        requested: kind,
        kind,
        backup_id: String::new(),
        destinations: Vec::new(),
        status: RunStatus::Missed,
        started: at,
        finished: Some(Utc::now()),
        message: Some(format!(
            "the {kind} backup due at {at} did not run (Strata was not running, or the previous run was still busy)"
        )),
    };
    if let Err(e) = core.catalog().insert_run(run) {
        tracing::error!(task, "cannot record a missed run: {e}");
    }
}

impl Core {
    /// Audits what the scheduler did on its own (no caller asked for it):
    /// who is `scheduler`, from `schedule`.
    pub(super) fn audit_system(&self, action: &str, target: &str, outcome: &str) {
        self.record_unknown_access("scheduler", None, "schedule", action, target, outcome);
    }
}
