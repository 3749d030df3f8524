//! How `strata backup …` shows its outcomes: a finished or started run, the
//! backup table (optionally by chain), one backup, deletions and pins.

use super::exec::{Io, Shown, json, write_err};
use super::order::Order;
use super::render::{Table, size, time};
use crate::core::backups::BackupRow;
use crate::core::{CoreError, Outcome};
use crate::model::BackupKind;
use std::collections::BTreeMap;

fn flags(r: &BackupRow) -> String {
    let mut f = Vec::new();
    if r.record.manual {
        f.push("manual")
    }
    if r.record.pinned {
        f.push("pinned")
    }
    if r.encrypted {
        f.push("encrypted")
    }
    match &r.record.verified {
        Some(v) if v.ok => f.push("verified"),
        Some(_) => f.push("DAMAGED"),
        None => {}
    }
    f.join(",")
}

/// Rows (given oldest first) grouped by chain: each chain's full, then its
/// dependents oldest first; chains in the listing order of their newest
/// backup, so `--chain` and the plain list agree on what comes first.
fn by_chain(rows: &[BackupRow], order: Order) -> Vec<&BackupRow> {
    let mut chains: BTreeMap<&str, Vec<&BackupRow>> = BTreeMap::new();
    for r in rows {
        chains.entry(r.record.chain.as_str()).or_default().push(r);
    }
    let mut chains: Vec<Vec<&BackupRow>> = chains.into_values().collect();
    for members in &mut chains {
        members.sort_by_key(|r| (r.record.kind != BackupKind::Full, r.record.started));
    }
    // Oldest chain first, by its newest backup; then in the listing order.
    chains.sort_by_key(|m| {
        m.iter()
            .map(|r| (r.record.started, r.record.id.clone()))
            .max()
    });
    order
        .given_oldest_first(&chains)
        .into_iter()
        .flatten()
        .copied()
        .collect()
}

fn backup_table(rows: &[&BackupRow], chain: bool) -> String {
    // The SOURCE column appears once a database task is listed.
    let sources = rows
        .iter()
        .any(|r| !r.source.is_empty() && r.source != "dir");
    let mut head = vec!["ID", "TASK"];
    if sources {
        head.push("SOURCE");
    }
    head.extend([
        "KIND",
        "STATUS",
        "STARTED (UTC)",
        ">FILES",
        ">LOGICAL",
        ">STORED",
        ">RECLAIMABLE",
        "FLAGS",
    ]);
    let mut t = Table::new(&head);
    for r in rows {
        let b = &r.record;
        let kind = if chain && b.kind != BackupKind::Full {
            format!("└ {}", b.kind)
        } else {
            b.kind.to_string()
        };
        let mut row = vec![b.id.clone(), b.task.clone()];
        if sources {
            row.push(r.source.clone());
        }
        row.extend([
            kind,
            b.status_text(),
            time(&b.started),
            b.file_count.to_string(),
            size(b.logical_bytes),
            size(b.stored_bytes),
            size(r.reclaimable_bytes),
            flags(r),
        ]);
        t.row(row);
    }
    t.render()
}

