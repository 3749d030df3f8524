//! Plain records shared by every layer (stored in the catalog, printed as JSON); a leaf: it imports nothing of ours.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

mod copies;
pub use copies::{BackupCopy, CopyPolicy, CopyState};
mod dest;
mod encryption;
pub use encryption::{EncryptionConfig, PASSPHRASE_ENV};
mod listing;
pub use listing::{Change, EntryChange, ListedEntry};
mod percent;
pub use percent::parse_percent;
mod rate;
pub use rate::parse_rate;
mod run;
pub use dest::{AzureSpec, BucketPath, S3Spec, SftpSpec, SftpTarget};
mod notify;
mod source;
pub use notify::{NOTIFY_EVENTS, NotifySettings, check_webhook_url, webhook_origin};
pub use run::{RunPurpose, RunRecord, RunStatus};
pub use source::{SourceConfig, SourceType};

/// What a backup depends on: nothing (full), the previous backup (incremental) or the chain's full (differential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    /// Depends on nothing.
    Full,
    /// Changes since the latest backup of the chain.
    Incremental,
    /// Changes since the chain's full.
    Differential,
}

impl BackupKind {
    /// Lower-case name used in tables, JSON and the repository format.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incremental => "incremental",
            BackupKind::Differential => "differential",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<BackupKind> {
        match s {
            "full" => Some(BackupKind::Full),
            "incremental" => Some(BackupKind::Incremental),
            "differential" => Some(BackupKind::Differential),
            _ => None,
        }
    }
}

impl fmt::Display for BackupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of a committed backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStatus {
    /// Every scanned entry was stored.
    Complete,
    /// Committed, but some entries could not be read (see `errors`).
    Partial,
}

impl BackupStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Complete => "complete",
            BackupStatus::Partial => "partial",
        }
    }
}

/// Where a destination keeps its repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DestinationKind {
    /// A directory on this machine.
    Local {
        /// Absolute path of the repository directory.
        path: PathBuf,
    },
    /// An S3-compatible bucket.
    S3(S3Spec),
    /// An Azure Blob container.
    Azure(AzureSpec),
    /// A directory on an SFTP server.
    Sftp(SftpSpec),
}

impl DestinationKind {
    /// `local`, `s3`, `azure` or `sftp`.
    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::Local { .. } => "local",
            DestinationKind::S3(_) => "s3",
            DestinationKind::Azure(_) => "azure",
            DestinationKind::Sftp(_) => "sftp",
        }
    }

    /// Where it is, as the operator wrote it: a path or a URL.
    pub fn location(&self) -> String {
        match self {
            DestinationKind::Local { path } => path.display().to_string(),
            DestinationKind::S3(s) => s.url.clone(),
            DestinationKind::Azure(a) => a.url.clone(),
            DestinationKind::Sftp(s) => s.url.clone(),
        }
    }

    /// The local directory, for the one kind that has one.
    pub fn local_path(&self) -> Option<&std::path::Path> {
        match self {
            DestinationKind::Local { path } => Some(path),
            _ => None,
        }
    }
}

/// A named place backups are written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationConfig {
    /// Unique name.
    pub name: String,
    /// Kind and location.
    #[serde(flatten)]
    pub kind: DestinationKind,
    /// Id of the repository found there when the destination was added; a
    /// different (or missing) repository at that place is refused, never
    /// silently replaced (think of an unmounted disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_id: Option<String>,
    /// Most bytes per second written there, as the user wrote it (`20MiB/s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// Set when the repository is encrypted: where its passphrase comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Box<EncryptionConfig>>,
    /// How many uploads run at once there; unset: the kind's default
    /// (1 for a local disk, 4 for object stores and SFTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_uploads: Option<u32>,
}

/// Retention rules (evaluated by the retention issue; stored now).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Keep every backup younger than this duration, e.g. `14d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<String>,
    /// Keep this many newest chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last_full: Option<u32>,
    /// Keep the newest backup of each of the last N days that have backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks that have backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months that have backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years that have backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u32>,
}

