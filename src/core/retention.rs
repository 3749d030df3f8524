//! Retention: which backups of one task a policy keeps, and why.
//!
//! Pure: no I/O and no clock (the caller passes `now`), so every rule can be
//! tested on hand-built histories and the chain guarantees by property tests.
//!
//! A backup is kept when a rule keeps it (`keep_within`, `keep_last_full`,
//! `keep_daily/weekly/monthly/yearly`), when it is manual or pinned, when it is
//! the task's newest full, or when a kept backup depends on it (directly or
//! not). Everything else expires. Because every ancestor of a kept backup is
//! kept, the expired set is closed under descendants: deleting all of it never
//! breaks a kept backup.

use super::schedule::parse_duration;
use crate::model::{BackupKind, BackupRecord, BackupStatus, RetentionPolicy};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

/// The reason given to every backup of a task without a retention policy.
pub const NO_POLICY: &str = "no retention policy";

/// What retention decided about one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Decision {
    /// Backup id.
    pub id: String,
    /// Task that made it.
    pub task: String,
    /// Full, incremental or differential.
    pub kind: BackupKind,
    /// Commit time.
    pub finished: DateTime<Utc>,
    /// Bytes it holds on one destination (what deleting it frees there).
    pub stored_bytes: u64,
    /// Kept (`true`) or expired (`false`).
    pub keep: bool,
    /// Why it is kept, e.g. `keep_within 14d`, `manual`, `needed by <id>`;
    /// empty for an expired backup (no rule keeps it).
    pub reasons: Vec<String>,
}

