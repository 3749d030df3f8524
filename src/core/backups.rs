//! Backups as the operator sees them: listing with sizes, deleting safely,
//! pinning, restoring, verifying, and rebuilding the catalog from a repository.

use super::catalog::PendingDeletion;
use super::error::CoreError;
use super::service::Core;
use crate::engine::manifest::Manifest;
use crate::engine::restore::{RestoreReport, RestoreRequest};
use crate::engine::target::RestoreTarget;
use crate::engine::{Repository, restore};
use crate::model::BackupRecord;
use crate::progress::Progress;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A backup with the sizes that depend on its neighbours.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BackupRow {
    /// The catalog record.
    #[serde(flatten)]
    pub record: BackupRecord,
    /// Bytes freed by deleting it now: its stored bytes, or 0 while others depend on it.
    pub reclaimable_bytes: u64,
    /// Ids of backups that depend on it directly.
    pub dependents: Vec<String>,
    /// Its task's source kind and type (`dir`, `sqlite · snapshot`, …);
    /// empty when the task is no longer defined.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Whether its copies are on encrypted destinations.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

pub use super::action::VerifySelection;

/// Result of a catalog rebuild.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct RebuildReport {
    /// Backups recorded from commit markers.
    pub added: Vec<String>,
    /// Backups the catalog already had.
    pub present: Vec<String>,
    /// Tasks recreated from commit markers.
    pub tasks_added: Vec<String>,
    /// Directories without a commit marker (incomplete runs), left alone.
    pub incomplete: Vec<String>,
}

fn children(all: &[BackupRecord]) -> HashMap<&str, Vec<&str>> {
    let mut m: HashMap<&str, Vec<&str>> = HashMap::new();
    for b in all {
        if let Some(p) = &b.parent {
            m.entry(p.as_str()).or_default().push(b.id.as_str());
        }
    }
    m
}

impl Core {
    /// Backups, oldest first, optionally of one task, with reclaimable sizes.
    pub fn backups(&self, task: Option<&str>) -> Result<Vec<BackupRow>, CoreError> {
        if let Some(t) = task
            && self.catalog.get_task(t)?.is_none()
            && !self.catalog.list_backups()?.iter().any(|b| b.task == t)
        {
            self.task(t)?;
        }
        let mut rows = backup_rows(&self.catalog.list_backups()?, task);
        label_rows(&mut rows, self.catalog.list_tasks()?.iter());
        mark_encrypted(&mut rows, &self.catalog.list_destinations()?);
        Ok(rows)
    }
}

/// Marks the rows whose backup was written to an encrypted destination.
pub(super) fn mark_encrypted(rows: &mut [BackupRow], dests: &[crate::model::DestinationConfig]) {
    let enc: std::collections::HashSet<&str> = dests
        .iter()
        .filter(|d| d.encryption.is_some())
        .map(|d| d.name.as_str())
        .collect();
    for r in rows {
        r.encrypted = r
            .record
            .destinations
            .iter()
            .any(|d| enc.contains(d.as_str()));
    }
}

/// Fills in each row's source label from its task's definition.
pub(super) fn label_rows<'a>(
    rows: &mut [BackupRow],
    tasks: impl Iterator<Item = &'a crate::model::TaskConfig>,
) {
    let labels: HashMap<&str, String> =
        tasks.map(|t| (t.name.as_str(), t.source.label())).collect();
    for r in rows {
        if let Some(l) = labels.get(r.record.task.as_str()) {
            r.source = l.clone();
        }
    }
}

/// The rows of `all` (of one task, or every one), with the sizes that depend
/// on their neighbours.
pub(super) fn backup_rows(all: &[BackupRecord], task: Option<&str>) -> Vec<BackupRow> {
    let kids = children(all);
    all.iter()
        .filter(|b| task.is_none_or(|t| b.task == t))
        .map(|b| {
            let dependents: Vec<String> = kids
                .get(b.id.as_str())
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
            BackupRow {
                // Deleting is refused for pinned backups, so nothing is reclaimable.
                reclaimable_bytes: if dependents.is_empty() && !b.pinned {
                    b.stored_bytes
                } else {
                    0
                },
                dependents,
                record: b.clone(),
                source: String::new(),
                encrypted: false,
            }
        })
        .collect()
}

