//! Read models front ends render: plain data computed by the core, so the
//! CLI, the TUI and SSH sessions all show the same truth.

use super::error::CoreError;
use super::scheduler::{TaskSchedule, host_tz};
use super::service::Core;
use crate::model::{BackupKind, RunStatus, TaskConfig};
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
}

impl Core {
    /// Every task with its status, sizes and next backup.
    pub fn task_rows(&self) -> Result<Vec<TaskRow>, CoreError> {
        let now = Utc::now();
        let backups = self.catalog.list_backups()?;
        let runs = self.catalog.list_runs()?;
        let host = host_tz();
        let mut rows = Vec::new();
        for task in self.catalog.list_tasks()? {
            let mine: Vec<_> = backups.iter().filter(|b| b.task == task.name).collect();
            let last_run = runs.iter().rev().find(|r| r.task == task.name);
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
                match last_run.map(|r| r.status) {
                    Some(RunStatus::Failed) => TaskStatus::Failed,
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
                last_result: last_run.map(|r| match &r.message {
                    Some(m) => format!("{}: {m}", r.status.as_str()),
                    None => r.status.as_str().to_string(),
                }),
                schedule_error,
                last_success,
                alert_after_secs: alert_after.map(|d| d.num_seconds()),
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

/// A destination and whether its repository can be used right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationRow {
    /// The definition.
    #[serde(flatten)]
    pub config: crate::model::DestinationConfig,
    /// Whether `problem` was checked (`false` when only the definition is known).
    pub checked: bool,
    /// Why the repository cannot be used (missing, another repository, I/O),
    /// `None` when it opened.
    pub problem: Option<String>,
}

impl Core {
    /// Every destination with the result of opening its repository (the same
    /// check a backup makes first), so a front end can show what is unreachable.
    pub fn destination_rows(&self) -> Result<Vec<DestinationRow>, CoreError> {
        Ok(self
            .destinations()?
            .into_iter()
            .map(|config| DestinationRow {
                problem: self.open_repo(&config).err().map(|e| e.to_string()),
                checked: true,
                config,
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