/// Evaluates `policy` over one task's committed backups at time `now`.
///
/// Calendar rules (`keep_daily` …) bucket backups by UTC day, ISO week, month
/// and year. The task's `timezone` is not applied yet: the crate has no IANA
/// time-zone database (no `chrono-tz`), so UTC is used for now; pass another
/// zone through [`evaluate_in`] once one is available.
///
/// Returns the decisions sorted by finish time (then id), or an error naming
/// a rule that cannot be evaluated (an invalid `keep_within`).
pub fn evaluate<B: Borrow<BackupRecord>>(
    backups: &[B],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Decision>, String> {
    evaluate_in(backups, policy, now, &Utc)
}

/// [`evaluate`] with calendar periods taken in the time zone `tz`.
/// Takes records or references to them, so a front end can evaluate the
/// rows it holds without copying them.
pub fn evaluate_in<B: Borrow<BackupRecord>, Tz: TimeZone>(
    backups: &[B],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<Vec<Decision>, String> {
    // Oldest first; the id breaks ties so the result never depends on input order.
    let mut order: Vec<&BackupRecord> = backups.iter().map(Borrow::borrow).collect();
    order.sort_by(|a, b| (a.finished, &a.id).cmp(&(b.finished, &b.id)));
    let n = order.len();
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); n];

    if policy.is_empty() {
        for r in &mut reasons {
            r.push(NO_POLICY.to_string());
        }
        return Ok(decisions(&order, reasons, &vec![true; n]));
    }
    let within = match &policy.keep_within {
        Some(w) => Some((
            w,
            parse_duration(w).map_err(|e| format!("keep_within: {e}"))?,
        )),
        None => None,
    };

    for (i, b) in order.iter().enumerate() {
        if b.pinned {
            reasons[i].push("pinned".into());
        }
        if b.manual {
            reasons[i].push("manual".into());
        }
    }

    // The newest full is never expired by rule, whatever the policy; if it is
    // partial, the newest complete full is kept too, so a whole copy remains.
    if let Some(i) = order.iter().rposition(|b| b.kind == BackupKind::Full) {
        reasons[i].push("newest full".into());
        if order[i].status != BackupStatus::Complete
            && let Some(c) = order
                .iter()
                .rposition(|b| b.kind == BackupKind::Full && b.status == BackupStatus::Complete)
        {
            reasons[c].push("newest complete full".into());
        }
    }

    if let Some((text, d)) = within {
        // A duration too large to subtract reaches before any backup: keep all.
        let cutoff = now.checked_sub_signed(d);
        let reason = format!("keep_within {}", text.trim());
        for (i, b) in order.iter().enumerate() {
            if cutoff.is_none_or(|c| b.finished >= c) {
                reasons[i].push(reason.clone());
            }
        }
    }

    if let Some(keep) = policy.keep_last_full {
        // A chain's age is its full's finish time; a chain whose full is not in
        // the list (never the case for a consistent catalog) takes its oldest member's.
        let mut chains: HashMap<&str, (DateTime<Utc>, bool)> = HashMap::new();
        for b in &order {
            let is_full = b.id == b.chain;
            let e = chains
                .entry(b.chain.as_str())
                .or_insert((b.finished, is_full));
            if is_full || (!e.1 && b.finished < e.0) {
                *e = (b.finished, is_full);
            }
        }
        let mut ranked: Vec<(DateTime<Utc>, &str)> =
            chains.iter().map(|(c, (t, _))| (*t, *c)).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let kept: HashSet<&str> = ranked
            .into_iter()
            .take(keep as usize)
            .map(|(_, c)| c)
            .collect();
        let reason = format!("keep_last_full {keep}");
        for (i, b) in order.iter().enumerate() {
            if kept.contains(b.chain.as_str()) {
                reasons[i].push(reason.clone());
            }
        }
    }

    type Period = fn(NaiveDate) -> (i32, u32);
    let calendar: [(&str, Option<u32>, Period); 4] = [
        ("keep_daily", policy.keep_daily, |d| (d.year(), d.ordinal())),
        ("keep_weekly", policy.keep_weekly, |d| {
            let w = d.iso_week();
            (w.year(), w.week())
        }),
        ("keep_monthly", policy.keep_monthly, |d| {
            (d.year(), d.month())
        }),
        ("keep_yearly", policy.keep_yearly, |d| (d.year(), 0)),
    ];
    for (name, count, period) in calendar {
        let Some(count) = count else { continue };
        // restic semantics: newest first, the first backup met in a period is
        // that period's newest; keep it for the `count` most recent periods
        // that have backups (periods without backups do not use up the count).
        let reason = format!("{name} {count}");
        let mut seen: HashSet<(i32, u32)> = HashSet::new();
        for i in (0..n).rev() {
            if seen.len() >= count as usize {
                break;
            }
            if seen.insert(period(order[i].finished.with_timezone(tz).date_naive())) {
                reasons[i].push(reason.clone());
            }
        }
    }

    // Chain closure: every ancestor of a kept backup is kept, naming the kept
    // backups that depend on it directly.
    let index: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.as_str(), i))
        .collect();
    let mut kept: Vec<bool> = reasons.iter().map(|r| !r.is_empty()).collect();
    let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut stack: Vec<usize> = (0..n).filter(|&i| kept[i]).collect();
    while let Some(i) = stack.pop() {
        let Some(p) = order[i].parent.as_deref().and_then(|p| index.get(p)) else {
            continue;
        };
        needed_by[*p].push(i);
        if !kept[*p] {
            kept[*p] = true;
            stack.push(*p);
        }
    }
    for (i, mut deps) in needed_by.into_iter().enumerate() {
        deps.sort_unstable();
        for d in deps {
            reasons[i].push(format!("needed by {}", order[d].id));
        }
    }
    Ok(decisions(&order, reasons, &kept))
}

fn decisions(order: &[&BackupRecord], reasons: Vec<Vec<String>>, kept: &[bool]) -> Vec<Decision> {
    order
        .iter()
        .zip(reasons)
        .zip(kept)
        .map(|((b, reasons), &keep)| Decision {
            id: b.id.clone(),
            task: b.task.clone(),
            kind: b.kind,
            finished: b.finished,
            stored_bytes: b.stored_bytes,
            keep,
            reasons,
        })
        .collect()
}

#[cfg(test)]
#[path = "retention_tests.rs"]
pub(crate) mod tests;
