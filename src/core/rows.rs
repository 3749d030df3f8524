//! Read models front ends render: plain data computed by the core, so the
//! CLI, the TUI and SSH sessions all show the same truth.

use super::error::CoreError;
use super::health::{CHECK_TIMEOUT, Seen};
use super::scheduler::{TaskSchedule, host_tz};
use super::service::Core;
use crate::model::{BackupKind, CopyState, RunPurpose, RunStatus, TaskConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Status of a task at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Scheduled (or manual) and healthy.
    Active,
    /// Paused: the scheduler leaves it alone.
    Paused,
    /// A backup job is queued or running.
    Running,
    /// The last run failed.
    Failed,
    /// The last scheduled run did not happen.
    Missed,
    /// The newest backup lacks a copy on some destination.
    Degraded,
    /// The newest complete backup is older than the task's `alert_after`.
    Stale,
}

/// One task as the console shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRow {
    /// The definition.
    #[serde(flatten)]
    pub task: TaskConfig,
    /// At-a-glance status.
    pub status: TaskStatus,
    /// Number of backups.
    pub backups: usize,
    /// Sum of stored bytes of its backups.
    pub stored_bytes: u64,
    /// Newest full backup.
    pub last_full: Option<DateTime<Utc>>,
    /// Newest incremental or differential backup.
    pub last_incremental: Option<DateTime<Utc>>,
    /// Newest backup id.
    pub last_backup: Option<String>,
    /// Next scheduled backup (time, kind), if scheduled and not paused.
    pub next: Option<(DateTime<Utc>, BackupKind)>,
    /// Status and message of the last run.
    pub last_result: Option<String>,
    /// Why the schedule cannot be used, if so.
    pub schedule_error: Option<String>,
    /// When the newest complete backup finished: "when did this last succeed?".
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
    /// Seconds after which a task without a newer complete backup is stale
    /// (its `alert_after`, or twice its shortest schedule interval; none for
    /// a manual-only task).
    #[serde(default)]
    pub alert_after_secs: Option<i64>,
    /// Next scheduled verification, if the task has a `verify` schedule and is not paused.
    #[serde(default)]
    pub next_verify: Option<DateTime<Utc>>,
}

impl Core {
    /// Every task with its status, sizes and next backup.
    pub fn task_rows(&self) -> Result<Vec<TaskRow>, CoreError> {
        self.task_rows_of(&self.catalog.list_backups()?, &self.catalog.list_runs()?)
    }

