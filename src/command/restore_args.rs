//! The arguments of `restore`: which backup (by name, or a task and a point
//! in time) and where it goes.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup: id, unique prefix or suffix, latest, TASK:latest, TASK:-N or TASK@TIME.
    #[arg(required_unless_present = "task", conflicts_with = "task")]
    pub id: Option<String>,
    /// The newest complete backup of this task (with --at: at or before that time).
    #[arg(long)]
    pub task: Option<String>,
    /// A point in time, e.g. "2026-12-01 09:03" (the host's time zone) or RFC 3339: restore the state then.
    #[arg(long, value_name = "TIME", requires = "task")]
    pub at: Option<String>,
    /// Target: a new directory (dir backups: must not exist or be empty), a
    /// new database file (sqlite), or the new database's name for the
    /// task's restore command (command). Database backups without --to go to
    /// <task>-restore-<YYYYMMDD-HHMMSS>, printed.
    #[arg(long, value_name = "TARGET", conflicts_with = "stdout")]
    pub to: Option<PathBuf>,
    /// Stream a database backup's data (the dump, the database file) to stdout.
    #[arg(long, conflicts_with = "path")]
    pub stdout: bool,
    /// Only this subtree (a path relative to the source root).
    #[arg(long, value_name = "SUBPATH")]
    pub path: Option<String>,
}

impl RestoreArgs {
    /// The backup's name: the id given, or `--task T [--at TIME]` as
    /// `T:latest` / `T@TIME` (see `core::backup_names`).
    pub fn backup(&self) -> String {
        match (&self.id, &self.task, &self.at) {
            (Some(id), _, _) => id.clone(),
            (None, Some(t), Some(at)) => format!("{t}@{at}"),
            (None, Some(t), None) => format!("{t}:latest"),
            (None, None, _) => String::new(),
        }
    }
}
