//! The document: TOML types of `[[destination]]` and `[[task]]`, parsing,
//! and conversion of the catalog's model into them.

use crate::core::error::CoreError;
use crate::model::{
    CatchUp, CopyPolicy, DestinationConfig, DestinationKind, Hooks, NotifySettings,
    RetentionPolicy, SourceConfig, TaskConfig,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The whole document: `[[destination]]` and `[[task]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Destinations, in file order.
    #[serde(default)]
    pub destination: Vec<DestDoc>,
    /// Tasks, in file order.
    #[serde(default)]
    pub task: Vec<TaskDoc>,
}

/// One `[[destination]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestDoc {
    /// Unique name.
    pub name: String,
    /// `local`, `s3`, `azure` or `sftp`.
    pub kind: String,
    /// Absolute directory of a `local` destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `s3://BUCKET[/PREFIX]`, `azblob://CONTAINER[/PREFIX]` or `sftp://USER@HOST[:PORT]/PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Service endpoint (s3, azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (s3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Storage class of new objects (s3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Storage account (azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Private file with the access or account key (s3, azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// Private key file (sftp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// OpenSSH known_hosts file (sftp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// Most bytes per second written there, e.g. `"20MiB/s"` (any kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// Encrypted repository: where its passphrase comes from (never the passphrase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<crate::model::EncryptionConfig>,
    /// How many uploads run at once there, 1 to 16 (any kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_uploads: Option<u32>,
}

/// A task's `source = { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// `dir`, `sqlite`, `command` or `snapshot`.
    pub kind: String,
    /// Absolute directory of a `dir` source, database file of a `sqlite`
    /// one, or the glob (with `{tag}`) of a `snapshot` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Glob patterns of entries to leave out (dir).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The dump command (command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump: Option<String>,
    /// The restore command, `{target}` for the new database (command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// `snapshot` or `backup` (sqlite, command).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// How long the dump may run (command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Private file of `KEY=VALUE` lines for the commands (command, snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<PathBuf>,
    /// The command creating the snapshot `{tag}` (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// The command removing the snapshot `{tag}` (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<String>,
    /// Newest local snapshots kept after a backup (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_local: Option<u32>,
    /// Local snapshots younger than this are kept (snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_local_within: Option<String>,
}

impl From<&SourceConfig> for SourceDoc {
    fn from(s: &SourceConfig) -> SourceDoc {
        let mut doc = SourceDoc {
            kind: s.kind().into(),
            path: None,
            exclude: Vec::new(),
            dump: None,
            restore: None,
            r#type: None,
            timeout: None,
            env_file: None,
            create: None,
            clear: None,
            keep_local: None,
            keep_local_within: None,
        };
        match s {
            SourceConfig::Dir { path, exclude } => {
                doc.path = Some(path.clone());
                doc.exclude = exclude.clone();
            }
            SourceConfig::Sqlite { path, r#type } => {
                doc.path = Some(path.clone());
                doc.r#type = Some(r#type.to_string());
            }
            SourceConfig::Command {
                dump,
                restore,
                r#type,
                timeout,
                env_file,
            } => {
                doc.dump = Some(dump.clone());
                doc.restore = restore.clone();
                doc.r#type = Some(r#type.to_string());
                doc.timeout = timeout.clone();
                doc.env_file = env_file.clone();
            }
            SourceConfig::Snapshot {
                create,
                path,
                clear,
                keep_local,
                keep_local_within,
                timeout,
                env_file,
            } => {
                doc.create = Some(create.clone());
                doc.path = Some(PathBuf::from(path));
                doc.clear = Some(clear.clone());
                doc.keep_local = *keep_local;
                doc.keep_local_within = keep_local_within.clone();
                doc.timeout = timeout.clone();
                doc.env_file = env_file.clone();
            }
        }
        doc
    }
}

/// A task's `retention = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDoc {
    /// Keep every backup younger than this, e.g. `14d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<String>,
    /// Keep this many newest chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last_full: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u32>,
}

