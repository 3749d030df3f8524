//! `strata snapshot list|clear`: the local snapshots of `snapshot` tasks,
//! their arguments and how they are shown.

use super::exec::{Io, json, write_err};
use super::render::{Table, size, time};
use crate::core::CoreError;
use crate::core::snapshot_rows::LocalSnapshotRow;
use clap::Subcommand;

/// `strata snapshot …`
#[derive(Debug, Subcommand)]
pub enum SnapshotCmd {
    /// Local snapshots of snapshot tasks: tag, age, apparent size and the bytes that are only theirs.
    List {
        /// Only this task's.
        #[arg(long)]
        task: Option<String>,
    },
    /// Clear local snapshots with their task's clear command (operator or admin; audited).
    Clear {
        /// Only this task's.
        #[arg(long)]
        task: Option<String>,
        /// Only snapshots older than this (e.g. 12h, 2d).
        #[arg(long, value_name = "DUR")]
        older_than: Option<String>,
    },
}

fn table(rows: &[LocalSnapshotRow], io: &mut Io<'_>) -> Result<(), CoreError> {
    let now = chrono::Utc::now();
    let mut t = Table::new(&[
        "TASK",
        "TAG",
        "CREATED (UTC)",
        ">AGE",
        ">FILES",
        ">SIZE",
        ">EXCLUSIVE",
        "BACKUP",
        "PATH",
    ]);
    for r in rows {
        t.row(vec![
            r.task.clone(),
            r.tag.clone(),
            time(&r.created),
            crate::units::age((now - r.created).num_seconds()),
            r.files.to_string(),
            size(r.apparent_bytes),
            size(r.exclusive_bytes),
            r.backup.clone().unwrap_or_else(|| "-".into()),
            r.paths_text(),
        ]);
    }
    write!(io.out, "{}", t.render()).map_err(write_err)
}

/// `snapshot list`.
pub(super) fn list(rows: &[LocalSnapshotRow], j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    if j {
        return json(io, &rows);
    }
    if rows.is_empty() {
        say!(io, "no local snapshots");
        return Ok(());
    }
    table(rows, io)?;
    let own: u64 = rows.iter().map(|r| r.exclusive_bytes).sum();
    say!(
        io,
        "{} local snapshot(s); clearing them all frees {} ('strata snapshot clear')",
        rows.len(),
        size(own)
    );
    Ok(())
}

/// `snapshot clear`.
pub(super) fn cleared(
    rows: &[LocalSnapshotRow],
    j: bool,
    io: &mut Io<'_>,
) -> Result<(), CoreError> {
    if j {
        return json(io, &rows);
    }
    if rows.is_empty() {
        say!(io, "no local snapshots to clear");
        return Ok(());
    }
    for r in rows {
        say!(
            io,
            "cleared {} of task {} ({} of its own)",
            r.tag,
            r.task,
            size(r.exclusive_bytes)
        );
    }
    Ok(())
}
