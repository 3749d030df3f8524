//! The lifecycle of a `snapshot` source's local snapshots, decided here in
//! the core because only the core knows when a backup is safe: a snapshot is
//! cleared once its backup is committed (the copies its task's policy
//! requires are complete), or at once when the backup failed — unless
//! `keep_local` / `keep_local_within` keep it. After a successful backup the
//! task's other snapshots (older ones kept before, or left by a clear that
//! failed) are cleared too, except the newest `keep_local` and those younger
//! than `keep_local_within`. Nothing is left silently: a kept snapshot shows
//! in `strata snapshot list`, and a clear that fails is a warning on the run,
//! in the log and in the audit log.

use super::service::Core;
use crate::model::{SourceConfig, TaskConfig};
use crate::source::snapshot::{self, SnapshotSpec};
use chrono::{DateTime, Utc};

/// A task's rules for its local snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeepLocal {
    /// Keep this many newest.
    pub count: Option<u32>,
    /// Keep those younger than this.
    pub within: Option<chrono::TimeDelta>,
}

impl KeepLocal {
    /// The rules of a snapshot task (an unparsable duration, refused when the
    /// task was stored, keeps nothing by it).
    pub(crate) fn of(source: &SourceConfig) -> KeepLocal {
        match source {
            SourceConfig::Snapshot {
                keep_local,
                keep_local_within,
                ..
            } => KeepLocal {
                count: *keep_local,
                within: keep_local_within
                    .as_deref()
                    .and_then(|d| super::schedule::parse_duration(d).ok()),
            },
            _ => KeepLocal::default(),
        }
    }

    /// Whether any snapshot is ever kept.
    pub(crate) fn keeps(&self) -> bool {
        self.count.is_some_and(|n| n > 0) || self.within.is_some()
    }

    /// The tags to clear among `found` (tag, created, a tie-breaker for
    /// snapshots of one second: their mtime), given the time `now`: all but
    /// the newest `count` and those younger than `within`.
    pub(crate) fn to_clear(&self, found: &[Found], now: DateTime<Utc>) -> Vec<String> {
        let mut newest_first: Vec<&Found> = found.iter().collect();
        newest_first.sort_by_key(|f| std::cmp::Reverse((f.1, f.2)));
        let count = self.count.unwrap_or(0) as usize;
        newest_first
            .into_iter()
            .enumerate()
            .filter(|(i, (_, at, _))| {
                let young = self.within.is_some_and(|w| now - *at < w);
                *i >= count && !young
            })
            .map(|(_, (t, _, _))| t.clone())
            .collect()
    }
}

/// A local snapshot as the keep rules see it: tag, when it was taken, its
/// mtime in ns (orders snapshots taken within one second).
pub(crate) type Found = (String, DateTime<Utc>, i64);

/// When a snapshot was taken: the time in its tag's backup id, else its
/// directories' modification time.
pub(crate) fn created_of(tag: &str, mtime_ns: i64) -> DateTime<Utc> {
    snapshot::backup_id_of(tag)
        .and_then(|id| id.get(..15))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d-%H%M%S").ok())
        .map(|t| t.and_utc())
        .or_else(|| DateTime::from_timestamp(mtime_ns.div_euclid(1_000_000_000), 0))
        .unwrap_or_default()
}

/// `message` with the lifecycle's warnings appended.
pub(crate) fn with_warnings(message: Option<String>, warnings: &[String]) -> Option<String> {
    if warnings.is_empty() {
        return message;
    }
    let w = warnings.join("; ");
    Some(match message {
        Some(m) if !m.is_empty() => format!("{m}; {w}"),
        _ => w,
    })
}