/// A task's `hooks = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksDoc {
    /// Run before each backup; a non-zero exit aborts the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Run after each backup, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Seconds a hook may run before it is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// One `[[task]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDoc {
    /// Unique name.
    pub name: String,
    /// What is backed up.
    pub source: SourceDoc,
    /// Destination names, in write order.
    #[serde(default)]
    pub destinations: Vec<String>,
    /// Cron schedule of full backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// Cron schedule of incremental backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<String>,
    /// Cron schedule of differential backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<String>,
    /// IANA time zone of the schedules (default: the host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `once` (default) or `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    /// Retention rules; none set means nothing expires.
    #[serde(default, skip_serializing_if = "RetentionDoc::is_empty")]
    pub retention: RetentionDoc,
    /// Hooks around each backup.
    #[serde(default, skip_serializing_if = "HooksDoc::is_empty")]
    pub hooks: HooksDoc,
    /// zstd level for new data, 1-22 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Absent: a new task is active and an existing one keeps its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Copies that must be complete: `"all"` (default), `"any"` or a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<CopyPolicy>,
    /// Stale when the newest complete backup is older (default: twice the shortest schedule interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_after: Option<String>,
    /// The task's own alerts (`on`, `command`, `webhook_file`); they replace
    /// `[notify]` of `strata.toml` for this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySettings>,
    /// Cron schedule of verifying the task's backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
    /// Percent of packs whose data a scheduled verification reads (1-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_read_data: Option<u8>,
}

impl RetentionDoc {
    pub(super) fn is_empty(&self) -> bool {
        *self == RetentionDoc::default()
    }
}

impl HooksDoc {
    pub(super) fn is_empty(&self) -> bool {
        *self == HooksDoc::default()
    }
}

impl From<&DestinationConfig> for DestDoc {
    fn from(d: &DestinationConfig) -> DestDoc {
        let mut doc = DestDoc {
            name: d.name.clone(),
            kind: d.kind.name().into(),
            path: None,
            url: None,
            endpoint: None,
            region: None,
            storage_class: None,
            account: None,
            credentials: None,
            identity: None,
            known_hosts: None,
            rate_limit: d.rate_limit.clone(),
            encryption: d.encryption.as_deref().cloned(),
            parallel_uploads: d.parallel_uploads,
        };
        match &d.kind {
            DestinationKind::Local { path } => doc.path = Some(path.clone()),
            DestinationKind::S3(s) => {
                doc.url = Some(s.url.clone());
                doc.endpoint = s.endpoint.clone();
                doc.region = s.region.clone();
                doc.storage_class = s.storage_class.clone();
                doc.credentials = s.credentials.clone();
            }
            DestinationKind::Azure(a) => {
                doc.url = Some(a.url.clone());
                doc.endpoint = a.endpoint.clone();
                doc.account = a.account.clone();
                doc.credentials = a.credentials.clone();
            }
            DestinationKind::Sftp(s) => {
                doc.url = Some(s.url.clone());
                doc.identity = s.identity.clone();
                doc.known_hosts = s.known_hosts.clone();
            }
        }
        doc
    }
}

impl From<&TaskConfig> for TaskDoc {
    fn from(t: &TaskConfig) -> TaskDoc {
        // Exhaustive on purpose: a new field must be decided on here.
        let TaskConfig {
            name,
            source,
            destinations,
            full,
            incremental,
            differential,
            timezone,
            catch_up,
            retention,
            hooks,
            compression_level,
            paused,
            created: _,
            require,
            alert_after,
            notify,
            verify,
            verify_read_data,
        } = t;
        let RetentionPolicy {
            keep_within,
            keep_last_full,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
        } = retention;
        let Hooks {
            before,
            after,
            timeout_secs,
        } = hooks;
        TaskDoc {
            name: name.clone(),
            source: SourceDoc::from(source),
            destinations: destinations.clone(),
            full: full.clone(),
            incremental: incremental.clone(),
            differential: differential.clone(),
            timezone: timezone.clone(),
            catch_up: Some(*catch_up),
            retention: RetentionDoc {
                keep_within: keep_within.clone(),
                keep_last_full: *keep_last_full,
                keep_daily: *keep_daily,
                keep_weekly: *keep_weekly,
                keep_monthly: *keep_monthly,
                keep_yearly: *keep_yearly,
            },
            hooks: HooksDoc {
                before: before.clone(),
                after: after.clone(),
                timeout_secs: *timeout_secs,
            },
            compression_level: Some(*compression_level),
            // Written only when set, so an exported file does not resume tasks.
            paused: paused.then_some(true),
            require: (*require != CopyPolicy::All).then_some(*require),
            alert_after: alert_after.clone(),
            notify: notify.clone(),
            verify: verify.clone(),
            verify_read_data: *verify_read_data,
        }
    }
}

/// Parses a document; a syntax error or unknown key names its line and column.
pub fn parse(text: &str) -> Result<Config, CoreError> {
    toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                let msg = crate::core::bounds::toml_value_hint(text, span.start, &msg);
                CoreError::Invalid(format!("line {line}, column {column}: {msg}"))
            }
            None => CoreError::Invalid(msg),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}
