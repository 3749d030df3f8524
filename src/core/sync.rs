//! `strata backup sync`: fills the missing or failed copies of backups from
//! an intact copy, oldest first so a chain's data is there before the
//! backups that reuse it, each copy checked as it is written and recorded as
//! a run of its own.

use super::action::VerifySelection;
use super::error::CoreError;
use super::jobs::claim_of;
use super::service::Core;
use crate::engine::sync::copy_backup;
use crate::model::{BackupRecord, CopyState, RunRecord, RunStatus};
use crate::progress::Progress;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One copy a sync wrote, or could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedCopy {
    /// Backup id.
    pub backup: String,
    /// Destination written.
    pub destination: String,
    /// The run that wrote it.
    pub run: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Why it could not be written (`None`: it is complete now).
    pub error: Option<String>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Copies written or attempted, in order.
    pub copies: Vec<SyncedCopy>,
    /// Backups looked at whose copies were all complete already.
    pub already_complete: usize,
}

impl SyncReport {
    /// Copies that are still not complete.
    pub fn failed(&self) -> usize {
        self.copies.iter().filter(|c| c.error.is_some()).count()
    }
}

impl Core {
    /// Fills the copies the selected backups lack (and those of the backups
    /// they depend on) from an intact copy.
    pub(crate) fn sync(
        &self,
        sel: &VerifySelection,
        progress: &Progress,
    ) -> Result<SyncReport, CoreError> {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        match sel {
            VerifySelection::One(id) => {
                let b = self.resolve_backup(id)?;
                let mut cur = Some(b);
                while let Some(b) = cur {
                    cur = match &b.parent {
                        Some(p) => self.catalog.get_backup(p)?,
                        None => None,
                    };
                    ids.insert(b.id);
                }
            }
            VerifySelection::Task(t) => {
                ids.extend(self.backups(Some(t))?.into_iter().map(|r| r.record.id));
            }
            VerifySelection::All => {
                ids.extend(self.catalog.list_backups()?.into_iter().map(|b| b.id));
            }
        }
        let mut chosen: Vec<BackupRecord> = Vec::new();
        for id in ids {
            if let Some(b) = self.catalog.get_backup(&id)? {
                chosen.push(b);
            }
        }
        // Parents finish before their children: oldest first.
        chosen.sort_by(|a, b| (a.finished, &a.id).cmp(&(b.finished, &b.id)));
        let mut report = SyncReport::default();
        for b in chosen {
            let lacking: Vec<String> = b
                .copies()
                .into_iter()
                .filter(|c| c.state != CopyState::Complete)
                .map(|c| c.destination)
                .collect();
            if lacking.is_empty() {
                report.already_complete += 1;
                continue;
            }
            for dest in lacking {
                report.copies.push(self.sync_copy(&b, &dest, progress));
            }
        }
        Ok(report)
    }

    /// Writes the copy of `b` on `dest` as a run of its own.
    fn sync_copy(&self, b: &BackupRecord, dest: &str, progress: &Progress) -> SyncedCopy {
        let mut out = SyncedCopy {
            backup: b.id.clone(),
            destination: dest.to_string(),
            run: 0,
            bytes: 0,
            error: None,
        };
        let run = RunRecord {
            id: 0,
            task: b.task.clone(),
            purpose: crate::model::RunPurpose::Sync,
            requested: b.kind,
            kind: b.kind,
            backup_id: b.id.clone(),
            destinations: vec![dest.to_string()],
            status: RunStatus::Running,
            started: Utc::now(),
            finished: None,
            message: Some(format!("copying backup {} to {dest}", b.id)),
        };
        let mut run = match self.catalog.insert_run(run) {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        };
        out.run = run.id;
        let result = self.sync_copy_run(b, dest, &run, progress);
        run.finished = Some(Utc::now());
        match &result {
            Ok(bytes) => {
                out.bytes = *bytes;
                run.status = RunStatus::Complete;
                run.message = Some(format!(
                    "copied backup {} to {dest} ({bytes} bytes, read back and checked)",
                    b.id
                ));
            }
            Err(e) => {
                out.error = Some(e.to_string());
                run.status = if progress.cancelled() {
                    RunStatus::Interrupted
                } else {
                    RunStatus::Failed
                };
                run.message = Some(format!("sync of backup {} to {dest} failed: {e}", b.id));
            }
        }
        if let Err(e) = self.catalog.update_run(&run) {
            tracing::warn!(run = run.id, "could not record the sync run: {e}");
        }
        out
    }