pub(super) fn backup(o: &Outcome, shown: &Shown, io: &mut Io<'_>) -> Result<u8, CoreError> {
    let j = shown.json;
    match o {
        Outcome::Started { job, run, task } => {
            if j {
                say!(io, "{{\"job\": {job}, \"run\": {run}, \"task\": {task:?}}}");
            } else {
                say!(
                    io,
                    "started job {job} (run {run}, backup of {task}); follow it with 'strata jobs' and 'strata runs --task {task}'"
                );
            }
        }
        Outcome::BackedUp(outcome) => {
            let b = &outcome.backup;
            if let Some(n) = &outcome.note {
                note!(io, "strata: note: {n}");
            }
            if j {
                json(
                    io,
                    &serde_json::json!({"backup": b, "run": outcome.run, "note": outcome.note, "warnings": outcome.warnings}),
                )?;
            } else {
                say!(
                    io,
                    "backup {} of {}: {}, {}, {} files ({} read), logical {}, stored {}, {:.1} s",
                    b.id,
                    b.task,
                    b.kind,
                    b.status.as_str(),
                    b.file_count,
                    b.changed_files,
                    size(b.logical_bytes),
                    size(b.stored_bytes),
                    shown.secs
                );
            }
            let lacking: Vec<_> = b
                .copies()
                .into_iter()
                .filter(|c| c.state != crate::model::CopyState::Complete)
                .collect();
            for w in b.warnings.iter().take(20) {
                note!(io, "strata: warning: {}: {}", w.path, w.error);
            }
            for w in &outcome.warnings {
                note!(io, "strata: warning: {w}");
            }
            if !b.errors.is_empty() {
                for e in b.errors.iter().take(20) {
                    note!(io, "strata: {}: {}", e.path, e.error);
                }
                note!(
                    io,
                    "strata: backup {} is PARTIAL: {} entries could not be read; see 'strata backup show {}'",
                    b.id,
                    b.errors.len(),
                    b.id
                );
                return Ok(1);
            }
            if !lacking.is_empty() {
                let (done, all) = b.copy_count();
                for c in &lacking {
                    note!(
                        io,
                        "strata: backup {} has no copy on {} ({}): {}; fix the destination ('strata dest list' shows its state); the next backup of {} writes there again",
                        b.id,
                        c.destination,
                        c.state.as_str(),
                        c.error.as_deref().unwrap_or("not written"),
                        b.task
                    );
                }
                note!(
                    io,
                    "strata: backup {} is DEGRADED: complete on {done} of {all} destinations",
                    b.id
                );
                return Ok(1);
            }
        }
        Outcome::Backups(rows) => {
            let ordered = if shown.chain {
                by_chain(rows, shown.order)
            } else {
                shown.order.given_oldest_first(rows)
            };
            if j {
                json(io, &ordered)?;
                return Ok(0);
            }
            let chain = shown.chain;
            write!(io.out, "{}", backup_table(&ordered, chain)).map_err(write_err)?;
            let mut totals: BTreeMap<&str, (usize, u64, u64)> = BTreeMap::new();
            for r in rows {
                let e = totals.entry(&r.record.task).or_default();
                e.0 += 1;
                e.1 += r.record.stored_bytes;
                e.2 += r.reclaimable_bytes;
            }
            for (t, (n, stored, recl)) in totals {
                say!(
                    io,
                    "total {t}: {n} backup(s), stored {}, reclaimable now {}",
                    size(stored),
                    size(recl)
                );
            }
        }
        Outcome::Backup(r) => {
            if j {
                json(io, r)?;
                return Ok(0);
            }
            let b = &r.record;
            say!(io, "backup        {}", b.id);
            say!(io, "task          {}", b.task);
            say!(
                io,
                "kind          {}{}",
                b.kind,
                if b.manual { " (manual)" } else { "" }
            );
            say!(io, "status        {}", b.status_text());
            say!(
                io,
                "parent        {}",
                b.parent
                    .as_deref()
                    .unwrap_or("none (a full depends on nothing)")
            );
            say!(io, "chain         {}", b.chain);
            say!(io, "started       {} UTC", time(&b.started));
            say!(io, "finished      {} UTC", time(&b.finished));
            say!(
                io,
                "files         {} ({} entries, {} read this run)",
                b.file_count,
                b.entry_count,
                b.changed_files
            );
            say!(
                io,
                "logical       {} ({} bytes)",
                size(b.logical_bytes),
                b.logical_bytes
            );
            say!(
                io,
                "stored        {} ({} bytes)",
                size(b.stored_bytes),
                b.stored_bytes
            );
            say!(
                io,
                "reclaimable   {}{}",
                size(r.reclaimable_bytes),
                if r.dependents.is_empty() {
                    String::new()
                } else {
                    format!(" (depended on by {})", r.dependents.join(", "))
                }
            );
            say!(io, "destinations  {}", b.destinations.join(", "));
            for c in b.copies() {
                match &c.error {
                    Some(e) => say!(
                        io,
                        "  copy on {:<10} {}: {e}",
                        c.destination,
                        c.state.as_str()
                    ),
                    None => say!(io, "  copy on {:<10} {}", c.destination, c.state.as_str()),
                }
            }
            say!(io, "pinned        {}", if b.pinned { "yes" } else { "no" });
            match &b.verified {
                Some(v) => say!(
                    io,
                    "verified      {} UTC, {}, {}",
                    time(&v.at),
                    if v.read_data {
                        "read-data"
                    } else {
                        "structure"
                    },
                    if v.ok { "ok" } else { "PROBLEMS" }
                ),
                None => say!(io, "verified      never"),
            }
            if !b.warnings.is_empty() {
                say!(io, "warnings      {} entries:", b.warnings.len());
                for e in &b.warnings {
                    say!(io, "  {}: {}", e.path, e.error);
                }
            }
            if !b.errors.is_empty() {
                say!(io, "unreadable    {} entries:", b.errors.len());
                for e in &b.errors {
                    say!(io, "  {}: {}", e.path, e.error);
                }
            }
        }
        Outcome::Deleted(gone) => {
            let freed: u64 = gone.iter().map(|b| b.stored_bytes).sum();
            if j {
                json(
                    io,
                    &serde_json::json!({"deleted": gone.iter().map(|b| &b.id).collect::<Vec<_>>(), "freed_bytes": freed}),
                )?;
            } else {
                for b in gone {
                    say!(
                        io,
                        "deleted backup {} ({} {}, {})",
                        b.id,
                        b.task,
                        b.kind,
                        size(b.stored_bytes)
                    );
                }
                say!(io, "freed {}", size(freed));
            }
        }
        Outcome::Pinned { backup: b, pinned } => {
            if j {
                json(io, b)?
            } else if *pinned {
                say!(io, "pinned backup {}", b.id)
            } else {
                say!(io, "unpinned backup {}", b.id)
            }
        }
        _ => {}
    }
    Ok(0)
}

/// `backup sync`: a line per copy written or not; exit 1 when one is still missing.
pub(super) fn synced(
    r: &crate::core::sync::SyncReport,
    j: bool,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    if j {
        json(io, r)?;
    } else {
        for c in &r.copies {
            match &c.error {
                None => say!(
                    io,
                    "copied backup {} to {} ({}, read back and checked; run {})",
                    c.backup,
                    c.destination,
                    size(c.bytes),
                    c.run
                ),
                Some(e) => {
                    note!(
                        io,
                        "strata: backup {} still has no copy on {}: {e}",
                        c.backup,
                        c.destination
                    );
                }
            }
        }
        if r.copies.is_empty() {
            say!(
                io,
                "every copy is complete ({} backup(s) checked)",
                r.already_complete
            );
        }
    }
    Ok(if r.failed() > 0 { 1 } else { 0 })
}