    /// [`Core::task_rows`] from backups and runs already read.
    pub(super) fn task_rows_of(
        &self,
        backups: &[crate::model::BackupRecord],
        runs: &[crate::model::RunRecord],
    ) -> Result<Vec<TaskRow>, CoreError> {
        let now = Utc::now();
        let host = host_tz();
        let mut rows = Vec::new();
        for task in self.catalog.list_tasks()? {
            let mine: Vec<_> = backups.iter().filter(|b| b.task == task.name).collect();
            let last_run = runs.iter().rev().find(|r| r.task == task.name);
            let latest = |p: RunPurpose| {
                runs.iter()
                    .rev()
                    .find(|r| r.task == task.name && r.purpose == p)
            };
            // The newest attempt of each kind of work decides: a failed verify
            // stays red after later backups (the damage is still there) until
            // a verify passes; a failed sync shows as a missing copy instead.
            let failing = [
                RunPurpose::Backup,
                RunPurpose::Verify,
                RunPurpose::Retention,
            ]
            .into_iter()
            .filter_map(latest)
            .filter(|r| r.status == RunStatus::Failed)
            .max_by_key(|r| r.id);
            let schedule = TaskSchedule::from_task(&task, host);
            let (next, schedule_error) = match &schedule {
                Ok(s) if !task.paused => (s.next_after(now), None),
                Ok(_) => (None, None),
                Err(e) => (None, Some(e.clone())),
            };
            let alert_after = match &task.alert_after {
                Some(d) => super::schedule::parse_duration(d).ok(),
                // Twice the spacing of its next two fire times.
                None => schedule.as_ref().ok().and_then(|s| {
                    let (a, _) = s.next_after(now)?;
                    let (b, _) = s.next_after(a)?;
                    Some((b - a) * 2)
                }),
            };
            let last_success = mine
                .iter()
                .filter(|b| {
                    b.status == crate::model::BackupStatus::Complete && b.copy_count().0 > 0
                })
                .map(|b| b.finished)
                .max();
            // A task never backed up counts from its creation.
            let stale =
                alert_after.is_some_and(|limit| now - last_success.unwrap_or(task.created) > limit);
            let newest = mine.iter().max_by_key(|b| (b.finished, b.id.clone()));
            let degraded = newest.is_some_and(|b| {
                let (done, all) = b.copy_count();
                done < all
            });
            let status = if self.jobs.is_busy(&task.name) {
                TaskStatus::Running
            } else if task.paused {
                TaskStatus::Paused
            } else {
                match latest(RunPurpose::Backup).map(|r| r.status) {
                    _ if failing.is_some() => TaskStatus::Failed,
                    Some(RunStatus::Missed) => TaskStatus::Missed,
                    _ if stale => TaskStatus::Stale,
                    _ if degraded => TaskStatus::Degraded,
                    _ => TaskStatus::Active,
                }
            };
            rows.push(TaskRow {
                status,
                backups: mine.len(),
                stored_bytes: mine.iter().map(|b| b.stored_bytes).sum(),
                last_full: mine
                    .iter()
                    .filter(|b| b.kind == BackupKind::Full)
                    .map(|b| b.finished)
                    .max(),
                last_incremental: mine
                    .iter()
                    .filter(|b| b.kind != BackupKind::Full)
                    .map(|b| b.finished)
                    .max(),
                last_backup: mine
                    .iter()
                    .max_by_key(|b| (b.finished, b.id.clone()))
                    .map(|b| b.id.clone()),
                next,
                last_result: failing.or(last_run).map(|r| match &r.message {
                    Some(m) => format!("{}: {m}", r.status.as_str()),
                    None => r.status.as_str().to_string(),
                }),
                schedule_error,
                last_success,
                alert_after_secs: alert_after.map(|d| d.num_seconds()),
                next_verify: (!task.paused)
                    .then(|| super::verify_schedule::next_verify(&task, host, now))
                    .flatten(),
                task,
            });
        }
        Ok(rows)
    }

    /// Runs of a task (or all), newest first, at most `limit`.
    pub fn runs(
        &self,
        task: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::model::RunRecord>, CoreError> {
        let mut runs = self.catalog.list_runs()?;
        runs.retain(|r| task.is_none_or(|t| r.task == t));
        runs.reverse();
        runs.truncate(limit);
        Ok(runs)
    }

    /// Pauses or resumes a task (the scheduler skips paused tasks).
    pub(crate) fn set_paused(&self, name: &str, paused: bool) -> Result<TaskConfig, CoreError> {
        let mut t = self.task(name)?;
        t.paused = paused;
        self.catalog.put_task(&t)?;
        Ok(t)
    }
}

/// A destination's state as its newest check found it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not checked (the caller asked for definitions only, or an older daemon).
    #[default]
    Unchecked,
    /// The first check has not answered yet.
    Checking,
    /// The repository opened and is the one this catalog uses.
    Ok,
    /// It cannot be used: `problem` says why.
    Unreachable,
    /// The check in flight has not answered within its timeout.
    TimedOut,
    /// Encrypted, and its passphrase is not available here: copies wait.
    Locked,
}

impl HealthState {
    /// Lower-case words, as tables show them.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unchecked => "not checked",
            HealthState::Checking => "checking…",
            HealthState::Ok => "ok",
            HealthState::Unreachable => "unreachable",
            HealthState::TimedOut => "timed out",
            HealthState::Locked => "locked",
        }
    }
}

/// A destination, whether its repository can be used right now, and what the
/// catalog records there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationRow {
    /// The definition.
    #[serde(flatten)]
    pub config: crate::model::DestinationConfig,
    /// Whether `problem` was checked (`false` when only the definition is known).
    pub checked: bool,
    /// Why the repository cannot be used (missing, another repository, I/O,
    /// no answer in time), `None` when it opened.
    pub problem: Option<String>,
    /// The check's verdict (`unchecked` from daemons that predate it).
    #[serde(default)]
    pub state: HealthState,
    /// When the newest finished check ran.
    #[serde(default)]
    pub checked_at: Option<DateTime<Utc>>,
    /// Free bytes, when the destination can tell and was reached.
    #[serde(default)]
    pub free_bytes: Option<u64>,
    /// Milliseconds the newest finished check took.
    #[serde(default)]
    pub check_ms: Option<u64>,
    /// Sum of stored bytes of the backups with a complete copy there.
    #[serde(default)]
    pub stored_bytes: u64,
    /// Backups with a complete copy there.
    #[serde(default)]
    pub backups: usize,
    /// Newest finish time of a backup with a complete copy there.
    #[serde(default)]
    pub last_write: Option<DateTime<Utc>>,
    /// Backups whose copy there is missing or failed (for `backup sync`).
    #[serde(default)]
    pub pending: usize,
    /// Copies of deleted backups still to be removed there (it was away
    /// when they were deleted); applied when it is back.
    #[serde(default)]
    pub deletions_pending: usize,
}