impl Core {
    /// Resolves a backup's name (see [`super::backup_names`]): an id, a
    /// unique prefix or suffix, `latest`, `TASK:latest`, `TASK:-N`, `TASK@TIME`.
    pub fn resolve_backup(&self, id: &str) -> Result<BackupRecord, CoreError> {
        use super::backup_names::{NameError, resolve};
        if let Some(b) = self.catalog.get_backup(id)? {
            return Ok(b);
        }
        let all = self.catalog.list_backups()?;
        let tz = super::scheduler::host_tz();
        match resolve(id, &all, chrono::Utc::now(), tz) {
            Ok(b) => Ok(b.clone()),
            Err(NameError::Unknown { name, why, closest }) => Err(CoreError::NotFound {
                what: "backup",
                name,
                hint: match closest {
                    Some(c) => {
                        format!("{why}; did you mean {c:?}? (list them with 'strata backup list')")
                    }
                    None => format!("{why}; list them with 'strata backup list'"),
                },
            }),
            Err(e) => Err(CoreError::Invalid(e.to_string())),
        }
    }

    /// One backup with its sizes.
    pub fn backup(&self, id: &str) -> Result<BackupRow, CoreError> {
        let rec = self.resolve_backup(id)?;
        self.backups(None)?
            .into_iter()
            .find(|r| r.record.id == rec.id)
            .ok_or_else(|| CoreError::NotFound {
                what: "backup",
                name: id.to_string(),
                hint: "list them with 'strata backup list'".into(),
            })
    }

