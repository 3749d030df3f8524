//! Sort orders of the Backups view, cycled with one key.

use crate::core::backups::BackupRow;
use crate::model::BackupKind;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The column the Backups view is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Finish time.
    Time,
    /// Stored bytes.
    Stored,
    /// Logical bytes.
    Logical,
}

/// A sort order: column and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// Column.
    pub key: SortKey,
    /// Largest (or newest) first.
    pub desc: bool,
}

impl Default for Sort {
    /// Newest first, as the Backups view has always been.
    fn default() -> Self {
        Sort {
            key: SortKey::Time,
            desc: true,
        }
    }
}

impl Sort {
    /// The next order: newest/oldest first, then stored, then logical size,
    /// largest first before smallest first.
    pub fn next(self) -> Sort {
        use SortKey::*;
        match (self.key, self.desc) {
            (Time, true) => Sort {
                key: Time,
                desc: false,
            },
            (Time, false) => Sort {
                key: Stored,
                desc: true,
            },
            (Stored, true) => Sort {
                key: Stored,
                desc: false,
            },
            (Stored, false) => Sort {
                key: Logical,
                desc: true,
            },
            (Logical, true) => Sort {
                key: Logical,
                desc: false,
            },
            (Logical, false) => Sort::default(),
        }
    }

    /// Words for the notice line, e.g. `stored size, largest first`.
    pub fn describe(self) -> &'static str {
        use SortKey::*;
        match (self.key, self.desc) {
            (Time, true) => "time, newest first",
            (Time, false) => "time, oldest first",
            (Stored, true) => "stored size, largest first",
            (Stored, false) => "stored size, smallest first",
            (Logical, true) => "logical size, largest first",
            (Logical, false) => "logical size, smallest first",
        }
    }

    /// The header with the sort arrow on its column. The arrow shows how the
    /// column's value runs down the list, so newest first is `AGE ↑`.
    pub fn header(self, column: &'static str) -> String {
        let arrow = match (self.key, column) {
            (SortKey::Time, "AGE") => Some(!self.desc),
            (SortKey::Stored, "STORED") | (SortKey::Logical, "LOGICAL") => Some(self.desc),
            _ => None,
        };
        match arrow {
            Some(true) => format!("{column} ↓"),
            Some(false) => format!("{column} ↑"),
            None => column.to_string(),
        }
    }

    /// Orders rows given oldest first (as the catalog lists them). Ties keep
    /// the time order, so the result never flickers between refreshes. By
    /// time, chains stay whole: each chain's full, then its dependents
    /// oldest first, chains ordered by their newest backup.
    pub fn apply(self, rows: &mut [&BackupRow]) {
        match self.key {
            SortKey::Time => {
                by_chain(rows, self.desc);
                return;
            }
            SortKey::Stored => rows.sort_by_key(|r| r.record.stored_bytes),
            SortKey::Logical => rows.sort_by_key(|r| r.record.logical_bytes),
        }
        if self.desc {
            rows.reverse();
        }
    }
}

/// Chains together, newest chain first (or last), each read top to bottom.
fn by_chain<'a>(rows: &mut [&'a BackupRow], newest_first: bool) {
    // A chain's place is its newest backup (finish time, then id: unique).
    let mut newest: HashMap<&'a str, (DateTime<Utc>, &'a str)> = HashMap::new();
    for &r in rows.iter() {
        let at = (r.record.finished, r.record.id.as_str());
        newest
            .entry(r.record.chain.as_str())
            .and_modify(|e| *e = (*e).max(at))
            .or_insert(at);
    }
    let place = |r: &BackupRow| newest.get(r.record.chain.as_str()).copied();
    rows.sort_by(|a, b| {
        let chains = if newest_first {
            place(b).cmp(&place(a))
        } else {
            place(a).cmp(&place(b))
        };
        let within = |r: &BackupRow| (r.record.kind != BackupKind::Full, r.record.finished);
        chains
            .then_with(|| a.record.chain.cmp(&b.record.chain))
            .then_with(|| within(a).cmp(&within(b)))
            .then_with(|| a.record.id.cmp(&b.record.id))
    });
}
