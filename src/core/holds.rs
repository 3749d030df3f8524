//! What running backups depend on. A backup that reads another backup's data
//! (its parent chain, every owner of a pack its manifest will reference)
//! holds those ids until it has committed or failed; deleting or expiring a
//! held backup is refused as busy. Taking a hold and deleting are serialised
//! by one lock, so a delete either sees the hold or removed its catalog record
//! before the hold's own existence check, which then fails.

use super::error::CoreError;
use crate::model::BackupKind;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// Who holds a backup: the running job that reads from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Registry job id, when the run is a registered job.
    pub job: Option<u64>,
    /// Task of the running backup.
    pub task: String,
    /// Kind of the running backup.
    pub kind: BackupKind,
}

impl Holder {
    /// "job 4 (the incremental backup of task docs)".
    pub fn describe(&self) -> String {
        match self.job {
            Some(j) => format!("job {j} (the {} backup of task {})", self.kind, self.task),
            None => format!("the running {} backup of task {}", self.kind, self.task),
        }
    }

    /// The operator's way out, e.g. "wait for it to finish or cancel it with …".
    pub fn remedy(&self) -> String {
        match self.job {
            Some(j) => format!(
                "wait for it to finish or cancel it with 'strata jobs cancel {j}', then retry"
            ),
            None => "wait for it to finish, then retry".into(),
        }
    }
}

struct Hold {
    holder: Holder,
    ids: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    next: u64,
    holds: BTreeMap<u64, Hold>,
}

/// The holds of every running backup in this process.
#[derive(Default)]
pub struct Holds {
    state: Mutex<State>,
}

/// A running backup's hold; dropping it releases the held ids.
pub struct HoldGuard<'a> {
    holds: &'a Holds,
    key: u64,
}

impl Drop for HoldGuard<'_> {
    fn drop(&mut self) {
        self.holds.lock().holds.remove(&self.key);
    }
}

impl Holds {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Holds `ids` for `holder` once `still_there` (run under the lock, so no
    /// delete can slip in between) confirms they all still exist.
    pub fn hold(
        &self,
        holder: Holder,
        ids: impl IntoIterator<Item = String>,
        still_there: impl FnOnce(&BTreeSet<String>) -> Result<(), CoreError>,
    ) -> Result<HoldGuard<'_>, CoreError> {
        let ids: BTreeSet<String> = ids.into_iter().collect();
        let mut st = self.lock();
        still_there(&ids)?;
        st.next += 1;
        let key = st.next;
        st.holds.insert(key, Hold { holder, ids });
        Ok(HoldGuard { holds: self, key })
    }

    /// Adds `ids` to a hold, with the same check as [`Holds::hold`].
    pub fn extend(
        &self,
        guard: &HoldGuard<'_>,
        ids: impl IntoIterator<Item = String>,
        still_there: impl FnOnce(&BTreeSet<String>) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        let ids: BTreeSet<String> = ids.into_iter().collect();
        let mut st = self.lock();
        still_there(&ids)?;
        if let Some(h) = st.holds.get_mut(&guard.key) {
            h.ids.extend(ids);
        }
        Ok(())
    }

    /// Every id the hold covers.
    pub fn held_by(&self, guard: &HoldGuard<'_>) -> BTreeSet<String> {
        self.lock()
            .holds
            .get(&guard.key)
            .map(|h| h.ids.clone())
            .unwrap_or_default()
    }

    /// The running backup that holds `id`, if any.
    pub fn holder_of(&self, id: &str) -> Option<Holder> {
        self.lock()
            .holds
            .values()
            .find(|h| h.ids.contains(id))
            .map(|h| h.holder.clone())
    }

    /// Runs `f` (which removes `ids`) under the lock, or refuses with exit 5
    /// naming the job when a running backup holds one of them.
    pub fn without_holders<R>(
        &self,
        ids: &[String],
        f: impl FnOnce() -> Result<R, CoreError>,
    ) -> Result<R, CoreError> {
        let st = self.lock();
        for id in ids {
            if let Some(h) = st.holds.values().find(|h| h.ids.contains(id)) {
                return Err(CoreError::Busy(format!(
                    "backup {id} is in use by {}, which reads data from it; {}",
                    h.holder.describe(),
                    h.holder.remedy()
                )));
            }
        }
        let out = f();
        drop(st);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            job: Some(3),
            task: "docs".into(),
            kind: BackupKind::Incremental,
        }
    }

    #[test]
    fn a_hold_refuses_removal_until_dropped() {
        let h = Holds::default();
        let g = h
            .hold(holder(), ["a".to_string(), "b".to_string()], |_| Ok(()))
            .unwrap();
        h.extend(&g, ["c".to_string()], |_| Ok(())).unwrap();
        assert_eq!(h.holder_of("c"), Some(holder()));
        match h.without_holders(&["x".into(), "b".into()], || Ok(())) {
            Err(CoreError::Busy(m)) => {
                assert!(m.contains("backup b") && m.contains("job 3"), "{m}");
                assert!(m.contains("strata jobs cancel 3"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(h.without_holders(&["x".into()], || Ok(())).is_ok());
        drop(g);
        assert_eq!(h.holder_of("a"), None);
        assert!(h.without_holders(&["a".into()], || Ok(())).is_ok());
    }

    #[test]
    fn a_failed_check_takes_no_hold() {
        let h = Holds::default();
        let r = h.hold(holder(), ["a".to_string()], |_| {
            Err(CoreError::Failed("gone".into()))
        });
        assert!(r.is_err());
        assert_eq!(h.holder_of("a"), None);
    }
}