    /// Every backup that depends on `id`, directly or not, deepest first.
    pub fn descendants(&self, id: &str) -> Result<Vec<BackupRecord>, CoreError> {
        let all = self.catalog.list_backups()?;
        let kids = children(&all);
        let by_id: HashMap<&str, &BackupRecord> = all.iter().map(|b| (b.id.as_str(), b)).collect();
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            for k in kids.get(cur).into_iter().flatten() {
                if let Some(b) = by_id.get(k) {
                    out.push((*b).clone());
                }
                stack.push(k);
            }
        }
        out.sort_by(|a, b| b.started.cmp(&a.started).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Deletes a backup (and with `cascade` everything depending on it). Refused
    /// when dependents exist without `cascade`, or when any of them is pinned.
    pub(crate) fn delete_backup(
        &self,
        id: &str,
        cascade: bool,
    ) -> Result<Vec<BackupRecord>, CoreError> {
        let rec = self.resolve_backup(id)?;
        let deps = self.descendants(&rec.id)?;
        if !deps.is_empty() && !cascade {
            let ids: Vec<&str> = deps.iter().map(|b| b.id.as_str()).collect();
            return Err(CoreError::Refused(format!(
                "backup {} has {} dependent backup(s) ({}); deleting it would break them. Pass --cascade to delete all of them",
                rec.id,
                deps.len(),
                ids.join(", ")
            )));
        }
        let mut victims = deps;
        victims.push(rec);
        if let Some(p) = victims.iter().find(|b| b.pinned) {
            return Err(CoreError::Refused(format!(
                "backup {} is pinned; unpin it first with 'strata backup unpin {}'",
                p.id, p.id
            )));
        }
        // A destination that is away (not mounted, unreachable) keeps its
        // copy for now: the deletion is queued and applied when it is back,
        // so nothing is orphaned and nothing blocks the others.
        let used: HashSet<&String> = victims.iter().flat_map(|b| &b.destinations).collect();
        let mut repos: HashMap<String, Repository> = HashMap::new();
        let mut away: HashMap<String, String> = HashMap::new();
        for d in self.catalog.list_destinations()? {
            if !used.contains(&d.name) {
                continue;
            }
            match self.open_repo(&d) {
                Ok(r) => {
                    repos.insert(d.name.clone(), r);
                }
                Err(e) => {
                    away.insert(d.name.clone(), e.to_string());
                }
            }
        }
        let pending: Vec<PendingDeletion> = victims
            .iter()
            .flat_map(|b| {
                b.copies()
                    .into_iter()
                    .filter(|c| c.state == crate::model::CopyState::Complete)
                    .filter_map(|c| {
                        away.get(&c.destination).map(|why| PendingDeletion {
                            backup: b.id.clone(),
                            destination: c.destination.clone(),
                            since: chrono::Utc::now(),
                            error: why.clone(),
                        })
                    })
            })
            .collect();
        let ids: Vec<String> = victims.iter().map(|b| b.id.clone()).collect();
        // Under the holds' lock: a running backup that reads from a victim
        // refuses the delete, and one starting now sees the records gone.
        self.jobs.holds.without_holders(&ids, || {
            // A backup that committed on top of a victim since the check above
            // (its hold is gone once it is recorded) must not lose its parent.
            let named = &victims[victims.len() - 1].id;
            if let Some(b) = self
                .descendants(named)?
                .into_iter()
                .find(|b| !ids.contains(&b.id))
            {
                return Err(CoreError::Busy(format!(
                    "backup {} was just recorded on top of backup {named}; nothing was deleted, run the delete again to see what depends on it",
                    b.id
                )));
            }
            // Commit markers go first: a copy interrupted mid-delete must never look complete.
            for b in &victims {
                for r in b.destinations.iter().filter_map(|n| repos.get(n)) {
                    r.retire(&b.id)?;
                }
            }
            self.catalog.remove_backups_leaving(&ids, &pending)?;
            Ok(())
        })?;
        for p in &pending {
            tracing::warn!(backup = %p.backup, destination = %p.destination, "deletion queued: {}", p.error);
        }
        for b in &victims {
            for r in b.destinations.iter().filter_map(|n| repos.get(n)) {
                r.delete_backup(&b.id)?;
            }
        }
        Ok(victims)
    }

    /// Pins or unpins a backup (pinned backups never expire and refuse deletion).
    pub(crate) fn set_pinned(&self, id: &str, pinned: bool) -> Result<BackupRecord, CoreError> {
        let mut rec = self.resolve_backup(id)?;
        rec.pinned = pinned;
        if !self.catalog.update_backup(&rec)? {
            return Err(CoreError::NotFound {
                what: "backup",
                name: id.to_string(),
                hint: "it was deleted meanwhile; list backups with 'strata backup list'".into(),
            });
        }
        Ok(rec)
    }

    /// The first destination whose copy has its commit marker and an intact
    /// manifest; a damaged copy falls through to the next destination.
    pub(super) fn readable_copy(
        &self,
        rec: &BackupRecord,
    ) -> Result<(Repository, Manifest), CoreError> {
        let mut last = None;
        let mut refused: Option<CoreError> = None;
        let complete = rec
            .copies()
            .into_iter()
            .filter(|c| c.state == crate::model::CopyState::Complete);
        for copy in complete {
            let name = &copy.destination;
            let Some(cfg) = self.catalog.get_destination(name)? else {
                continue;
            };
            // A repository this build must not read is skipped like a damaged copy;
            // when no copy is readable, that refusal is the answer.
            let d = match self.open_repo(&cfg) {
                Ok(r) => r,
                Err(e) => {
                    refused.get_or_insert(e);
                    continue;
                }
            };
            match d.read_commit(&rec.id) {
                Ok(Some(_)) => match d.read_manifest(&rec.id, &rec.manifest_hash) {
                    Ok(m) => return Ok((d, m)),
                    Err(e) => last = Some(e.to_string()),
                },
                Ok(None) => last = Some(format!("{} has no commit marker for it", d.describe())),
                Err(e) => last = Some(e.to_string()),
            }
        }
        if let (None, Some(e)) = (&last, refused) {
            return Err(e);
        }
        Err(CoreError::Failed(format!(
            "backup {} is not readable on any destination ({}); run 'strata verify {}' for details",
            rec.id,
            last.unwrap_or_else(|| "none of its destinations is defined".into()),
            rec.id
        )))
    }

    /// Restores a backup into `to`, which must not exist or be empty, with
    /// no restriction on where it is (the admin's view; see `restore_into`).
    #[cfg(test)]
    pub(crate) fn restore(
        &self,
        id: &str,
        to: &std::path::Path,
        subpath: Option<&str>,
        progress: &Progress,
    ) -> Result<(BackupRecord, RestoreReport), CoreError> {
        let target = crate::engine::target::resolve(to)?.unrestricted()?;
        self.restore_into(id, &target, subpath, progress)
    }

    /// Restores a backup into a target resolved and checked by
    /// `Core::check_restore_target`.
    pub(crate) fn restore_into(
        &self,
        id: &str,
        target: &RestoreTarget,
        subpath: Option<&str>,
        progress: &Progress,
    ) -> Result<(BackupRecord, RestoreReport), CoreError> {
        let rec = self.resolve_backup(id)?;
        let sub = match subpath.map(|s| s.trim_matches('/')) {
            Some("") | None => None,
            Some(s) if s.split('/').any(|c| c.is_empty() || c == "." || c == "..") => {
                return Err(CoreError::Invalid(format!(
                    "--path {s:?} must be a relative path inside the backup without '.' or '..'"
                )));
            }
            Some(s) => Some(s.as_bytes().to_vec()),
        };
        let (dest, manifest) = self.readable_copy(&rec)?;
        // The other copies that open are fallbacks for chunks the readable
        // copy cannot give intact; every chunk is checked against its hash.
        let mut repos = vec![dest];
        for name in &rec.destinations {
            if repos.iter().any(|r| r.name() == name) {
                continue;
            }
            if let Ok(Some(cfg)) = self.catalog.get_destination(name)
                && let Ok(r) = self.open_repo(&cfg)
            {
                repos.push(r);
            }
        }
        if let Some(s) = &sub
            && !manifest.entries.iter().any(|e| &e.path == s)
        {
            return Err(CoreError::NotFound {
                what: "path",
                name: String::from_utf8_lossy(s).into_owned(),
                hint: format!(
                    "backup {} has no such entry; paths are relative to the task's source root",
                    rec.id
                ),
            });
        }
        let req = RestoreRequest {
            manifest: &manifest,
            repos: &repos,
            target,
            subpath: sub.as_deref(),
            // Reads from an object store wait on round trips, not on the
            // CPU: more workers keep more ranges in flight.
            threads: repos
                .first()
                .map_or(1, |r| r.parallel_writes() * 2)
                .max(super::jobs::threads()),
            restore_owner: rustix::process::geteuid().is_root(),
        };
        let report = restore::restore(&req, progress)?;
        Ok((rec, report))
    }

    /// Records every committed backup found on `dest_name` that the catalog lacks,
    /// and recreates missing tasks from the definitions stored with them.
    pub(crate) fn rebuild(&self, dest_name: &str) -> Result<RebuildReport, CoreError> {
        let cfg = self.destination(dest_name)?;
        let d = self.open_repo(&cfg)?;
        let mut report = RebuildReport::default();
        let known: HashSet<String> = self
            .catalog
            .list_backups()?
            .into_iter()
            .map(|b| b.id)
            .collect();
        let running: HashSet<String> = self
            .catalog
            .running_runs()?
            .into_iter()
            .map(|r| r.backup_id)
            .collect();
        // Deleted while this destination was away: not to be brought back.
        let deleted: HashSet<String> = self
            .catalog
            .pending_deletions()?
            .into_iter()
            .filter(|p| p.destination == dest_name)
            .map(|p| p.backup)
            .collect();
        // Newest first, so a recreated task takes its newest definition.
        for id in d.list_backups()?.into_iter().rev() {
            if !super::ids::is_valid_backup_id(&id) || deleted.contains(&id) {
                continue;
            }
            let Some(marker) = d.read_commit(&id)? else {
                if !running.contains(&id) {
                    report.incomplete.push(id);
                }
                continue;
            };
            if known.contains(&id) {
                report.present.push(id);
                continue;
            }
            let mut rec = marker.backup;
            rec.destinations = vec![dest_name.to_string()];
            rec.verified = None;
            if self.catalog.get_task(&rec.task)?.is_none() {
                let mut task = marker.task;
                let mut dests = Vec::new();
                for n in &task.destinations {
                    if self.catalog.get_destination(n)?.is_some() {
                        dests.push(n.clone());
                    }
                }
                if dests.is_empty() {
                    dests.push(dest_name.to_string());
                }
                task.destinations = dests;
                self.catalog.put_task(&task)?;
                report.tasks_added.push(task.name);
            }
            match self.catalog.put_backup(&rec) {
                Ok(()) => report.added.push(id),
                // Recorded meanwhile (e.g. a running backup committed): never replaced.
                Err(super::catalog::CatalogError::BackupExists { .. }) => report.present.push(id),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}
