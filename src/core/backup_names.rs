//! Names of backups the way people think of them, wherever a backup id is
//! taken: the full id; a unique prefix or suffix of at least 4 characters
//! (the random part, `7840`); `latest` and `TASK:latest`; `TASK:-N` (N
//! before the latest); `TASK@TIME`, the newest backup of the task started at
//! or before TIME ("the state at 9:03 last Friday"). `latest`, `-N` and
//! `@TIME` count complete backups only. The matching is pure: the core
//! hands it the catalog's records.

use crate::model::{BackupRecord, BackupStatus};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;

/// Shortest prefix or suffix taken as part of an id.
pub const MIN_PART: usize = 4;

/// Why a name names no single backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Nothing matches; the closest task or id, when one is close.
    Unknown {
        /// What was asked for.
        name: String,
        /// Why nothing matched, in a few words.
        why: String,
        /// `did you mean …` material: a task or id.
        closest: Option<String>,
    },
    /// Several backups match; each candidate's line (id, task, kind, age).
    Ambiguous {
        /// What was asked for.
        name: String,
        /// The matching backups, newest first.
        candidates: Vec<String>,
    },
    /// `TASK@TIME` with a time that does not parse.
    BadTime {
        /// The time as given.
        time: String,
    },
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Unknown { name, why, closest } => {
                write!(f, "no backup {name:?}: {why}")?;
                if let Some(c) = closest {
                    write!(f, "; did you mean {c:?}?")?;
                }
                Ok(())
            }
            NameError::Ambiguous { name, candidates } => {
                let mut text = format!(
                    "{name:?} matches {} backups; give more of the id, or TASK:latest, TASK:-N, TASK@TIME:",
                    candidates.len()
                );
                for c in candidates.iter().take(10) {
                    let _ = write!(text, "\n  {c}");
                }
                if candidates.len() > 10 {
                    let _ = write!(text, "\n  … and {} more", candidates.len() - 10);
                }
                f.write_str(&text)
            }
            NameError::BadTime { time } => write!(
                f,
                "cannot read the time {time:?}; write it as YYYY-MM-DD HH:MM[:SS] (the host's time zone), YYYY-MM-DD, or RFC 3339 such as 2026-12-01T09:03:00Z"
            ),
        }
    }
}

/// Reads a point in time: `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD` in `tz`
/// (`T` instead of the space works too), or RFC 3339 with its own offset.
pub fn parse_time(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    // A time skipped by a DST change is no point at all; of a repeated one,
    // take the later, which includes more backups.
    tz.from_local_datetime(&local)
        .latest()
        .map(|d| d.with_timezone(&Utc))
}

/// One candidate line: id, task, kind, age.
fn line(b: &BackupRecord, now: DateTime<Utc>) -> String {
    let age = now.signed_duration_since(b.started);
    let age = if age.num_days() >= 1 {
        format!("{}d ago", age.num_days())
    } else if age.num_hours() >= 1 {
        format!("{}h ago", age.num_hours())
    } else {
        format!("{}m ago", age.num_minutes().max(0))
    };
    format!("{}  {}  {}  {age}", b.id, b.task, b.kind.as_str())
}

/// Newest first, by start time (ids order only to the second).
fn newest_first(mut v: Vec<&BackupRecord>) -> Vec<&BackupRecord> {
    v.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
    v
}

/// The closest of `options` to `name`, if close enough to be a typo.
fn closest<'a>(name: &str, options: impl Iterator<Item = &'a str>) -> Option<String> {
    crate::spelling::closest(name, options).map(str::to_string)
}

/// The backup `name` names among `all` (every record of the catalog).
pub fn resolve<'a>(
    name: &str,
    all: &'a [BackupRecord],
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<&'a BackupRecord, NameError> {
    let name = name.trim();
    if let Some(b) = all.iter().find(|b| b.id == name) {
        return Ok(b);
    }
    let complete = |task: Option<&str>| {
        newest_first(
            all.iter()
                .filter(|b| b.status == BackupStatus::Complete)
                .filter(|b| task.is_none_or(|t| b.task == t))
                .collect(),
        )
    };
    let unknown = |why: String, closest: Option<String>| NameError::Unknown {
        name: name.to_string(),
        why,
        closest,
    };
    let tasks = || {
        let mut t: Vec<&str> = all.iter().map(|b| b.task.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let task_known = |task: &str| -> Result<(), NameError> {
        if all.iter().any(|b| b.task == task) {
            return Ok(());
        }
        Err(unknown(
            format!("task {task:?} has no backups"),
            closest(task, tasks().into_iter()).map(|t| format!("{t}{}", &name[task.len()..])),
        ))
    };
    if name == "latest" {
        return complete(None)
            .first()
            .copied()
            .ok_or_else(|| unknown("there is no complete backup".into(), None));
    }
    if let Some((task, at)) = name.split_once('@') {
        task_known(task)?;
        let t = parse_time(at, tz).ok_or_else(|| NameError::BadTime { time: at.into() })?;
        return complete(Some(task))
            .into_iter()
            .find(|b| b.started <= t)
            .ok_or_else(|| {
                unknown(
                    format!(
                        "task {task:?} has no complete backup started at or before {}",
                        t.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                    None,
                )
            });
    }
    if let Some((task, which)) = name.split_once(':') {
        task_known(task)?;
        let back: usize = match which {
            "latest" => 0,
            n => n
                .strip_prefix('-')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    unknown(
                        format!("after {task}: write latest or -N (the Nth before the latest)"),
                        None,
                    )
                })?,
        };
        let list = complete(Some(task));
        return list.get(back).copied().ok_or_else(|| {
            unknown(
                format!(
                    "task {task:?} has {} complete backup(s), so {which} is none of them",
                    list.len()
                ),
                None,
            )
        });
    }
    let parts: Vec<&BackupRecord> = if name.len() >= MIN_PART {
        newest_first(
            all.iter()
                .filter(|b| b.id.starts_with(name) || b.id.ends_with(name))
                .collect(),
        )
    } else {
        Vec::new()
    };
    match parts.as_slice() {
        [one] => Ok(one),
        [] => {
            let why = if name.len() < MIN_PART {
                format!(
                    "give at least {MIN_PART} characters of an id, or latest, TASK:latest, TASK:-N, TASK@TIME"
                )
            } else {
                "no id starts or ends with it".into()
            };
            let near = closest(name, tasks().into_iter())
                .map(|t| format!("{t}:latest"))
                .or_else(|| closest(name, all.iter().map(|b| b.id.as_str())));
            Err(unknown(why, near))
        }
        many => Err(NameError::Ambiguous {
            name: name.to_string(),
            candidates: many.iter().map(|b| line(b, now)).collect(),
        }),
    }
}

#[cfg(test)]
#[path = "backup_names_tests.rs"]
mod tests;
