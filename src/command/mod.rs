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
mod task_args;
pub use task_args::TaskAddArgs;
pub mod exec;
pub mod info;
pub mod interrupt;
pub mod keys_cmds;
pub mod line;
pub mod order;
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
    /// The audit log, newest first: who did what, when, from where.
    Audit {
        /// Only entries newer than this (e.g. 24h, 7d).
        #[arg(long, value_name = "DUR")]
        since: Option<String>,
        /// Only the newest N entries.
        #[arg(long, value_name = "N", value_parser = crate::core::bounds::parse_limit)]
        limit: Option<usize>,
        /// `--reverse`: oldest first.
        #[command(flatten)]
        order: order::OrderArgs,
    },
    /// Recent runs of backup tasks, newest first, with their errors.
    Runs {
        /// Only the runs of this task.
        #[arg(long, value_name = "TASK")]
        task: Option<String>,
        /// At most N runs (default 50).
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = crate::core::bounds::parse_limit)]
        limit: usize,
        /// `--reverse`: oldest first.
        #[command(flatten)]
        order: order::OrderArgs,
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
    /// List backups, newest first, with logical, stored and reclaimable sizes.
    List {
        /// Only this task's backups.
        #[arg(long)]
        task: Option<String>,
        /// Group by chain (full, then what depends on it).
        #[arg(long)]
        chain: bool,
        /// `--reverse`: oldest first.
        #[command(flatten)]
        order: order::OrderArgs,
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