impl Core {
    /// Runs a snapshot task's clear command for `tag`: `Err` is the warning
    /// to show, already logged and audited (who `strata`, origin `snapshot`).
    pub(crate) fn clear_snapshot(
        &self,
        task: &str,
        spec: &SnapshotSpec,
        tag: &str,
    ) -> Result<(), String> {
        match snapshot::clear(spec, tag) {
            Ok(()) => {
                tracing::info!(task, tag, "local snapshot cleared");
                Ok(())
            }
            Err(e) => {
                let warning = format!(
                    "local snapshot {tag} of task {task} was not cleared: {e}; it stays on disk: see 'strata snapshot list --task {task}' and clear it with 'strata snapshot clear --task {task}'"
                );
                tracing::warn!(task, tag, "{warning}");
                self.record_unknown_access(
                    "strata",
                    None,
                    "snapshot",
                    "snapshot clear",
                    &format!("{task} {tag}"),
                    &format!("failed: {e}"),
                );
                Err(warning)
            }
        }
    }

    /// After a run of a snapshot task whose create command was started:
    /// clears or keeps `tag` and, when the backup was `committed`, the task's
    /// older snapshots per its rules. Returns the warnings for the run.
    pub(crate) fn settle_snapshots(
        &self,
        task: &TaskConfig,
        tag: &str,
        committed: bool,
    ) -> Vec<String> {
        let Some(spec) = crate::source::snapshot_spec(&task.source) else {
            return Vec::new();
        };
        let keep = KeepLocal::of(&task.source);
        self.forget_cached_snapshots();
        let mut warnings = Vec::new();
        if !committed {
            if keep.keeps() {
                let note = format!(
                    "local snapshot {tag} is kept (keep_local); see 'strata snapshot list --task {}'",
                    task.name
                );
                tracing::info!(task = %task.name, tag, "{note}");
                warnings.push(note);
            } else if let Err(w) = self.clear_snapshot(&task.name, &spec, tag) {
                warnings.push(w);
            }
            return warnings;
        }
        let mut found: Vec<Found> = match snapshot::local_snapshots(&spec.path, &task.name) {
            Ok(list) => list
                .into_iter()
                .map(|s| {
                    let at = created_of(&s.tag, s.mtime_ns);
                    (s.tag, at, s.mtime_ns)
                })
                .collect(),
            Err(e) => {
                warnings.push(format!(
                    "cannot list the local snapshots of task {}: {e}",
                    task.name
                ));
                Vec::new()
            }
        };
        // The run's own snapshot is cleared even if nothing of it matches path.
        if !found.iter().any(|(t, _, _)| t == tag) {
            found.push((tag.to_string(), Utc::now(), i64::MAX));
        }
        for t in keep.to_clear(&found, Utc::now()) {
            if let Err(w) = self.clear_snapshot(&task.name, &spec, &t) {
                warnings.push(w);
            }
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn keep_rules_choose_what_goes() {
        // Two of one second: the mtime decides which is newer.
        let found: Vec<Found> = (0..5)
            .map(|i| (format!("strata-{i}"), at(i.min(3)), i))
            .collect();
        let now = at(5);
        let none = KeepLocal::default();
        assert!(!none.keeps());
        assert_eq!(none.to_clear(&found, now).len(), 5);
        let two = KeepLocal {
            count: Some(2),
            within: None,
        };
        assert_eq!(
            two.to_clear(&found, now),
            ["strata-2", "strata-1", "strata-0"]
        );
        let recent = KeepLocal {
            count: None,
            within: Some(chrono::TimeDelta::minutes(150)),
        };
        assert_eq!(
            recent.to_clear(&found, now),
            ["strata-2", "strata-1", "strata-0"]
        );
        let both = KeepLocal {
            count: Some(4),
            within: Some(chrono::TimeDelta::hours(1)),
        };
        assert_eq!(both.to_clear(&found, now), ["strata-0"]);
    }

    #[test]
    fn age_comes_from_the_tag_else_the_mtime() {
        assert_eq!(
            created_of("strata-t_20261203-150405-0a1b2c3d", 0).to_rfc3339(),
            "2026-12-03T15:04:05+00:00"
        );
        assert_eq!(created_of("strata-t_x", 1_800_000_000_000_000_000), at(0));
    }
}