impl RetentionPolicy {
    /// The rules that are set, as (name, value), in a fixed order; front ends
    /// format them their own way.
    pub fn rules(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(v) = &self.keep_within {
            out.push(("keep_within", v.clone()));
        }
        for (k, v) in [
            ("keep_last_full", self.keep_last_full),
            ("keep_daily", self.keep_daily),
            ("keep_weekly", self.keep_weekly),
            ("keep_monthly", self.keep_monthly),
            ("keep_yearly", self.keep_yearly),
        ] {
            if let Some(v) = v {
                out.push((k, v.to_string()));
            }
        }
        out
    }

    /// The rules in one line: each `name{sep}value`, joined by `join`.
    pub fn text(&self, sep: &str, join: &str) -> String {
        let rules = self.rules();
        if rules.is_empty() {
            return "none (nothing expires)".into();
        }
        rules
            .iter()
            .map(|(k, v)| format!("{k}{sep}{v}"))
            .collect::<Vec<_>>()
            .join(join)
    }

    /// Whether no rule is set (then nothing ever expires).
    pub fn is_empty(&self) -> bool {
        self.keep_within.is_none()
            && self.keep_last_full.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
            && self.keep_monthly.is_none()
            && self.keep_yearly.is_none()
    }
}

/// What the scheduler does about runs missed while Strata was not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Forget missed runs; wait for the next scheduled time.
    Skip,
    /// Run once at start for everything missed (the strongest missed kind wins).
    #[default]
    Once,
}

/// Commands run around a task's backups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// Run before the backup; a non-zero exit aborts the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Run after the backup, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Seconds a hook may run before it is killed (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl Hooks {
    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        self.before.is_none() && self.after.is_none()
    }
}

/// A named backup job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskConfig {
    /// Unique name.
    pub name: String,
    /// What is backed up.
    pub source: SourceConfig,
    /// Names of destinations, in write order.
    pub destinations: Vec<String>,
    /// Cron schedule of full backups (5-field, as the user wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// Cron schedule of incremental backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<String>,
    /// Cron schedule of differential backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<String>,
    /// IANA time zone the schedules are evaluated in (default: the host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Missed-run policy.
    #[serde(default)]
    pub catch_up: CatchUp,
    /// Retention rules.
    #[serde(default)]
    pub retention: RetentionPolicy,
    /// Hooks around each backup.
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,
    /// zstd level used for new data.
    #[serde(default = "default_compression")]
    pub compression_level: i32,
    /// Paused tasks are not run by the scheduler.
    #[serde(default)]
    pub paused: bool,
    /// When the task was defined.
    pub created: DateTime<Utc>,
    /// How many destinations must get a complete copy for a backup to count.
    #[serde(default, skip_serializing_if = "is_all")]
    pub require: CopyPolicy,
    /// The task is `stale` when its newest complete backup is older than this
    /// (`26h`, `8d`); unset: twice the shortest interval of its schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_after: Option<String>,
    /// The task's own alert settings; they replace `[notify]` of `strata.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySettings>,
    /// Cron schedule (5-field) of verifying the task's backups; missed
    /// verifications are not caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
    /// Percent (1-100) of packs whose chunk data a scheduled verification
    /// reads; unset: structure only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_read_data: Option<u8>,
}

fn is_all(p: &CopyPolicy) -> bool {
    *p == CopyPolicy::All
}

/// Default zstd level.
pub fn default_compression() -> i32 {
    3
}

/// One entry that could not be backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryError {
    /// Path relative to the source root.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Outcome of the last verification of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyMark {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// Whether chunk data was read and hashed (`--read-data`).
    pub read_data: bool,
    /// Whether every check passed.
    pub ok: bool,
}

