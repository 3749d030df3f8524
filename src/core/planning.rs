//! Planning a run: its effective kind and parent by the chain rules, the
//! hold on every backup it will read from, taken before any data is written,
//! and the catalog record of what the plan stored (`record_of`).

use super::error::CoreError;
use super::holds::{HoldGuard, Holder};
use super::jobs::KindPlan;
use super::service::Core;
use crate::engine::backup::{BackupPlan, BackupStats};
use crate::model::{BackupKind, BackupRecord, TaskConfig};
use chrono::Utc;
use std::collections::BTreeSet;

impl Core {
    /// Picks the effective kind and parent for a request, per the chain rules:
    /// a full depends on nothing, an incremental on the newest backup of the newest
    /// chain, a differential on that chain's full.
    pub fn plan_kind(
        &self,
        task: &str,
        requested: BackupKind,
    ) -> Result<(BackupKind, Option<BackupRecord>, Option<String>), CoreError> {
        let backups: Vec<BackupRecord> = self
            .catalog
            .list_backups()?
            .into_iter()
            .filter(|b| b.task == task)
            .collect();
        let newest_full = backups
            .iter()
            .filter(|b| b.kind == BackupKind::Full)
            .max_by_key(|b| (b.finished, b.id.clone()));
        match (requested, newest_full) {
            (BackupKind::Full, _) => Ok((BackupKind::Full, None, None)),
            (k, None) => Ok((
                BackupKind::Full,
                None,
                Some(format!(
                    "task {task} has no full backup yet, so this {k} backup was taken as a full"
                )),
            )),
            (BackupKind::Differential, Some(full)) => {
                Ok((BackupKind::Differential, Some(full.clone()), None))
            }
            (BackupKind::Incremental, Some(full)) => {
                let newest = backups
                    .iter()
                    .filter(|b| b.chain == full.id)
                    .max_by_key(|b| (b.finished, b.id.clone()))
                    .unwrap_or(full);
                Ok((BackupKind::Incremental, Some(newest.clone()), None))
            }
        }
    }

    /// Fails with `NotFound` naming the first of `ids` the catalog no longer has.
    pub(super) fn require_recorded(&self, ids: &BTreeSet<String>) -> Result<(), CoreError> {
        for id in ids {
            if self.catalog.get_backup(id)?.is_none() {
                return Err(CoreError::NotFound {
                    what: "backup",
                    name: id.clone(),
                    hint: "it was deleted while a backup that depends on it was starting".into(),
                });
            }
        }
        Ok(())
    }

    /// `parent` and every backup it depends on by its parent links.
    fn ancestry(&self, parent: &BackupRecord) -> Result<BTreeSet<String>, CoreError> {
        let all = self.catalog.list_backups()?;
        let mut out = BTreeSet::new();
        let mut cur = Some(parent.id.clone());
        while let Some(id) = cur {
            if !out.insert(id.clone()) {
                break;
            }
            cur = all
                .iter()
                .find(|b| b.id == id)
                .and_then(|b| b.parent.clone());
        }
        Ok(out)
    }

    /// Plans the kind and parent and holds the parent's chain, so it cannot be
    /// deleted or expired while this run reads from it. A delete that slips in
    /// between planning and holding makes it plan again.
    pub(super) fn plan_and_hold(
        &self,
        job: Option<u64>,
        task_name: &str,
        requested: BackupKind,
    ) -> Result<(KindPlan, Option<HoldGuard<'_>>), CoreError> {
        for _ in 0..4 {
            let (kind, parent, note) = self.plan_kind(task_name, requested)?;
            let Some(p) = &parent else {
                return Ok(((kind, parent, note), None));
            };
            let holder = Holder {
                job,
                task: task_name.to_string(),
                kind,
            };
            match self
                .jobs
                .holds
                .hold(holder, self.ancestry(p)?, |ids| self.require_recorded(ids))
            {
                Ok(g) => return Ok(((kind, parent, note), Some(g))),
                Err(CoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::Busy(format!(
            "task {task_name}: its backups kept being deleted while this backup was starting; retry when the deletions are done"
        )))
    }
}

/// The catalog record of the backup `plan` stored with `stats`.
pub(super) fn record_of(
    plan: &BackupPlan<'_>,
    task: &TaskConfig,
    manual: bool,
    stats: &BackupStats,
) -> BackupRecord {
    BackupRecord {
        id: plan.backup_id.clone(),
        task: task.name.clone(),
        kind: plan.kind,
        manual,
        parent: plan.parent.map(|(p, _)| p.id.clone()),
        chain: stats.chain.clone(),
        status: stats.status(),
        started: plan.started,
        finished: Utc::now(),
        logical_bytes: stats.logical_bytes,
        stored_bytes: stats.stored_bytes,
        file_count: stats.file_count,
        entry_count: stats.entry_count,
        changed_files: stats.changed_files,
        errors: stats.errors.clone(),
        warnings: stats.warnings.clone(),
        destinations: task.destinations.clone(),
        manifest_hash: stats.manifest_hash.clone(),
        pinned: false,
        verified: None,
        copies: Vec::new(),
    }
}
