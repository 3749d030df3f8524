//! Opening the catalog file: creating a new one (built aside and renamed into
//! place), refusing an empty or table-less one, checking or upgrading the
//! schema, and the `.owner` sidecar naming the process that holds it.

use super::error::{Ctx, from_redb};
use super::{
    AUDIT, BACKUPS, Catalog, CatalogError, DESTINATIONS, META, RUNS, Result, SCHEMA_KEY,
    SCHEMA_VERSION, TASKS,
};
use chrono::{SecondsFormat, Utc};
use redb::{DatabaseError, ReadableDatabase, TableError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Contents of `<catalog>.owner`: redb's lock says only *that* the file is open,
/// so this sidecar lets a refused user learn *who* holds it.
#[derive(Serialize, Deserialize)]
pub(super) struct Owner {
    pub(super) pid: u32,
    pub(super) command: String,
    pub(super) since: String,
}

pub(super) fn owner_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".owner");
    PathBuf::from(s)
}

pub(super) fn read_owner(path: &Path) -> Option<Owner> {
    serde_json::from_slice(&std::fs::read(owner_path(path)).ok()?).ok()
}

/// Creates an initialised catalog at `path`: built under a temporary name and
/// renamed into place only when its tables exist, so that any file under the
/// catalog's name that lacks them is damage, never a creation that crashed.
fn create_new(path: &Path) -> Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".creating");
    let tmp = PathBuf::from(tmp);
    let io = |detail: String| CatalogError::Storage {
        path: path.to_path_buf(),
        detail,
    };
    // A leftover from a creation that crashed holds nothing of value.
    let _ = std::fs::remove_file(&tmp);
    let db = redb::Builder::new()
        .create(&tmp)
        .map_err(|e| from_redb(path, e))?;
    let _ = crate::core::private::tighten(&tmp);
    let fresh = Catalog {
        db,
        path: tmp.clone(),
    };
    fresh.initialize()?;
    drop(fresh);
    // Another process may have created the catalog meanwhile: then theirs wins
    // and ours is discarded, so two starts never replace each other's catalog.
    let parent = path.parent().unwrap_or(Path::new("."));
    let cwd = rustix::fs::CWD;
    match rustix::fs::renameat_with(cwd, &tmp, cwd, path, rustix::fs::RenameFlags::NOREPLACE) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => {
            let _ = std::fs::remove_file(&tmp);
        }
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            // File systems without RENAME_NOREPLACE: a hard link fails if the name is taken.
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            if let Err(e) = linked
                && !path.exists()
            {
                return Err(io(format!("could not create the catalog: {e}")));
            }
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(format!("could not create the catalog: {e}")));
        }
    }
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Catalog {
    /// Opens the catalog at `path`, creating it if missing. `holder` describes this
    /// process (e.g. `strata backup run docs`) to anyone refused while it is open.
    pub fn open(path: &Path, holder: &str) -> Result<Catalog> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_new(path)?,
            // redb would take an empty file for a new database: every listing
            // would be empty and a daemon would run nothing, with no error.
            Ok(md) if md.len() == 0 => {
                return Err(CatalogError::Corrupt {
                    path: path.to_path_buf(),
                    detail: "the file is empty (0 bytes)".into(),
                });
            }
            _ => {}
        }
        let _ = crate::core::private::tighten(path);
        // The catalog is small, so a full integrity check is cheap; without it redb
        // trusts the file and may panic on damage instead of reporting it.
        let db = match redb::Builder::new()
            .set_check_integrity_on_open(true)
            .open(path)
        {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen) => {
                let holder = read_owner(path).map_or_else(
                    || "another process".to_string(),
                    |o| format!("pid {} ({}) since {}", o.pid, o.command, o.since),
                );
                return Err(CatalogError::Locked {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(e) => return Err(from_redb(path, e)),
        };
        let catalog = Catalog {
            db,
            path: path.to_path_buf(),
        };
        catalog.init_or_check()?;
        // Best effort: the owner file only improves another process's error message.
        let owner = Owner {
            pid: std::process::id(),
            command: holder.to_string(),
            since: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        if let Ok(bytes) = serde_json::to_vec(&owner) {
            let _ = crate::core::private::write(&owner_path(path), &bytes);
        }
        Ok(catalog)
    }

    fn init_or_check(&self) -> Result<()> {
        let txn = self.db.begin_read().ctx(self)?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            // A catalog file only ever appears under its name initialised
            // (`create_new`), so one with no tables lost them: truncated or
            // overwritten. Tables without meta mean it is not our catalog.
            Err(TableError::TableDoesNotExist(_))
                if txn.list_tables().ctx(self)?.next().is_none() =>
            {
                return Err(self.corrupt(
                    "it holds no tables: the file is truncated or is not a Strata catalog"
                        .to_string(),
                ));
            }
            Err(e) => return Err(from_redb(&self.path, e)),
        };
        let Some(raw) = meta.get(SCHEMA_KEY).ctx(self)? else {
            return Err(self.corrupt("no schema version recorded".to_string()));
        };
        let version = self.decode::<u32>("meta", SCHEMA_KEY, raw.value())?;
        // Every read handle must be gone before a migration writes.
        drop(raw);
        drop(meta);
        drop(txn);
        match version {
            SCHEMA_VERSION => Ok(()),
            1 => self.migrate_v1(),
            found if found > SCHEMA_VERSION => Err(CatalogError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
            found => Err(self.corrupt(format!("unknown schema version {found}"))),
        }
    }

    /// Writes the version and creates every table in one commit, so a crash never
    /// leaves a half-initialised catalog that would later look corrupt.
    fn initialize(&self) -> Result<()> {
        let version = self.encode(&SCHEMA_VERSION)?;
        self.write(|txn| {
            txn.open_table(META)
                .ctx(self)?
                .insert(SCHEMA_KEY, version.as_slice())
                .ctx(self)?;
            for t in [DESTINATIONS, TASKS, BACKUPS] {
                txn.open_table(t).ctx(self)?;
            }
            txn.open_table(RUNS).ctx(self)?;
            txn.open_table(AUDIT).ctx(self)?;
            Ok(())
        })
    }

    /// Schema 1 → 2: adds the audit table, in one commit with the new version.
    fn migrate_v1(&self) -> Result<()> {
        let version = self.encode(&SCHEMA_VERSION)?;
        self.write(|txn| {
            txn.open_table(AUDIT).ctx(self)?;
            txn.open_table(META)
                .ctx(self)?
                .insert(SCHEMA_KEY, version.as_slice())
                .ctx(self)?;
            Ok(())
        })
    }
}
