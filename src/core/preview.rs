//! Retention preview: for each backup of one task, when retention will expire
//! it and why, so an operator sees what goes next before it goes.
//!
//! Pure (no I/O, no clock), built on [`evaluate_in`]. Only `keep_within`
//! depends on the time; every other rule (pins, manual, newest full,
//! `keep_last_full`, the calendar rules) depends only on which backups exist.
//! So one evaluation without `keep_within` gives the backups kept regardless of
//! time, and each of the others is kept by `keep_within` exactly until its own
//! finish time, or that of its newest dependent, plus the duration.

use super::retention::{NO_POLICY, evaluate_in};
use super::schedule::parse_duration;
use crate::model::{BackupKind, BackupRecord, RetentionPolicy};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::HashMap;

/// What retention will do with one backup, assuming no new backups arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outlook", rename_all = "snake_case")]
pub enum Outlook {
    /// No rule keeps it now: the next prune (on demand, or after the task's
    /// next scheduled backup) deletes it.
    ExpiresNow,
    /// Kept by `keep_within` until `at`, then no rule keeps it.
    ExpiresAt {
        /// First moment it is no longer kept.
        at: DateTime<Utc>,
        /// The rule keeping it until then, e.g. `keep_within 14d` or
        /// `keep_within 14d for <dependent id>`.
        rule: String,
    },
    /// Kept by rules that do not run out with time (they may once newer
    /// backups arrive: `keep_last_full`, calendar rules).
    Kept {
        /// Why, e.g. `pinned`, `manual`, `newest full`, `keep_last_full 3`.
        reasons: Vec<String>,
    },
}

/// The preview of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// Backup id.
    pub id: String,
    /// Full, incremental or differential.
    pub kind: BackupKind,
    /// Commit time.
    pub finished: DateTime<Utc>,
    /// Bytes deleting it frees on each destination.
    pub stored_bytes: u64,
    /// What retention will do with it.
    #[serde(flatten)]
    pub outlook: Outlook,
}

impl Preview {
    /// When it goes: now, at a time, or `None` while rules keep it.
    pub fn expires(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.outlook {
            Outlook::ExpiresNow => Some(now),
            Outlook::ExpiresAt { at, .. } => Some(*at),
            Outlook::Kept { .. } => None,
        }
    }
}

/// Previews `policy` over one task's backups at `now`, calendar periods in `tz`
/// (as `prune` applies it). Sorted by finish time (then id), like
/// [`evaluate_in`]. Errors name a rule that cannot be evaluated.
pub fn preview_in<B: Borrow<BackupRecord>, Tz: TimeZone>(
    backups: &[B],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<Vec<Preview>, String> {
    let timeless = RetentionPolicy {
        keep_within: None,
        // With keep_within alone, an empty policy would mean "keep all";
        // keep_last_full 0 keeps no chain, so only the fixed rules (pinned,
        // manual, newest full) and their chain closure remain.
        keep_last_full: if policy.keep_within.is_some() && policy.keep_last_full.is_none() {
            Some(0)
        } else {
            policy.keep_last_full
        },
        ..policy.clone()
    };
    let fixed = evaluate_in(backups, &timeless, now, tz)?;
    let within = match &policy.keep_within {
        Some(w) if !policy.is_empty() => Some((
            format!("keep_within {}", w.trim()),
            parse_duration(w).map_err(|e| format!("keep_within: {e}"))?,
        )),
        _ => None,
    };
    let backups: Vec<&BackupRecord> = backups.iter().map(Borrow::borrow).collect();
    let by_id: HashMap<&str, &BackupRecord> = backups.iter().map(|b| (b.id.as_str(), *b)).collect();
    // The newest finish time among each backup and its descendants: keep_within
    // keeps a backup while any of them is young enough (chain closure).
    let mut newest: HashMap<&str, (DateTime<Utc>, &str)> = backups
        .iter()
        .map(|b| (b.id.as_str(), (b.finished, b.id.as_str())))
        .collect();
    for b in &backups {
        let mut cur = b.parent.as_deref();
        let mut hops = 0;
        while let Some(p) = cur {
            hops += 1;
            if hops > backups.len() {
                break; // a cyclic link: stop rather than loop
            }
            let Some(e) = newest.get_mut(p) else { break };
            if b.finished > e.0 {
                *e = (b.finished, b.id.as_str());
            }
            cur = by_id.get(p).and_then(|r| r.parent.as_deref());
        }
    }
    Ok(fixed
        .into_iter()
        .map(|d| {
            let outlook = if policy.is_empty() {
                Outlook::Kept {
                    reasons: vec![NO_POLICY.to_string()],
                }
            } else if d.keep {
                Outlook::Kept { reasons: d.reasons }
            } else {
                match (&within, newest.get(d.id.as_str())) {
                    (Some((rule, dur)), Some((t, via))) => match t.checked_add_signed(*dur) {
                        // evaluate keeps `finished >= now - dur`: it goes just after t + dur.
                        Some(until) if until >= now => Outlook::ExpiresAt {
                            at: until + chrono::TimeDelta::seconds(1),
                            rule: if *via == d.id {
                                rule.clone()
                            } else {
                                format!("{rule} for {via}")
                            },
                        },
                        Some(_) => Outlook::ExpiresNow,
                        None => Outlook::Kept {
                            reasons: vec![rule.clone()],
                        },
                    },
                    _ => Outlook::ExpiresNow,
                }
            };
            Preview {
                id: d.id,
                kind: d.kind,
                finished: d.finished,
                stored_bytes: d.stored_bytes,
                outlook,
            }
        })
        .collect())
}

/// [`preview_in`] with calendar periods in UTC.
pub fn preview<B: Borrow<BackupRecord>>(
    backups: &[B],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Preview>, String> {
    preview_in(backups, policy, now, &Utc)
}

#[cfg(test)]
#[path = "preview_tests.rs"]
mod tests;
