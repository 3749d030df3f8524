//! The catalog: an embedded redb database of destinations, tasks, committed backups and
//! runs. Changes that must stay consistent with each other share one write transaction.

use crate::model::{AuditEntry, BackupRecord, DestinationConfig, RunRecord, RunStatus, TaskConfig};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use redb::{TableHandle, WriteTransaction};
use serde::{Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};

/// Version of the table layout this build writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

type StrTable = TableDefinition<'static, &'static str, &'static [u8]>;
type Result<T> = std::result::Result<T, CatalogError>;

const META: StrTable = TableDefinition::new("meta");
const DESTINATIONS: StrTable = TableDefinition::new("destinations");
const TASKS: StrTable = TableDefinition::new("tasks");
const BACKUPS: StrTable = TableDefinition::new("backups");
const RUNS: TableDefinition<'static, u64, &'static [u8]> = TableDefinition::new("runs");
const AUDIT: TableDefinition<'static, u64, &'static [u8]> = TableDefinition::new("audit");
const SCHEMA_KEY: &str = "schema_version";
/// Key in `meta` of the copies of deleted backups still to remove.
const PENDING_KEY: &str = "pending_deletions";

/// A copy of a deleted backup on a destination that was away when it was
/// deleted: removed there when it is back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PendingDeletion {
    /// Backup id.
    pub backup: String,
    /// Destination name.
    pub destination: String,
    /// When it was deleted from the catalog.
    pub since: chrono::DateTime<chrono::Utc>,
    /// Why the destination could not be reached then.
    pub error: String,
}
#[path = "catalog_error.rs"]
mod error;
pub use error::CatalogError;
use error::Ctx;
#[path = "catalog_open.rs"]
mod open;
use open::{owner_path, read_owner};

/// The embedded catalog database; redb allows one open handle per file at a time.
pub struct Catalog {
    db: Database,
    path: PathBuf,
}