    fn sync_copy_run(
        &self,
        b: &BackupRecord,
        dest: &str,
        run: &RunRecord,
        progress: &Progress,
    ) -> Result<u64, CoreError> {
        let to = self.open_repo(&self.destination(dest)?)?;
        let (from, manifest) = self.readable_copy(b)?;
        // The backups whose data this one reuses must be whole there first.
        for owner in manifest.packs.iter().map(|p| &p.backup) {
            if *owner == b.id {
                continue;
            }
            let complete = self.catalog.get_backup(owner)?.is_some_and(|o| {
                o.copies()
                    .iter()
                    .any(|c| c.destination == dest && c.state == CopyState::Complete)
            });
            if !complete {
                return Err(CoreError::Failed(format!(
                    "backup {owner} of its chain has no complete copy on {dest}; sync it first ('strata backup sync {owner}')"
                )));
            }
        }
        // A copy that failed because its destination went away (a server
        // down mid-backup) could not remove what it had written there. That
        // leftover is claimed by this catalog's own run of the backup and has
        // no commit marker: it goes, so the copy can be made again.
        if let Ok(Some(left)) = to.read_claim(&b.id)
            && to.read_commit(&b.id)?.is_none()
            && self
                .catalog
                .get_run(left.run)?
                .is_some_and(|r| claim_of(&r) == left)
        {
            to.release(&left)?;
        }
        let stats = copy_backup(&from, &to, &claim_of(run), &b.manifest_hash, progress)?;
        self.set_copy_complete(&b.id, dest)?;
        Ok(stats.bytes)
    }

    /// The scheduler's look at copies still lacking: each one whose retry
    /// time has come is tried (oldest backup first); a failure is recorded on
    /// the copy with the next attempt, backing off from a minute to an hour.
    pub(crate) fn retry_copies(&self) -> Result<(), CoreError> {
        let mut all = self.catalog.list_backups()?;
        all.sort_by(|a, b| (a.finished, &a.id).cmp(&(b.finished, &b.id)));
        for b in all {
            for c in b.copies() {
                let due = c.retry_at.is_none_or(|t| t <= Utc::now());
                if c.state == CopyState::Complete || !due {
                    continue;
                }
                // A destination removed from the catalog is not coming back.
                if self.catalog.get_destination(&c.destination)?.is_none() {
                    continue;
                }
                let done = self.sync_copy(&b, &c.destination, &Progress::default());
                if let Some(e) = done.error {
                    self.note_retry(&b.id, &c.destination, e)?;
                }
            }
        }
        Ok(())
    }

    /// Removes the copies of deleted backups from destinations that were
    /// away when they were deleted, now that they are back.
    pub(crate) fn apply_pending_deletions(&self) -> Result<(), CoreError> {
        let mut done = Vec::new();
        for p in self.catalog.pending_deletions()? {
            // A destination no longer defined holds nothing Strata will read.
            let Some(cfg) = self.catalog.get_destination(&p.destination)? else {
                done.push(p);
                continue;
            };
            let Ok(repo) = self.open_repo(&cfg) else {
                continue;
            };
            // Recorded again meanwhile (a catalog rebuild): it is wanted after all.
            if self.catalog.get_backup(&p.backup)?.is_none() {
                repo.retire(&p.backup)?;
                repo.delete_backup(&p.backup)?;
                self.audit_system(
                    "backup delete",
                    &p.backup,
                    &format!("ok: the deletion queued for {} is applied", p.destination),
                );
            }
            done.push(p);
        }
        if !done.is_empty() {
            self.catalog.finish_deletions(&done)?;
        }
        Ok(())
    }

    fn note_retry(&self, id: &str, dest: &str, error: String) -> Result<(), CoreError> {
        let Some(mut rec) = self.catalog.get_backup(id)? else {
            return Ok(());
        };
        let mut copies = rec.copies();
        for c in copies.iter_mut().filter(|c| c.destination == dest) {
            c.attempts = c.attempts.saturating_add(1);
            c.retry_at = Some(Utc::now() + retry_delay(c.attempts));
            c.error = Some(error.clone());
        }
        rec.copies = copies;
        self.catalog.update_backup(&rec)?;
        Ok(())
    }

    /// Records that `dest` now holds a complete copy of backup `id`.
    pub(super) fn set_copy_complete(&self, id: &str, dest: &str) -> Result<(), CoreError> {
        let Some(mut rec) = self.catalog.get_backup(id)? else {
            return Err(CoreError::Failed(format!(
                "backup {id} was deleted while its copy on {dest} was written; the copy is removed at the next prune of that destination"
            )));
        };
        let mut copies = rec.copies();
        for c in &mut copies {
            if c.destination == dest {
                c.state = CopyState::Complete;
                c.error = None;
                c.attempts = 0;
                c.retry_at = None;
            }
        }
        rec.copies = copies;
        self.catalog.update_backup(&rec)?;
        Ok(())
    }
}

/// Wait before the scheduler's next try of a copy that failed `attempts`
/// times: a minute, doubling, at most an hour. `STRATA_TEST_SYNC_RETRY_SECS`
/// replaces the minute, so tests need not wait for it.
fn retry_delay(attempts: u32) -> chrono::Duration {
    let base = std::env::var("STRATA_TEST_SYNC_RETRY_SECS")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(60);
    let factor = 1i64 << attempts.saturating_sub(1).min(6);
    chrono::Duration::seconds(base.saturating_mul(factor).min(3600))
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_back_off_from_a_minute_to_an_hour() {
        let secs: Vec<i64> = (1..=9)
            .map(|a| super::retry_delay(a).num_seconds())
            .collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }
}
