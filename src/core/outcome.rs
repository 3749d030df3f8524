//! What an [`Action`](super::action::Action) produced, as typed data. Front
//! ends render it: tables and JSON in the CLI, notices and dialogs in the
//! console. Nothing here is text meant to be parsed again.

use super::backups::{BackupRow, RebuildReport};
use super::declarative::ApplyPlan;
use super::declarative::Config;
use super::jobs::RunOutcome;
use super::prune::PruneReport;
use super::registry::JobView;
use super::rows::{DestinationRow, TaskRow};
use super::snapshot_rows::LocalSnapshotRow;
pub use crate::engine::restore::RestoreReport;
pub use crate::engine::verify::VerifyReport;
use crate::model::{AuditEntry, BackupRecord, DestinationConfig, RunRecord, TaskConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything the console shows, taken at one moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Overview {
    /// Tasks with status and next backup.
    pub tasks: Vec<TaskRow>,
    /// Backups with sizes, oldest first.
    pub backups: Vec<BackupRow>,
    /// Running and queued jobs.
    pub jobs: Vec<JobView>,
    /// Recent runs, newest first.
    pub runs: Vec<RunRecord>,
    /// Audit log, oldest first.
    pub audit: Vec<AuditEntry>,
    /// When it was taken.
    pub taken: Option<DateTime<Utc>>,
    /// Destinations and whether their repositories open.
    pub destinations: Vec<DestinationRow>,
    /// Where the restore dialog proposes new directories: the first
    /// `restore_roots` entry of strata.toml (a front end may fill in its own
    /// working directory when there is none).
    pub restore_base: Option<PathBuf>,
    /// Whether operators may restore files here: strata.toml has
    /// `restore_roots` (the dialog says so before a target is chosen).
    #[serde(default)]
    pub restore_roots_set: bool,
    /// Whether operators may restore databases by name: strata.toml has
    /// `restore_databases`.
    #[serde(default)]
    pub restore_databases_set: bool,
    /// The local snapshots of snapshot tasks (for the task detail view).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<LocalSnapshotRow>,
}

/// An authorized SSH key as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    /// Name in the audit log.
    pub name: String,
    /// Role it connects with.
    pub role: String,
    /// Key type, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Comment of the key line.
    pub comment: String,
}

/// The result of one action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "data", rename_all = "snake_case")]
pub enum Outcome {
    /// The console's state.
    Overview(Box<Overview>),
    /// Running and queued jobs.
    Jobs(Vec<JobView>),
    /// A job was asked to stop.
    Cancelled {
        /// Job id.
        job: u64,
        /// Its task.
        task: String,
    },
    /// Runs, newest first.
    Runs(Vec<RunRecord>),
    /// Audit entries, oldest first.
    Audit(Vec<AuditEntry>),
    /// Destination definitions.
    Destinations(Vec<DestinationConfig>),
    /// Destinations with their health and catalog figures (`dest list`; its
    /// JSON is each definition's fields plus the row's).
    DestinationRows(Vec<DestinationRow>),
    /// One destination (shown).
    Destination(Box<DestinationRow>),
    /// A destination was added.
    DestinationAdded(DestinationConfig),
    /// A destination was forgotten.
    DestinationRemoved {
        /// Its name.
        name: String,
    },
    /// Key slots of an encrypted destination.
    DestKeys(Vec<crate::core::dest_keys::KeySlotRow>),
    /// A key slot was added (`dest key add`) or replaced a slot (`dest key passwd`).
    DestKeyAdded(Box<crate::core::dest_keys::KeySlotRow>),
    /// A key slot was removed.
    DestKeyRemoved(Box<crate::core::dest_keys::KeySlotRow>),
    /// Authorized SSH keys.
    Keys(Vec<KeyRow>),
    /// A key was authorized.
    KeyAdded(KeyRow),
    /// A key was removed.
    KeyRemoved(KeyRow),
    /// Tasks as rows.
    Tasks(Vec<TaskRow>),
    /// One task with its recent runs.
    TaskDetail {
        /// The task as a row.
        row: Box<TaskRow>,
        /// Its newest runs.
        runs: Vec<RunRecord>,
    },
    /// A task was added.
    TaskAdded(Box<TaskConfig>),
    /// A task was removed.
    TaskRemoved {
        /// Its name.
        name: String,
        /// Backups left in place.
        backups_kept: usize,
    },
    /// A task was paused or resumed.
    TaskPaused {
        /// The task as it is now.
        task: Box<TaskConfig>,
        /// Paused (`true`) or resumed.
        paused: bool,
    },
    /// A backup ran to its end.
    BackedUp(Box<RunOutcome>),
    /// A backup was started in the daemon and goes on there.
    Started {
        /// Job id.
        job: u64,
        /// Run id.
        run: u64,
        /// Task.
        task: String,
    },
    /// Backups with sizes.
    Backups(Vec<BackupRow>),
    /// One backup.
    Backup(Box<BackupRow>),
    /// Backups deleted, in the order they went.
    Deleted(Vec<BackupRecord>),
    /// A backup was pinned or unpinned.
    Pinned {
        /// The record as it is now.
        backup: Box<BackupRecord>,
        /// Pinned (`true`) or unpinned.
        pinned: bool,
    },
    /// The entries of a backup under a path (`ls`).
    Entries {
        /// The backup.
        backup: Box<BackupRecord>,
        /// The path listed (empty: the root).
        path: String,
        /// Directories first, then by name; every entry below when recursive.
        entries: Vec<crate::model::ListedEntry>,
    },
    /// What differs between two backups (`diff`).
    Changes {
        /// The earlier backup.
        from: Box<BackupRecord>,
        /// The later backup.
        to: Box<BackupRecord>,
        /// In path order.
        changes: Vec<crate::model::EntryChange>,
    },
    /// A restore finished (possibly with entries it could not write).
    Restored {
        /// The backup restored.
        backup: Box<BackupRecord>,
        /// The resolved target directory.
        target: PathBuf,
        /// What was written and what failed.
        report: RestoreReport,
    },
    /// Verification results, one per backup and destination.
    Verified(Vec<VerifyReport>),
    /// What a sync copied.
    Synced(super::sync::SyncReport),
    /// A catalog rebuild.
    Rebuilt {
        /// The destination read.
        from: String,
        /// What it found.
        report: RebuildReport,
    },
    /// An apply (or its dry-run plan).
    Applied(ApplyPlan),
    /// Destinations and tasks as a document, and as TOML text.
    Exported {
        /// The document.
        doc: Box<Config>,
        /// The same as TOML.
        text: String,
    },
    /// A prune (or its dry run).
    Pruned(PruneReport),
    /// Local snapshots of snapshot tasks.
    Snapshots(Vec<LocalSnapshotRow>),
    /// The local snapshots a clear removed.
    SnapshotsCleared(Vec<LocalSnapshotRow>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(o: Outcome) {
        let text = serde_json::to_string(&o).unwrap();
        let back: Outcome = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn every_shape_of_outcome_crosses_the_socket() {
        round_trip(Outcome::Jobs(Vec::new()));
        round_trip(Outcome::Runs(Vec::new()));
        round_trip(Outcome::Started {
            job: 1,
            run: 2,
            task: "t".into(),
        });
        round_trip(Outcome::Verified(vec![VerifyReport::default()]));
        round_trip(Outcome::Deleted(Vec::new()));
        round_trip(Outcome::Overview(Box::default()));
        round_trip(Outcome::Rebuilt {
            from: "d".into(),
            report: RebuildReport::default(),
        });
    }
}