impl Catalog {
    /// Path of the catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, detail: String) -> CatalogError {
        CatalogError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }

    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(value).map_err(|e| CatalogError::Storage {
            path: self.path.clone(),
            detail: format!("could not encode a record: {e}"),
        })
    }

    fn decode<T: DeserializeOwned>(&self, table: &str, key: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| {
            self.corrupt(format!(
                "record {key:?} in table {table} does not decode: {e}"
            ))
        })
    }

    /// Runs `f` in one write transaction and commits only if it succeeded; dropping
    /// the transaction on error aborts it, so nothing half-applied is ever visible.
    fn write<R>(&self, f: impl FnOnce(&WriteTransaction) -> Result<R>) -> Result<R> {
        let txn = self.db.begin_write().ctx(self)?;
        let out = f(&txn)?;
        txn.commit().ctx(self)?;
        Ok(out)
    }

    fn put_str<T: Serialize>(&self, table: StrTable, key: &str, value: &T) -> Result<()> {
        let bytes = self.encode(value)?;
        self.write(|txn| {
            txn.open_table(table)
                .ctx(self)?
                .insert(key, bytes.as_slice())
                .ctx(self)?;
            Ok(())
        })
    }

    fn get_str<T: DeserializeOwned>(&self, table: StrTable, key: &str) -> Result<Option<T>> {
        let txn = self.db.begin_read().ctx(self)?;
        let raw = txn.open_table(table).ctx(self)?.get(key).ctx(self)?;
        raw.map(|v| self.decode(table.name(), key, v.value()))
            .transpose()
    }

    /// redb iterates keys in byte order, which for UTF-8 names is sorted by name.
    fn list_str<T: DeserializeOwned>(&self, table: StrTable) -> Result<Vec<T>> {
        let txn = self.db.begin_read().ctx(self)?;
        let t = txn.open_table(table).ctx(self)?;
        let mut out = Vec::new();
        for item in t.iter().ctx(self)? {
            let (k, v) = item.ctx(self)?;
            out.push(self.decode(table.name(), k.value(), v.value())?);
        }
        Ok(out)
    }

    fn remove_str(&self, table: StrTable, key: &str) -> Result<bool> {
        self.write(|txn| {
            Ok(txn
                .open_table(table)
                .ctx(self)?
                .remove(key)
                .ctx(self)?
                .is_some())
        })
    }

    /// Adds or replaces a destination.
    pub fn put_destination(&self, dest: &DestinationConfig) -> Result<()> {
        self.put_str(DESTINATIONS, &dest.name, dest)
    }

    /// The destination called `name`, if defined.
    pub fn get_destination(&self, name: &str) -> Result<Option<DestinationConfig>> {
        self.get_str(DESTINATIONS, name)
    }

    /// All destinations, sorted by name.
    pub fn list_destinations(&self) -> Result<Vec<DestinationConfig>> {
        self.list_str(DESTINATIONS)
    }

    /// Removes a destination; `false` when it did not exist.
    pub fn remove_destination(&self, name: &str) -> Result<bool> {
        self.remove_str(DESTINATIONS, name)
    }

    /// Adds or replaces a task.
    pub fn put_task(&self, task: &TaskConfig) -> Result<()> {
        self.put_str(TASKS, &task.name, task)
    }

    /// The task called `name`, if defined.
    pub fn get_task(&self, name: &str) -> Result<Option<TaskConfig>> {
        self.get_str(TASKS, name)
    }

    /// All tasks, sorted by name.
    pub fn list_tasks(&self) -> Result<Vec<TaskConfig>> {
        self.list_str(TASKS)
    }

    /// Removes a task; `false` when it did not exist.
    pub fn remove_task(&self, name: &str) -> Result<bool> {
        self.remove_str(TASKS, name)
    }

    /// Records a new backup. An id is never reused: when a record with this id
    /// exists, nothing is written and the error is [`CatalogError::BackupExists`].
    pub fn put_backup(&self, backup: &BackupRecord) -> Result<()> {
        let bytes = self.encode(backup)?;
        self.write(|txn| {
            let mut t = txn.open_table(BACKUPS).ctx(self)?;
            self.refuse_existing(&t, &backup.id)?;
            t.insert(backup.id.as_str(), bytes.as_slice()).ctx(self)?;
            Ok(())
        })
    }

    /// Replaces the record of an existing backup (after verification or
    /// pinning). Returns `false`, writing nothing, when the backup is gone, so
    /// a verify racing a delete never brings the record back.
    pub fn update_backup(&self, backup: &BackupRecord) -> Result<bool> {
        let bytes = self.encode(backup)?;
        self.write(|txn| {
            let mut t = txn.open_table(BACKUPS).ctx(self)?;
            if t.get(backup.id.as_str()).ctx(self)?.is_none() {
                return Ok(false);
            }
            t.insert(backup.id.as_str(), bytes.as_slice()).ctx(self)?;
            Ok(true)
        })
    }

    fn refuse_existing(
        &self,
        t: &redb::Table<'_, &'static str, &'static [u8]>,
        id: &str,
    ) -> Result<()> {
        if t.get(id).ctx(self)?.is_some() {
            return Err(CatalogError::BackupExists {
                path: self.path.clone(),
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// The backup with this id, if known.
    pub fn get_backup(&self, id: &str) -> Result<Option<BackupRecord>> {
        self.get_str(BACKUPS, id)
    }

    /// All backups, oldest first; the id breaks ties so the order is stable.
    pub fn list_backups(&self) -> Result<Vec<BackupRecord>> {
        let mut all: Vec<BackupRecord> = self.list_str(BACKUPS)?;
        all.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Forgets these backups in one transaction, so an expiry never half-applies.
    /// Unknown ids are ignored.
    pub fn remove_backups(&self, ids: &[String]) -> Result<()> {
        self.remove_backups_leaving(ids, &[])
    }

    /// [`Catalog::remove_backups`], recording in the same transaction the
    /// copies that could not be deleted yet (their destination was away).
    pub fn remove_backups_leaving(
        &self,
        ids: &[String],
        pending: &[PendingDeletion],
    ) -> Result<()> {
        self.write(|txn| {
            let mut t = txn.open_table(BACKUPS).ctx(self)?;
            for id in ids {
                t.remove(id.as_str()).ctx(self)?;
            }
            if !pending.is_empty() {
                // Read and written in this transaction: two deletions never lose one.
                self.edit_pending(txn, |all| {
                    for p in pending {
                        if !all.contains(p) {
                            all.push(p.clone());
                        }
                    }
                })?;
            }
            Ok(())
        })
    }

    fn edit_pending(
        &self,
        txn: &WriteTransaction,
        f: impl FnOnce(&mut Vec<PendingDeletion>),
    ) -> Result<()> {
        let mut m = txn.open_table(META).ctx(self)?;
        let mut all: Vec<PendingDeletion> = match m.get(PENDING_KEY).ctx(self)? {
            Some(v) => self.decode(META.name(), PENDING_KEY, v.value())?,
            None => Vec::new(),
        };
        f(&mut all);
        let bytes = self.encode(&all)?;
        m.insert(PENDING_KEY, bytes.as_slice()).ctx(self)?;
        Ok(())
    }

    /// Copies of deleted backups still to be removed from their destination.
    pub fn pending_deletions(&self) -> Result<Vec<PendingDeletion>> {
        Ok(self.get_str(META, PENDING_KEY)?.unwrap_or_default())
    }

    /// Marks pending deletions done (removed from their destination).
    pub fn finish_deletions(&self, done: &[PendingDeletion]) -> Result<()> {
        self.write(|txn| self.edit_pending(txn, |all| all.retain(|p| !done.contains(p))))
    }

    /// Stores a new run under the next id (ids start at 1) and returns it as stored.
    /// The id is chosen in the insert's transaction so two runs never share one.
    pub fn insert_run(&self, mut run: RunRecord) -> Result<RunRecord> {
        self.write(|txn| {
            let mut t = txn.open_table(RUNS).ctx(self)?;
            run.id = t.last().ctx(self)?.map_or(0, |(k, _)| k.value()) + 1;
            t.insert(run.id, self.encode(&run)?.as_slice()).ctx(self)?;
            Ok(())
        })?;
        Ok(run)
    }

    /// Replaces the stored run with the same id.
    pub fn update_run(&self, run: &RunRecord) -> Result<()> {
        let bytes = self.encode(run)?;
        self.write(|txn| {
            txn.open_table(RUNS)
                .ctx(self)?
                .insert(run.id, bytes.as_slice())
                .ctx(self)?;
            Ok(())
        })
    }

    /// Every run, oldest (lowest id) first.
    pub fn list_runs(&self) -> Result<Vec<RunRecord>> {
        let txn = self.db.begin_read().ctx(self)?;
        let t = txn.open_table(RUNS).ctx(self)?;
        let mut out = Vec::new();
        for item in t.iter().ctx(self)? {
            let (k, v) = item.ctx(self)?;
            out.push(self.decode("runs", &k.value().to_string(), v.value())?);
        }
        Ok(out)
    }

    /// Runs still marked running: after a crash, the ones recovery must clean up.
    pub fn running_runs(&self) -> Result<Vec<RunRecord>> {
        let mut runs = self.list_runs()?;
        runs.retain(|r| r.status == RunStatus::Running);
        Ok(runs)
    }

    /// Runs still marked queued: after a crash, the ones that never started.
    pub fn queued_runs(&self) -> Result<Vec<RunRecord>> {
        let mut runs = self.list_runs()?;
        runs.retain(|r| r.status == RunStatus::Queued);
        Ok(runs)
    }

    /// The run with this id, if any.
    pub fn get_run(&self, id: u64) -> Result<Option<RunRecord>> {
        let txn = self.db.begin_read().ctx(self)?;
        let t = txn.open_table(RUNS).ctx(self)?;
        match t.get(id).ctx(self)? {
            Some(v) => Ok(Some(self.decode("runs", &id.to_string(), v.value())?)),
            None => Ok(None),
        }
    }

    /// Appends an audit entry under the next id and returns it as stored.
    pub fn append_audit(&self, mut entry: AuditEntry) -> Result<AuditEntry> {
        self.write(|txn| {
            let mut t = txn.open_table(AUDIT).ctx(self)?;
            entry.id = t.last().ctx(self)?.map_or(0, |(k, _)| k.value()) + 1;
            t.insert(entry.id, self.encode(&entry)?.as_slice())
                .ctx(self)?;
            Ok(())
        })?;
        Ok(entry)
    }

    /// The newest `n` audit entries, oldest first, read from the end of the
    /// table (the log only grows; front ends refresh this several times a second).
    pub fn audit_tail(&self, n: usize) -> Result<Vec<AuditEntry>> {
        let txn = self.db.begin_read().ctx(self)?;
        let t = txn.open_table(AUDIT).ctx(self)?;
        let mut out = Vec::new();
        for item in t.iter().ctx(self)?.rev().take(n) {
            let (k, v) = item.ctx(self)?;
            out.push(self.decode("audit", &k.value().to_string(), v.value())?);
        }
        out.reverse();
        Ok(out)
    }

    /// Audit entries, oldest first.
    pub fn list_audit(&self) -> Result<Vec<AuditEntry>> {
        let txn = self.db.begin_read().ctx(self)?;
        let t = txn.open_table(AUDIT).ctx(self)?;
        let mut out = Vec::new();
        for item in t.iter().ctx(self)? {
            let (k, v) = item.ctx(self)?;
            out.push(self.decode("audit", &k.value().to_string(), v.value())?);
        }
        Ok(out)
    }

    /// Records a finished backup and its run together. This commit is the moment the
    /// backup exists: a crash leaves both records or neither, never a backup whose run
    /// still says running (recovery would delete its data) or the reverse.
    ///
    /// In the same transaction it checks that no backup has this id
    /// ([`CatalogError::BackupExists`]) and that every backup in `requires` (those
    /// whose data the new one references) is still recorded
    /// ([`CatalogError::DependencyGone`]); either way nothing is written.
    pub fn commit_backup(
        &self,
        backup: &BackupRecord,
        run: &RunRecord,
        requires: &[String],
    ) -> Result<()> {
        let (backup_bytes, run_bytes) = (self.encode(backup)?, self.encode(run)?);
        self.write(|txn| {
            let mut b = txn.open_table(BACKUPS).ctx(self)?;
            self.refuse_existing(&b, &backup.id)?;
            for id in requires {
                if b.get(id.as_str()).ctx(self)?.is_none() {
                    return Err(CatalogError::DependencyGone {
                        path: self.path.clone(),
                        backup: backup.id.clone(),
                        missing: id.clone(),
                    });
                }
            }
            b.insert(backup.id.as_str(), backup_bytes.as_slice())
                .ctx(self)?;
            txn.open_table(RUNS)
                .ctx(self)?
                .insert(run.id, run_bytes.as_slice())
                .ctx(self)?;
            Ok(())
        })
    }

    /// Adds or replaces these destinations and tasks in one transaction, so a
    /// declarative apply lands completely or not at all.
    pub fn put_config(&self, dests: &[DestinationConfig], tasks: &[TaskConfig]) -> Result<()> {
        let dests = dests
            .iter()
            .map(|d| Ok((d.name.as_str(), self.encode(d)?)))
            .collect::<Result<Vec<_>>>()?;
        let tasks = tasks
            .iter()
            .map(|t| Ok((t.name.as_str(), self.encode(t)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write(|txn| {
            for (table, records) in [(DESTINATIONS, &dests), (TASKS, &tasks)] {
                let mut t = txn.open_table(table).ctx(self)?;
                for (key, bytes) in records {
                    t.insert(*key, bytes.as_slice()).ctx(self)?;
                }
            }
            Ok(())
        })
    }
}

impl Drop for Catalog {
    /// Removes the owner file only if it is still ours: once our lock is released a
    /// later process may already have written its own.
    fn drop(&mut self) {
        if read_owner(&self.path).is_some_and(|o| o.pid == std::process::id()) {
            let _ = std::fs::remove_file(owner_path(&self.path));
        }
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