/// How much checking a caller of [`Core::destination_rows`] wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestCheck {
    /// Definitions and catalog figures only.
    Skip,
    /// The cached results (refreshed in the background): never waits.
    Cached,
    /// Fresh checks, waiting at most the check timeout.
    Wait,
}

impl DestinationRow {
    /// The row from the catalog alone, not checked.
    pub fn unchecked(
        config: crate::model::DestinationConfig,
        backups: &[crate::model::BackupRecord],
    ) -> DestinationRow {
        let mut row = DestinationRow {
            checked: false,
            problem: None,
            state: HealthState::Unchecked,
            checked_at: None,
            free_bytes: None,
            check_ms: None,
            stored_bytes: 0,
            backups: 0,
            last_write: None,
            pending: 0,
            deletions_pending: 0,
            config,
        };
        for b in backups {
            for c in b.copies() {
                if c.destination != row.config.name {
                    continue;
                }
                match c.state {
                    CopyState::Complete => {
                        row.backups += 1;
                        row.stored_bytes = row.stored_bytes.saturating_add(b.stored_bytes);
                        row.last_write = row.last_write.max(Some(b.finished));
                    }
                    CopyState::Missing | CopyState::Failed => row.pending += 1,
                }
            }
        }
        row
    }

    /// `problem` without its leading `destination NAME (WHERE) `, for tables
    /// whose other columns already name it, so a cut cell keeps the reason.
    pub fn reason(&self) -> Option<&str> {
        let p = self.problem.as_deref()?;
        let prefix = format!(
            "destination {} ({}) ",
            self.config.name,
            crate::dest::describe(&self.config.kind)
        );
        Some(p.strip_prefix(prefix.as_str()).unwrap_or(p))
    }

    fn with(mut self, seen: Seen) -> DestinationRow {
        self.state = seen.state;
        if let Some(p) = seen.last {
            self.checked_at = Some(p.at);
            self.check_ms = Some(p.took_ms);
            self.free_bytes = p.free_bytes;
            self.problem = p.problem;
            self.checked = true;
        }
        if seen.state == HealthState::TimedOut {
            self.checked = true;
            self.problem = Some(format!(
                "no answer within {} s (the check goes on)",
                CHECK_TIMEOUT.as_secs()
            ));
        }
        self
    }
}

impl Core {
    /// Every destination with its health (as `check` asks) and what the
    /// catalog holds there, so a front end can show what is unreachable, how
    /// full it is and what waits for `backup sync`.
    pub fn destination_rows(&self, check: DestCheck) -> Result<Vec<DestinationRow>, CoreError> {
        self.destination_rows_of(check, &self.catalog.list_backups()?)
    }

    /// [`Core::destination_rows`] from backups already read.
    pub(super) fn destination_rows_of(
        &self,
        check: DestCheck,
        backups: &[crate::model::BackupRecord],
    ) -> Result<Vec<DestinationRow>, CoreError> {
        let configs = self.destinations()?;
        let deletions = self.catalog.pending_deletions()?;
        let seen = match check {
            DestCheck::Skip => Vec::new(),
            DestCheck::Cached => self.health.peek(&configs),
            DestCheck::Wait => self.health.check(&configs, CHECK_TIMEOUT),
        };
        let mut seen = seen.into_iter();
        Ok(configs
            .into_iter()
            .map(|config| {
                let mut row = DestinationRow::unchecked(config, backups);
                row.deletions_pending = deletions
                    .iter()
                    .filter(|d| d.destination == row.config.name)
                    .count();
                match seen.next() {
                    Some(s) => row.with(s),
                    None => row,
                }
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