/// A committed backup, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// Globally unique id, e.g. `20261122-103000-a3f9`.
    pub id: String,
    /// Task that made it.
    pub task: String,
    /// Full, incremental or differential.
    pub kind: BackupKind,
    /// Made by "backup now" rather than a schedule.
    pub manual: bool,
    /// Backup this one depends on directly.
    pub parent: Option<String>,
    /// Id of the chain's full (its own id for a full).
    pub chain: String,
    /// Complete or partial.
    pub status: BackupStatus,
    /// Run start.
    pub started: DateTime<Utc>,
    /// Commit time.
    pub finished: DateTime<Utc>,
    /// Bytes a restore writes (sum of regular file sizes).
    pub logical_bytes: u64,
    /// Bytes this backup wrote to one destination (packs + manifest).
    pub stored_bytes: u64,
    /// Regular files in the backup.
    pub file_count: u64,
    /// Entries of every kind in the backup.
    pub entry_count: u64,
    /// Files whose content was read (new or changed).
    pub changed_files: u64,
    /// Entries that could not be read.
    #[serde(default)]
    pub errors: Vec<EntryError>,
    /// Entries stored, but with a caveat (e.g. changed while being read).
    #[serde(default)]
    pub warnings: Vec<EntryError>,
    /// Destinations holding a copy.
    pub destinations: Vec<String>,
    /// BLAKE3 of the manifest file, hex.
    pub manifest_hash: String,
    /// Pinned backups never expire by rule.
    #[serde(default)]
    pub pinned: bool,
    /// Last verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifyMark>,
    /// One copy per destination of the task, with its state. Records from
    /// before copies were tracked have none: every destination then holds a
    /// complete copy (see `copies()`).
    #[serde(default)]
    pub copies: Vec<BackupCopy>,
}

impl BackupRecord {
    /// The copies of this backup, one per destination.
    pub fn copies(&self) -> Vec<BackupCopy> {
        if self.copies.is_empty() {
            return self
                .destinations
                .iter()
                .map(|d| BackupCopy::complete(d))
                .collect();
        }
        self.copies.clone()
    }

    /// Complete copies, and all copies.
    pub fn copy_count(&self) -> (usize, usize) {
        // Without building `copies()`: task rows and tables ask this of every backup.
        if self.copies.is_empty() {
            return (self.destinations.len(), self.destinations.len());
        }
        let done = self
            .copies
            .iter()
            .filter(|c| c.state == CopyState::Complete)
            .count();
        (done, self.copies.len())
    }

    /// The status as tables show it: `complete`, or `complete 1/2` when a
    /// copy is missing or failed.
    pub fn status_text(&self) -> String {
        match self.copy_count() {
            (done, all) if done < all => format!("{} {done}/{all}", self.status.as_str()),
            _ => self.status.as_str().to_string(),
        }
    }
}

/// One entry of the audit log: who did what, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Monotonic id.
    pub id: u64,
    /// When the action was decided.
    pub at: DateTime<Utc>,
    /// Caller name (OS user locally, key name over SSH).
    pub who: String,
    /// Caller's role.
    pub role: String,
    /// Where the caller came from (`local`, `ssh 203.0.113.7`).
    pub origin: String,
    /// The action, e.g. `backup delete`.
    pub action: String,
    /// What it acted on (task, backup id, …).
    pub target: String,
    /// `ok`, `refused: …` or `failed: …`.
    pub outcome: String,
}

#[cfg(test)]
impl TaskConfig {
    /// A manual task backing up directory `src` to destination `dest`, for unit tests.
    pub(crate) fn dir_to(name: &str, src: std::path::PathBuf, dest: &str) -> TaskConfig {
        TaskConfig {
            name: name.into(),
            source: SourceConfig::Dir {
                path: src,
                exclude: vec![],
            },
            destinations: vec![dest.into()],
            full: None,
            incremental: None,
            differential: None,
            timezone: None,
            catch_up: Default::default(),
            retention: Default::default(),
            hooks: Default::default(),
            compression_level: 3,
            paused: false,
            created: chrono::Utc::now(),
            require: Default::default(),
            verify: None,
            verify_read_data: None,
            alert_after: None,
            notify: None,
        }
    }
}
