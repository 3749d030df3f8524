//! The question `d` asks before deleting a backup: what goes (the backup and
//! every backup that depends on it) and how many bytes that frees on which
//! destinations, from the sizes the catalog recorded (no I/O: App is pure).

use super::source::Snapshot;
use crate::command::render::size;
use crate::core::backups::BackupRow;
use crate::model::CopyState;
use std::collections::BTreeSet;

/// Names joined for a sentence: `nas`, `nas and usb`, `nas, usb and s3`.
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What deleting `victims` frees: `frees 1.2 GiB on nas and usb`, `size
/// unknown` when no size was recorded, `frees at least …` when only some were.
pub fn frees(victims: &[&BackupRow]) -> String {
    let mut bytes = 0u64;
    let mut unknown = 0usize;
    let mut dests: BTreeSet<&str> = BTreeSet::new();
    for v in victims {
        let b = &v.record;
        // Only complete copies hold the backup's data; what a failed copy
        // left was cleaned up when it failed.
        let held: Vec<String> = b
            .copies()
            .into_iter()
            .filter(|c| c.state == CopyState::Complete)
            .map(|c| c.destination)
            .collect();
        if held.is_empty() {
            continue;
        }
        // A backup always writes a manifest: 0 means the size was never recorded.
        if b.stored_bytes == 0 {
            unknown += 1;
        }
        bytes = bytes.saturating_add(b.stored_bytes.saturating_mul(held.len() as u64));
        for d in &b.destinations {
            if held.contains(d) {
                dests.insert(d.as_str());
            }
        }
    }
    let dests: Vec<&str> = dests.into_iter().collect();
    if dests.is_empty() {
        return "frees nothing: no destination holds a complete copy".into();
    }
    let place = if dests.len() > 3 {
        format!("{} destinations", dests.len())
    } else if dests.len() > 1 {
        format!("{} destinations ({})", dests.len(), listed(&dests))
    } else {
        listed(&dests)
    };
    let n = victims.len();
    if unknown == n {
        return format!("size unknown (none recorded) on {place}");
    }
    if unknown > 0 {
        return format!(
            "frees at least {} on {place} ({unknown} of the {n} backups have no recorded size)",
            size(bytes)
        );
    }
    format!("frees {} on {place}", size(bytes))
}

/// The question for deleting `r` and `deps` (its dependents, every one).
pub fn prompt(s: &Snapshot, r: &BackupRow, deps: &[String]) -> String {
    let b = &r.record;
    let partial = if b.status == crate::model::BackupStatus::Partial {
        ", partial"
    } else {
        ""
    };
    let what = format!("backup {} ({}, {}{partial})", b.id, b.kind, b.task);
    let victims: Vec<&BackupRow> = std::iter::once(r)
        .chain(s.backups.iter().filter(|x| deps.contains(&x.record.id)))
        .collect();
    let frees = frees(&victims);
    if deps.is_empty() {
        return format!("Delete {what}? {frees}. y/N");
    }
    let ids = if deps.len() > 4 {
        format!("{} and {} more", deps[..4].join(", "), deps.len() - 4)
    } else {
        deps.join(", ")
    };
    format!(
        "Delete {what} AND the {} backup(s) that depend on it ({ids})? {frees}. y/N",
        deps.len()
    )
}
