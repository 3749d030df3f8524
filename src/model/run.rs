//! Runs: every attempt of a task (backup, sync, verify, retention) and how it ended.

use super::BackupKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// State of one run of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished (or the process died; see recovery).
    Running,
    /// Finished and committed a complete backup.
    Complete,
    /// Finished and committed a backup with unreadable entries.
    Partial,
    /// Finished and committed a backup that lacks a copy on some destination
    /// (the task's copy policy was still met).
    Degraded,
    /// Finished without a backup; `error` says why.
    Failed,
    /// The process died mid-run; partial data was removed at the next start.
    Interrupted,
    /// A scheduled run that did not happen (Strata was down, catch_up = skip).
    Missed,
    /// Accepted and waiting for a job slot; no data written yet. Becomes
    /// `running` in place (same run id), or `interrupted` at the next start
    /// if the process died first.
    Queued,
}

impl RunStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Degraded => "degraded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Missed => "missed",
            RunStatus::Queued => "queued",
        }
    }
}

/// What a run did. Catalogs written before purposes existed hold only backup
/// runs, hence the serde default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunPurpose {
    /// Took a backup of the task's sources.
    #[default]
    Backup,
    /// Copied an existing backup to another destination.
    Sync,
    /// Read back the task's backups and checked them.
    Verify,
    /// Applied the task's retention (deleted expired backups).
    Retention,
}

impl RunPurpose {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPurpose::Backup => "backup",
            RunPurpose::Sync => "sync",
            RunPurpose::Verify => "verify",
            RunPurpose::Retention => "retention",
        }
    }
}

/// One execution of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Monotonic id.
    pub id: u64,
    /// Task name.
    pub task: String,
    /// What the run did; catalogs from before purposes hold backup runs only.
    #[serde(default)]
    pub purpose: RunPurpose,
    /// Kind the caller asked for.
    pub requested: BackupKind,
    /// Kind actually taken (a request without a full becomes a full).
    pub kind: BackupKind,
    /// Backup id reserved for this run; its data lives under this id until committed.
    pub backup_id: String,
    /// Destinations the run writes to.
    pub destinations: Vec<String>,
    /// State.
    pub status: RunStatus,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    /// Why it failed, or a note (e.g. "incremental requested; no full yet, took a full").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl RunRecord {
    /// The kind column: the backup kind for backup runs, else the purpose.
    pub fn kind_label(&self) -> &'static str {
        match self.purpose {
            RunPurpose::Backup => self.kind.as_str(),
            p => p.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RunPurpose;
    use crate::model::RunRecord;

    #[test]
    fn old_run_record_without_purpose_loads_as_backup() {
        let old = r#"{"id":3,"task":"t","requested":"full","kind":"full","backup_id":"b1",
            "destinations":["d"],"status":"complete","started":"2026-01-01T00:00:00Z"}"#;
        let r: RunRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.purpose, RunPurpose::Backup);
        assert_eq!(r.kind_label(), "full");
    }
}
