//! The one command grammar (clap), its resolution into the core's actions
//! (`resolve.rs`) and the rendering of their outcomes.

/// Writes a result line, failing the command if stdout is gone.
macro_rules! say {
    ($io:expr, $($arg:tt)*) => { writeln!($io.out, $($arg)*).map_err($crate::command::exec::write_err)? };
}
/// Writes a note to stderr (best effort).
macro_rules! note {
    ($io:expr, $($arg:tt)*) => { let _ = writeln!($io.err, $($arg)*); };
}

pub mod apply_cmds;
pub mod backup_cmds;
pub mod browse_cmds;
pub mod complete;
pub mod config_cmds;
mod dest_args;
pub use dest_args::DestAddArgs;
mod dest_key_args;
pub use dest_key_args::{DestKeyCmd, NewPassphrase};
mod restore_args;
pub use restore_args::RestoreArgs;
pub mod exec;
pub mod info;
pub mod interrupt;
pub mod keys_cmds;
pub mod line;
pub mod progress;
pub mod prompt;
pub mod prune_cmds;
pub mod render;
pub mod resolve;
pub mod snapshot_cmds;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about = "Backup console: chains of full, incremental and differential backups you can restore byte for byte."
)]
pub struct Cli {
    /// Home directory (catalog, config, logs); default $STRATA_HOME or the XDG data dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Act with a lower role than your own (viewer, operator), e.g. for a read-only session. Goes before the command.
    #[arg(long, value_name = "ROLE", value_parser = ["viewer", "operator", "admin"])]
    pub role: Option<String>,
    /// Print one JSON document instead of tables (stable field names, sizes in bytes, RFC 3339 UTC times).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Resolves relative path arguments against `cwd`: the daemon runs commands
    /// for clients whose working directory is not its own.
    pub fn absolutize(&mut self, cwd: &std::path::Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = cwd.join(&*p);
            }
        };
        match &mut self.command {
            Command::Dest(DestCmd::Add(a)) => {
                let DestAddArgs {
                    local,
                    credentials,
                    identity,
                    known_hosts,
                    passphrase_file,
                    ..
                } = &mut **a;
                for p in [local, credentials, identity, known_hosts, passphrase_file]
                    .into_iter()
                    .flatten()
                {
                    fix(p);
                }
            }
            Command::Task(TaskCmd::Add(a)) => {
                let TaskAddArgs {
                    dir,
                    sqlite,
                    env_file,
                    ..
                } = &mut **a;
                for p in [dir, sqlite, env_file].into_iter().flatten() {
                    fix(p);
                }
            }
            Command::Restore(a) => {
                if let Some(to) = &mut a.to {
                    fix(to);
                }
            }
            Command::Apply { file, .. } => fix(file),
            Command::Keys(KeysCmd::Add {
                file: Some(file), ..
            }) => fix(file),
            _ => {}
        }
    }
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One-command tour: sample data, a task, a full and an incremental backup, the backup table.
    Demo,
    /// Every path Strata uses and its version.
    Info,
    /// The console on this terminal (through the daemon when one runs).
    Tui {
        /// Theme: default, light, high-contrast, mono, or a file in <home>/themes.
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
    },
    /// Run the daemon: scheduler, jobs and the local control socket (foreground).
    Serve {
        /// SSH listen address (port 0 picks a free port); "off" serves no SSH.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2222")]
        listen: String,
    },
    /// Running and queued jobs with progress; `jobs cancel ID` stops one.
    Jobs {
        /// What to do with jobs (default: list them).
        #[command(subcommand)]
        cmd: Option<JobsCmd>,
    },
    /// The audit log: who did what, when, from where.
    Audit {
        /// Only entries newer than this (e.g. 24h, 7d).
        #[arg(long, value_name = "DUR")]
        since: Option<String>,
        /// Only the newest N entries.
        #[arg(long, value_name = "N", value_parser = crate::core::bounds::parse_limit)]
        limit: Option<usize>,
    },
    /// Recent runs of backup tasks, newest first, with their errors.
    Runs {
        /// Only the runs of this task.
        #[arg(long, value_name = "TASK")]
        task: Option<String>,
        /// At most N runs (default 50).
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = crate::core::bounds::parse_limit)]
        limit: usize,
    },
    /// Manage destinations (where repositories live).
    #[command(subcommand)]
    Dest(DestCmd),
    /// Manage tasks (what is backed up, where, when).
    #[command(subcommand)]
    Task(TaskCmd),
    /// SSH keys allowed to connect, each with a role and a name.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Declarative upsert of destinations and tasks from a TOML file; prints the diff.
    Apply {
        /// TOML file of [[destination]] and [[task]] tables (what `strata export` writes).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// Show what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the current destinations and tasks as TOML (what `strata apply` reads).
    Export,
    /// Run, list, inspect, delete and pin backups.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Restore a backup into a new directory, database file or database (never overwrites).
    Restore(RestoreArgs),
    /// Check backups: structure, and with --read-data every chunk's hash.
    Verify(VerifyArgs),
    /// Apply retention now: expire backups no rule keeps (chain-aware); --dry-run shows what would go.
    Prune(prune_cmds::PruneArgs),
    /// Catalog maintenance.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Local snapshots that snapshot tasks left on this host: list and clear.
    #[command(subcommand)]
    Snapshot(snapshot_cmds::SnapshotCmd),
    /// The files and directories inside a backup, like ls -l.
    Ls(browse_cmds::LsArgs),
    /// What changed between two backups: added, removed, modified entries with sizes.
    Diff(browse_cmds::DiffArgs),
}

