//! The FLAGS columns: one ASCII character per flag, so a narrow terminal
//! never loses one and a plain or mono terminal shows the same marks. The
//! `?` help and docs/console.md carry the legend from these tables.

use super::keymap::View;
use super::source::Snapshot;
use crate::core::backups::BackupRow;
use crate::core::rows::TaskRow;
use crate::model::CatchUp;

/// Flags of a task: (mark, meaning), in the order they are shown.
pub const TASK: [(char, &str); 5] = [
    ('E', "writes to an encrypted destination"),
    ('H', "runs hooks around each backup"),
    ('V', "verified on a schedule"),
    ('A', "has its own alert settings"),
    ('S', "skips missed runs (catch_up = skip)"),
];

/// Flags of a backup: (mark, meaning), in the order they are shown.
pub const BACKUP: [(char, &str); 5] = [
    ('M', "manual (backup now)"),
    ('P', "pinned: never expires, refuses deletion"),
    ('E', "on an encrypted destination"),
    ('V', "last verify passed"),
    ('!', "DAMAGED: last verify failed"),
];

/// The marks of `set` that `on` selects, in table order.
fn marks(set: &[(char, &str)], on: &[bool]) -> String {
    set.iter()
        .zip(on)
        .filter(|(_, on)| **on)
        .map(|((c, _), _)| *c)
        .collect()
}

/// A task's flags, e.g. `EHV`.
pub fn task(r: &TaskRow, s: &Snapshot) -> String {
    let t = &r.task;
    let encrypted = s
        .destinations
        .iter()
        .any(|d| d.config.encryption.is_some() && t.destinations.contains(&d.config.name));
    marks(
        &TASK,
        &[
            encrypted,
            !t.hooks.is_empty(),
            t.verify.is_some(),
            t.notify.is_some(),
            t.catch_up == CatchUp::Skip,
        ],
    )
}

/// A backup's flags, e.g. `MPV`; `!` when its last verification failed.
pub fn backup(r: &BackupRow) -> String {
    let b = &r.record;
    let verified = b.verified.as_ref().map(|v| v.ok);
    marks(
        &BACKUP,
        &[
            b.manual,
            b.pinned,
            r.encrypted,
            verified == Some(true),
            verified == Some(false),
        ],
    )
}

/// The legend of a view's FLAGS column for the `?` help (empty for views
/// without one).
pub fn legend(view: View) -> &'static [(char, &'static str)] {
    match view {
        View::Tasks => &TASK,
        View::Backups => &BACKUP,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_one_ascii_column_and_distinct_per_view() {
        for set in [&TASK[..], &BACKUP[..]] {
            let mut seen = std::collections::HashSet::new();
            for (c, _) in set {
                assert!(c.is_ascii_graphic(), "{c}");
                assert!(seen.insert(*c), "{c} twice");
            }
        }
    }

    #[test]
    fn console_doc_carries_the_legends() {
        let doc = include_str!("../../docs/console.md");
        for (c, m) in TASK.iter().chain(BACKUP.iter()) {
            let row = format!("| `{c}` | {m} |");
            assert!(doc.contains(&row), "docs/console.md lacks the row {row}");
        }
    }
}
