//! Local snapshot sprawl, solved: `strata snapshot list` (and the console's
//! "Local snapshots" section) shows every snapshot with one of Strata's tags
//! that a `snapshot` task's `path` finds on this host — its tag, age,
//! apparent size and the bytes that are really its own — and
//! `strata snapshot clear` removes them through the task's clear command.

use super::error::CoreError;
use super::service::Core;
use super::snapshot_life::created_of;
use crate::model::TaskConfig;
use crate::source::snapshot;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the console's list of local snapshots is reused (walking the
/// snapshots' files is not for every refresh).
const CACHED_FOR: Duration = Duration::from_secs(5);

/// One local snapshot of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalSnapshotRow {
    /// The snapshot task.
    pub task: String,
    /// Its tag (`strata-<task>_<backup id>`).
    pub tag: String,
    /// The backup taken from it, when the catalog has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// When it was taken (the tag's backup id, else its directories' mtime).
    pub created: DateTime<Utc>,
    /// Its directories.
    pub paths: Vec<PathBuf>,
    /// Regular files (each inode once).
    pub files: u64,
    /// Bytes of its files, each inode once.
    pub apparent_bytes: u64,
    /// Bytes of the files no name outside the snapshot links to: what
    /// clearing it frees. Grows as the database compacts its live files away.
    pub exclusive_bytes: u64,
    /// Orders snapshots taken within one second (their mtime in ns).
    #[serde(skip)]
    pub order: i64,
}

impl LocalSnapshotRow {
    /// Its directories in one short phrase: the first, and how many more.
    pub fn paths_text(&self) -> String {
        match self.paths.as_slice() {
            [] => String::new(),
            [one] => one.display().to_string(),
            [first, rest @ ..] => format!("{} and {} more", first.display(), rest.len()),
        }
    }
}

/// The console's cached rows.
#[derive(Default)]
pub(crate) struct SnapshotCache(Mutex<Option<(Instant, Vec<LocalSnapshotRow>)>>);

fn snapshot_tasks(all: Vec<TaskConfig>, only: Option<&str>) -> Vec<TaskConfig> {
    all.into_iter()
        .filter(|t| crate::source::snapshot_spec(&t.source).is_some())
        .filter(|t| only.is_none_or(|o| o == t.name))
        .collect()
}

impl Core {
    /// The snapshot tasks selected by `task` (every one when `None`); a named
    /// task must exist and be a snapshot task.
    fn selected_snapshot_tasks(&self, task: Option<&str>) -> Result<Vec<TaskConfig>, CoreError> {
        if let Some(name) = task {
            let t = self.task(name)?;
            if crate::source::snapshot_spec(&t.source).is_none() {
                return Err(CoreError::Invalid(format!(
                    "task {name} is a {} task; only snapshot tasks have local snapshots",
                    t.source.kind()
                )));
            }
        }
        Ok(snapshot_tasks(self.catalog.list_tasks()?, task))
    }

    /// The local snapshots of the selected tasks, oldest first per task.
    pub(crate) fn local_snapshot_rows(
        &self,
        task: Option<&str>,
    ) -> Result<Vec<LocalSnapshotRow>, CoreError> {
        let tasks = self.selected_snapshot_tasks(task)?;
        let mut rows = Vec::new();
        for t in tasks {
            let Some(spec) = crate::source::snapshot_spec(&t.source) else {
                continue;
            };
            let found = snapshot::local_snapshots(&spec.path, &t.name)
                .map_err(|e| CoreError::Invalid(format!("task {}: source.path {e}", t.name)))?;
            for s in found {
                let backup = snapshot::backup_id_of(&s.tag)
                    .filter(|id| self.catalog.get_backup(id).ok().flatten().is_some())
                    .map(str::to_string);
                rows.push(LocalSnapshotRow {
                    task: t.name.clone(),
                    created: created_of(&s.tag, s.mtime_ns),
                    order: s.mtime_ns,
                    tag: s.tag,
                    backup,
                    paths: s.paths,
                    files: s.files,
                    apparent_bytes: s.apparent_bytes,
                    exclusive_bytes: s.exclusive_bytes,
                });
            }
        }
        rows.sort_by(|a, b| (&a.task, a.created, a.order).cmp(&(&b.task, b.created, b.order)));
        Ok(rows)
    }

    /// [`Core::local_snapshot_rows`] of every task, at most [`CACHED_FOR`] old
    /// (the console asks four times a second); an error shows as no rows.
    /// Only for a console (`wanted`): scripts' overviews skip the walk.
    pub(crate) fn cached_snapshot_rows(&self, wanted: bool) -> Vec<LocalSnapshotRow> {
        if !wanted {
            return Vec::new();
        }
        let mut g = match self.snapshots.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some((at, rows)) = g.as_ref()
            && at.elapsed() < CACHED_FOR
        {
            return rows.clone();
        }
        let rows = self.local_snapshot_rows(None).unwrap_or_default();
        *g = Some((Instant::now(), rows.clone()));
        rows
    }

    /// Runs the clear command of each local snapshot of the selected tasks
    /// (only those older than `older_than`, e.g. `2d`); the cleared rows.
    /// A task with a backup running is left alone (its snapshot is in use).
    pub(crate) fn clear_local_snapshots(
        &self,
        task: Option<&str>,
        older_than: Option<&str>,
    ) -> Result<Vec<LocalSnapshotRow>, CoreError> {
        let cutoff = match older_than {
            Some(d) => {
                let age = super::schedule::parse_duration(d)
                    .map_err(|e| CoreError::Invalid(format!("--older-than: {e}")))?;
                Some(Utc::now() - age)
            }
            None => None,
        };
        let rows = self.local_snapshot_rows(task)?;
        if let Some(t) = task
            && self.jobs.is_busy(t)
        {
            return Err(CoreError::Busy(format!(
                "task {t} is backing up now and its snapshot is in use; clear its snapshots when the backup ends"
            )));
        }
        let tasks = self.selected_snapshot_tasks(task)?;
        let mut cleared = Vec::new();
        let mut failed = Vec::new();
        for row in rows {
            if cutoff.is_some_and(|c| row.created >= c) || self.jobs.is_busy(&row.task) {
                continue;
            }
            let Some(spec) = tasks
                .iter()
                .find(|t| t.name == row.task)
                .and_then(|t| crate::source::snapshot_spec(&t.source))
            else {
                continue;
            };
            match self.clear_snapshot(&row.task, &spec, &row.tag) {
                Ok(()) => cleared.push(row),
                Err(w) => failed.push(w),
            }
        }
        self.forget_cached_snapshots();
        if !failed.is_empty() {
            return Err(CoreError::Failed(format!(
                "cleared {} of {} local snapshots; {}",
                cleared.len(),
                cleared.len() + failed.len(),
                failed.join("; ")
            )));
        }
        Ok(cleared)
    }

    /// Drops the console's cached rows (after a clear or a backup).
    pub(crate) fn forget_cached_snapshots(&self) {
        if let Ok(mut g) = self.snapshots.0.lock() {
            *g = None;
        }
    }
}