/// `strata jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// Cancel a queued or running job; nothing partial is left behind.
    Cancel {
        /// Job id from `strata jobs`.
        id: u64,
    },
}

/// `strata dest …`
#[derive(Debug, Subcommand)]
pub enum DestCmd {
    /// Add a destination: a local directory, an S3-compatible bucket, an
    /// Azure Blob container or an SFTP server. Keys come from the environment
    /// or a private --credentials file, never from the command line.
    Add(Box<DestAddArgs>),
    /// List destinations.
    List,
    /// Show one destination.
    Show {
        /// Name.
        name: String,
    },
    /// Remove a destination definition (its repository data is left untouched).
    Remove {
        /// Name.
        name: String,
    },
    /// Key slots of an encrypted destination (admin; every change is audited).
    #[command(subcommand)]
    Key(DestKeyCmd),
}

/// `strata keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Authorize a public key for SSH (takes effect for new connections).
    Add {
        /// The public key file, e.g. ~/.ssh/id_ed25519.pub.
        #[arg(
            value_name = "FILE.pub",
            required_unless_present = "key",
            conflicts_with = "key"
        )]
        file: Option<PathBuf>,
        /// The key itself ("ssh-ed25519 AAAA… comment"), instead of a file.
        #[arg(long, value_name = "PUBLIC_KEY")]
        key: Option<String>,
        /// What the key may do: viewer, operator or admin.
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// Name shown in the audit log (letters, digits, . _ @ -).
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// List authorized keys with role, name and fingerprint.
    List,
    /// Revoke a key: new logins are refused, its open consoles close within seconds.
    Remove {
        /// The key's name.
        name: String,
    },
}

/// `strata task …`
#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Define a task.
    Add(Box<TaskAddArgs>),
    /// List tasks.
    List,
    /// Show one task with its backups' totals.
    Show {
        /// Name.
        name: String,
    },
    /// Pause a task: the scheduler leaves it alone (manual runs still work).
    Pause {
        /// Name.
        name: String,
    },
    /// Resume a paused task.
    Resume {
        /// Name.
        name: String,
    },
    /// Remove a task.
    Remove {
        /// Name.
        name: String,
        /// Remove the task even though it has backups; they stay listed and restorable.
        #[arg(long)]
        keep_backups: bool,
    },
}

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

/// `strata backup …`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Take a backup now (default: incremental, or a full when the task has none).
    Run {
        /// Task name.
        task: String,
        /// Take a full backup (starts a new chain).
        #[arg(long, conflicts_with_all = ["incremental", "differential"])]
        full: bool,
        /// Changes since the latest backup of the chain.
        #[arg(long, conflicts_with = "differential")]
        incremental: bool,
        /// Changes since the chain's full.
        #[arg(long)]
        differential: bool,
        /// Start the job in the daemon and print its id instead of waiting.
        #[arg(long)]
        detach: bool,
    },
    /// List backups with logical, stored and reclaimable sizes.
    List {
        /// Only this task's backups.
        #[arg(long)]
        task: Option<String>,
        /// Group by chain (full, then what depends on it).
        #[arg(long)]
        chain: bool,
    },
    /// Show one backup, including entries that could not be read.
    Show {
        /// Backup id (or a unique prefix of at least 4 characters).
        id: String,
    },
    /// Delete a backup; refused while others depend on it unless --cascade.
    Delete {
        /// Backup id.
        id: String,
        /// Also delete every backup that depends on it.
        #[arg(long)]
        cascade: bool,
    },
    /// Copy missing or failed copies from an intact copy (checked as they are written).
    Sync {
        /// One backup (and the backups it depends on).
        #[arg(conflicts_with_all = ["task", "all"])]
        id: Option<String>,
        /// Every backup of this task.
        #[arg(long, conflicts_with = "all")]
        task: Option<String>,
        /// Every backup.
        #[arg(long)]
        all: bool,
    },
    /// Pin a backup: never expired by retention, refuses deletion.
    Pin {
        /// Backup id.
        id: String,
    },
    /// Unpin a backup.
    Unpin {
        /// Backup id.
        id: String,
    },
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// One backup id.
    #[arg(conflicts_with_all = ["task", "all"])]
    pub id: Option<String>,
    /// Every backup of this task.
    #[arg(long, conflicts_with = "all")]
    pub task: Option<String>,
    /// Every backup.
    #[arg(long)]
    pub all: bool,
    /// Also read, decompress and hash every chunk, or those of PCT percent of the packs chosen at random.
    #[arg(long, value_name = "PCT", num_args = 0..=1, default_missing_value = "100", value_parser = crate::model::parse_percent)]
    pub read_data: Option<u8>,
}

/// `strata catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Record every committed backup found in a destination's repository.
    Rebuild {
        /// Destination name (add it first with 'strata dest add').
        #[arg(long, value_name = "DESTINATION")]
        from: String,
    },
}
