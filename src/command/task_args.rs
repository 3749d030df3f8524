//! The arguments of `strata task add`: the source (one of `--dir`,
//! `--sqlite`, `--command`, `--snapshot`), destinations, schedules,
//! retention, hooks and alerts of a new task.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `task add`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["dir", "sqlite", "command", "snapshot_create"])))]
#[command(group(clap::ArgGroup::new("commands").args(["command", "snapshot_create"])))]
pub struct TaskAddArgs {
    /// Task name.
    pub name: String,
    /// Directory to back up.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// SQLite database file to back up (instead of --dir).
    #[arg(long, value_name = "PATH")]
    pub sqlite: Option<PathBuf>,
    /// Dump command whose stdout is backed up (instead of --dir), e.g. 'pg_dump --format=custom --compress=0 app'.
    #[arg(long, value_name = "DUMP")]
    pub command: Option<String>,
    /// Restore command of a --command task: reads the dump on stdin; {target} is the new database's name.
    #[arg(long, value_name = "CMD", requires = "command")]
    pub restore_command: Option<String>,
    /// snapshot (raw data) or backup (logical dump); sqlite default snapshot, command default backup.
    #[arg(long = "type", value_name = "TYPE", value_parser = ["snapshot", "backup"])]
    pub source_type: Option<String>,
    /// How long the dump command (or each snapshot command) may run (e.g. 90m, 2h); it is killed after.
    #[arg(long, value_name = "DUR", requires = "commands")]
    pub dump_timeout: Option<String>,
    /// Private (0600) file of KEY=VALUE lines for the task's commands (e.g. PGPASSWORD).
    #[arg(long, value_name = "FILE", requires = "commands")]
    pub env_file: Option<PathBuf>,
    /// Command creating a database's own snapshot (instead of --dir); {tag} is the tag Strata picks, e.g. 'nodetool snapshot -t {tag}'.
    #[arg(long, value_name = "CMD", requires_all = ["snapshot_path", "snapshot_clear"])]
    pub snapshot_create: Option<String>,
    /// Absolute glob of the directories the snapshot produces, with {tag}, e.g. '/var/lib/cassandra/data/*/*/snapshots/{tag}'.
    #[arg(long, value_name = "GLOB", requires = "snapshot_create")]
    pub snapshot_path: Option<String>,
    /// Command removing the snapshot {tag} once it is backed up, e.g. 'nodetool clearsnapshot -t {tag}'.
    #[arg(long, value_name = "CMD", requires = "snapshot_create")]
    pub snapshot_clear: Option<String>,
    /// Keep this many newest local snapshots after a backup (default: clear each one).
    #[arg(long, value_name = "N", requires = "snapshot_create")]
    pub keep_local: Option<u32>,
    /// Keep the local snapshots younger than this (e.g. 1d).
    #[arg(long, value_name = "DUR", requires = "snapshot_create")]
    pub keep_local_within: Option<String>,
    /// Destination name(s), comma separated.
    #[arg(
        long,
        value_name = "NAME[,NAME…]",
        value_delimiter = ',',
        required = true
    )]
    pub dest: Vec<String>,
    /// Glob of entries to leave out (repeatable): `*.tmp` any depth, `cache/` directories, `a/b/*` from the root.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Cron schedule of full backups (5 fields or @daily…), used by the scheduler.
    #[arg(long, value_name = "CRON")]
    pub full: Option<String>,
    /// Cron schedule of incremental backups.
    #[arg(long, value_name = "CRON")]
    pub incremental: Option<String>,
    /// Cron schedule of differential backups.
    #[arg(long, value_name = "CRON")]
    pub differential: Option<String>,
    /// Keep every backup younger than this (e.g. 14d).
    #[arg(long, value_name = "DUR")]
    pub keep_within: Option<String>,
    /// Keep this many newest chains.
    #[arg(long, value_name = "N")]
    pub keep_last_full: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// IANA time zone of the schedules (default: the host's), e.g. Europe/Berlin.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Missed runs while Strata was down: `once` (run once at start) or `skip`.
    #[arg(long, value_name = "POLICY", default_value = "once", value_parser = ["once", "skip"])]
    pub catch_up: String,
    /// Command run before each backup; a non-zero exit aborts the run.
    #[arg(long, value_name = "CMD")]
    pub before: Option<String>,
    /// Command run after each backup, whatever its outcome.
    #[arg(long, value_name = "CMD")]
    pub after: Option<String>,
    /// zstd level for new data (1-22).
    #[arg(long, value_name = "LEVEL", default_value_t = 3)]
    pub compression: i32,
    /// Copies that must be written for a backup to count: all (default), any, or a number.
    #[arg(long, value_name = "POLICY", default_value = "all", value_parser = crate::model::CopyPolicy::parse)]
    pub require: crate::model::CopyPolicy,
    /// The task turns stale when its newest complete backup is older than this (e.g. 26h); default: twice its shortest schedule interval.
    #[arg(long, value_name = "DUR")]
    pub alert_after: Option<String>,
    /// Alert events of this task (replaces [notify] on): failed, degraded, stale, recovered.
    #[arg(long, value_name = "EVENT[,EVENT…]", value_delimiter = ',')]
    pub notify_on: Vec<String>,
    /// Alert command of this task (replaces [notify] for it): the alert as JSON on stdin.
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
    /// A private file (0600) holding this task's webhook URL; the alert JSON is POSTed there.
    #[arg(long, value_name = "FILE")]
    pub notify_webhook_file: Option<PathBuf>,
    /// Cron schedule (5 fields) of verifying this task's backups, e.g. "0 4 * * 0".
    #[arg(long, value_name = "CRON")]
    pub verify: Option<String>,
    /// Percent of packs whose data each scheduled verification reads (1-100; default: structure only).
    #[arg(long, value_name = "PCT", value_parser = crate::model::parse_percent, requires = "verify")]
    pub verify_read_data: Option<u8>,
}
