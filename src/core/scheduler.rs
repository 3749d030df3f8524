//! When tasks are due: a pure, clock-injected scheduler (no threads, no
//! sleeps, no I/O) that the daemon loop drives with [`Scheduler::due`].
//!
//! # Time zones and daylight saving time
//!
//! Schedules are written in wall-clock time of the task's zone (its
//! `timezone`, else the host's). The rule, in one sentence: **a schedule fires
//! at the first instant a matching local wall-clock time is reached.** So:
//!
//! * A local time that does not exist (spring forward, e.g. 02:30 in
//!   Europe/Berlin on 2026-03-29) fires once, at the first instant after the
//!   gap (03:00 CEST), like vixie-cron. Several matches inside one gap
//!   (`*/15 2 * * *`) and a match at the gap's end collapse into that one run.
//! * A local time that occurs twice (fall back, e.g. 02:30 in Europe/Berlin on
//!   2026-10-25) fires once, at its first occurrence (02:30 CEST). Clock times
//!   repeated after the fall-back do not fire again; an hourly schedule
//!   therefore has one two-hour interval that night.
//!
//! The `cron` crate alone does neither: evaluated in a zone it silently skips
//! times inside a gap and yields both occurrences of a repeated time (and from
//! a start inside the repeated hour it can even yield the earlier occurrence,
//! which is before the start). This module therefore evaluates cron
//! expressions on naive local times and maps each match to an instant itself.

use crate::core::clock::Clock;
use crate::core::schedule::parse_cron;
use crate::model::{BackupKind, CatchUp, TaskConfig};
use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// How late a run may be noticed and still count as on time (not `missed`).
pub const DEFAULT_GRACE: TimeDelta = TimeDelta::seconds(60);

/// Rank of a kind when several fall due together: full > differential > incremental.
fn strength(kind: BackupKind) -> u8 {
    match kind {
        BackupKind::Full => 3,
        BackupKind::Differential => 2,
        BackupKind::Incremental => 1,
    }
}

/// The stronger of two kinds (full > differential > incremental).
pub fn stronger(a: BackupKind, b: BackupKind) -> BackupKind {
    if strength(b) > strength(a) { b } else { a }
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!(
            "time zone {name:?} is not a known IANA time zone name (use e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\")"
        )
    })
}

/// The host's time zone: `TZ` if it names an IANA zone, else the target of
/// the `/etc/localtime` symlink, else `/etc/timezone`, else UTC.
pub fn host_tz() -> Tz {
    let env = std::env::var("TZ").ok();
    let link = std::fs::read_link("/etc/localtime").ok();
    let etc_timezone = std::fs::read_to_string("/etc/timezone").ok();
    host_tz_from(env.as_deref(), link.as_deref(), etc_timezone.as_deref())
}

/// [`host_tz`] from given inputs: the `TZ` variable, the `/etc/localtime`
/// link target and the content of `/etc/timezone`.
///
/// `TZ` may be a zone name, `:`-prefixed, or a path into a zoneinfo tree; an
/// empty `TZ` means UTC (as in libc). A `TZ` that names no IANA zone (a POSIX
/// rule such as `CET-1CEST`) is ignored in favour of the system setting.
pub fn host_tz_from(
    tz_env: Option<&str>,
    localtime_link: Option<&Path>,
    etc_timezone: Option<&str>,
) -> Tz {
    if let Some(v) = tz_env {
        let v = v.trim();
        let v = v.strip_prefix(':').unwrap_or(v);
        if v.is_empty() {
            return Tz::UTC;
        }
        if let Some(tz) = zone_from_path_or_name(v) {
            return tz;
        }
    }
    if let Some(tz) = localtime_link
        .and_then(|p| p.to_str())
        .and_then(zone_from_path_or_name)
    {
        return tz;
    }
    etc_timezone
        .and_then(|s| s.lines().next())
        .and_then(zone_from_path_or_name)
        .unwrap_or(Tz::UTC)
}

/// `Europe/Berlin`, or `…/zoneinfo/[posix/|right/]Europe/Berlin`.
fn zone_from_path_or_name(s: &str) -> Option<Tz> {
    let s = s.trim();
    let name = match s.rfind("zoneinfo/") {
        Some(i) => &s[i + "zoneinfo/".len()..],
        None => s,
    };
    let name = name
        .strip_prefix("posix/")
        .or_else(|| name.strip_prefix("right/"))
        .unwrap_or(name);
    name.parse::<Tz>().ok()
}

/// A task's schedules, parsed, in the task's time zone.
#[derive(Debug, Clone)]
pub struct TaskSchedule {
    tz: Tz,
    entries: Vec<(BackupKind, cron::Schedule)>,
}

impl TaskSchedule {
    /// Parses the task's `full`, `differential` and `incremental` schedules and
    /// its time zone (`None` means `host_tz`). Errors name the task and the
    /// offending schedule or zone.
    pub fn from_task(task: &TaskConfig, host_tz: Tz) -> Result<TaskSchedule, String> {
        let tz = match &task.timezone {
            None => host_tz,
            Some(name) => parse_tz(name).map_err(|e| format!("task {:?}: {e}", task.name))?,
        };
        let mut entries = Vec::new();
        for (kind, expr) in [
            (BackupKind::Full, &task.full),
            (BackupKind::Differential, &task.differential),
            (BackupKind::Incremental, &task.incremental),
        ] {
            if let Some(expr) = expr {
                let schedule =
                    parse_cron(expr).map_err(|e| format!("task {:?}: {kind} {e}", task.name))?;
                entries.push((kind, schedule));
            }
        }
        Ok(TaskSchedule { tz, entries })
    }

    /// The zone the schedules are evaluated in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Whether the task has no schedule at all (it only runs manually).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest fire time strictly after `t` and its kind; when several
    /// schedules fire at that instant the strongest kind wins.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<(DateTime<Utc>, BackupKind)> {
        let mut best: Option<(DateTime<Utc>, BackupKind)> = None;
        for (kind, schedule) in &self.entries {
            let Some(at) = next_fire(schedule, self.tz, t) else {
                continue;
            };
            best = match best {
                Some((b, bk)) if b < at || (b == at && strength(bk) >= strength(*kind)) => {
                    Some((b, bk))
                }
                _ => Some((at, *kind)),
            };
        }
        best
    }

    /// Every fire time in `(lo, hi]` collapsed into one: the latest instant
    /// and the strongest kind among them. `None` if nothing fires there.
    pub fn fired_between(
        &self,
        lo: DateTime<Utc>,
        hi: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, BackupKind)> {
        let mut out: Option<(DateTime<Utc>, BackupKind)> = None;
        for (kind, schedule) in &self.entries {
            let Some(first) = next_fire(schedule, self.tz, lo).filter(|f| *f <= hi) else {
                continue;
            };
            let latest = last_fire_upto(schedule, self.tz, first, hi);
            out = Some(match out {
                None => (latest, *kind),
                Some((l, k)) => (l.max(latest), stronger(k, *kind)),
            });
        }
        out
    }
}

/// UTC offset of `tz` at instant `u`, in seconds.
fn offset_secs(tz: Tz, u: DateTime<Utc>) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&u.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The instant a matching local time `local` fires at: itself if it exists
/// once, its first occurrence if it exists twice, the end of the gap if it
/// does not exist. `None` only at the edges of the zone database.
fn fire_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => GapInfo::new(&local, &tz)
            .and_then(|gap| gap.end)
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// The first fire time of `schedule` in zone `tz` strictly after `t`.
///
/// Cron matches are enumerated as naive local times (a naive `Utc` has no
/// gaps or folds) and mapped with [`fire_instant`], which is non-decreasing
/// in local time; so the first match whose instant is after `t` is the answer.
/// Enumeration starts at `t` shifted by the smallest offset the zone has in
/// the next two days: a match whose instant is after `t` has a local time
/// after that (its instant plus an offset the zone had then).
pub(super) fn next_fire(
    schedule: &cron::Schedule,
    tz: Tz,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // Headroom so neither our arithmetic nor the cron crate's overflows.
    t.checked_add_signed(TimeDelta::days(4))?;
    t.checked_sub_signed(TimeDelta::days(4))?;
    let min_offset = (0..=8)
        .map(|i| offset_secs(tz, t + TimeDelta::hours(6 * i)))
        .min()
        .unwrap_or(0);
    let start = t.naive_utc() + TimeDelta::seconds(min_offset);
    schedule
        .after(&start.and_utc())
        .filter_map(|local| fire_instant(tz, local.naive_utc()))
        .find(|at| *at > t)
}

/// The latest fire time of `schedule` in `(first, hi]`, or `first` (a known
/// fire time ≤ `hi`) if there is none later. Scans a window before `hi` that
/// grows until it holds a fire time, so long outages cost little.
fn last_fire_upto(
    schedule: &cron::Schedule,
    tz: Tz,
    first: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> DateTime<Utc> {
    let scan = |from: DateTime<Utc>| {
        let mut last = None;
        let mut cur = from;
        while let Some(n) = next_fire(schedule, tz, cur).filter(|n| *n <= hi) {
            last = Some(n);
            cur = n;
        }
        last
    };
    let mut window = TimeDelta::hours(1);
    loop {
        match hi.checked_sub_signed(window).filter(|from| *from > first) {
            Some(from) => {
                if let Some(last) = scan(from) {
                    return last;
                }
            }
            None => return scan(first).unwrap_or(first),
        }
        window = match window.checked_mul(8) {
            Some(w) => w,
            None => return scan(first).unwrap_or(first),
        };
    }
}

/// A task run the scheduler wants started (or, from
/// [`Scheduler::take_skipped`], one it dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Task name.
    pub task: String,
    /// Strongest kind among the fire times collapsed into this run.
    pub kind: BackupKind,
    /// The latest of those fire times.
    pub scheduled_for: DateTime<Utc>,
    /// The run is late by more than the grace period: Strata was not running
    /// (or not ticking) when it was due.
    pub missed: bool,
}

#[derive(Debug, Clone)]
struct TaskState {
    schedule: TaskSchedule,
    last_checked: DateTime<Utc>,
    paused: bool,
    catch_up: CatchUp,
}

/// Per-task schedule state; the daemon calls [`Scheduler::due`] on each tick.
pub struct Scheduler {
    clock: Arc<dyn Clock>,
    grace: TimeDelta,
    tasks: BTreeMap<String, TaskState>,
    skipped: Vec<Due>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("grace", &self.grace)
            .field("tasks", &self.tasks)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// An empty scheduler; `clock` dates newly added tasks and estimates [`Scheduler::next`].
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Scheduler {
            clock,
            grace: DEFAULT_GRACE,
            tasks: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    /// Sets how late a run may be noticed and still count as on time.
    pub fn with_grace(mut self, grace: TimeDelta) -> Self {
        self.grace = grace.max(TimeDelta::zero());
        self
    }

    /// Adds a task or updates its schedule, zone, pause state and catch-up
    /// policy. A new task's `last_checked` is now (nothing before it is
    /// caught up); an existing task keeps its own. On error (bad zone or
    /// cron) nothing changes and the message names the task and the problem.
    pub fn upsert(&mut self, task: &TaskConfig, host_tz: Tz) -> Result<(), String> {
        let schedule = TaskSchedule::from_task(task, host_tz)?;
        match self.tasks.get_mut(&task.name) {
            Some(state) => {
                state.schedule = schedule;
                state.paused = task.paused;
                state.catch_up = task.catch_up;
            }
            None => {
                let state = TaskState {
                    schedule,
                    last_checked: self.clock.now(),
                    paused: task.paused,
                    catch_up: task.catch_up,
                };
                self.tasks.insert(task.name.clone(), state);
            }
        }
        Ok(())
    }

    /// Forgets a task; returns whether it was known.
    pub fn remove(&mut self, name: &str) -> bool {
        self.tasks.remove(name).is_some()
    }

    /// Sets a known task's `last_checked` (a restarting daemon passes the
    /// persisted value after [`Scheduler::upsert`]); returns whether the task is known.
    pub fn restore_state(&mut self, task: &str, last_checked: DateTime<Utc>) -> bool {
        match self.tasks.get_mut(task) {
            Some(state) => {
                state.last_checked = last_checked;
                true
            }
            None => false,
        }
    }

    /// The instant up to which a task's fire times were handled.
    pub fn last_checked(&self, task: &str) -> Option<DateTime<Utc>> {
        self.tasks.get(task).map(|s| s.last_checked)
    }

    /// Every task's `last_checked`, by name, for the daemon to persist.
    pub fn states(&self) -> Vec<(String, DateTime<Utc>)> {
        self.tasks
            .iter()
            .map(|(name, s)| (name.clone(), s.last_checked))
            .collect()
    }

    /// The schedule of a known task.
    pub fn schedule(&self, task: &str) -> Option<&TaskSchedule> {
        self.tasks.get(task).map(|s| &s.schedule)
    }

    /// Runs due in `(last_checked, now]`, at most one per task (strongest
    /// kind, latest fire time), by task name; then every `last_checked`
    /// becomes `now`. Paused tasks yield nothing. Fire times older than the
    /// grace period are missed: with `catch_up = once` they join the task's
    /// run (marked `missed` if nothing on time is due); with `skip` they are
    /// dropped and reported by [`Scheduler::take_skipped`]. A clock that went
    /// back (`now` before `last_checked`) yields nothing and moves nothing.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        let mut out = Vec::new();
        // Fire times at or before `cut` are older than the grace period.
        let cut = now
            .checked_sub_signed(self.grace + TimeDelta::nanoseconds(1))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        for (name, state) in &mut self.tasks {
            if now <= state.last_checked {
                continue;
            }
            let lo = state.last_checked;
            state.last_checked = now;
            if state.paused {
                continue;
            }
            let missed = if cut > lo {
                state.schedule.fired_between(lo, cut)
            } else {
                None
            };
            let on_time = state.schedule.fired_between(lo.max(cut), now);
            let due = |(scheduled_for, kind): (DateTime<Utc>, BackupKind), missed: bool| Due {
                task: name.clone(),
                kind,
                scheduled_for,
                missed,
            };
            match (state.catch_up, missed, on_time) {
                (_, None, None) => {}
                (_, None, Some(o)) => out.push(due(o, false)),
                (CatchUp::Once, Some(m), None) => out.push(due(m, true)),
                (CatchUp::Once, Some((_, mk)), Some((ot, ok))) => {
                    out.push(due((ot, stronger(mk, ok)), false))
                }
                (CatchUp::Skip, Some(m), on_time) => {
                    self.skipped.push(due(m, true));
                    if let Some(o) = on_time {
                        out.push(due(o, false));
                    }
                }
            }
        }
        out
    }

    /// [`Scheduler::due`] at the clock's current time.
    pub fn tick(&mut self) -> Vec<Due> {
        let now = self.clock.now();
        self.due(now)
    }

    /// Missed runs dropped by `catch_up = skip` since the last call, for the
    /// run history.
    pub fn take_skipped(&mut self) -> Vec<Due> {
        std::mem::take(&mut self.skipped)
    }

    /// The next estimated backup of every active task with a schedule, by
    /// name: the first fire time after both the clock's now and the task's
    /// `last_checked`. Paused tasks are left out.
    pub fn next(&self) -> Vec<(String, DateTime<Utc>, BackupKind)> {
        let now = self.clock.now();
        self.tasks
            .iter()
            .filter(|(_, s)| !s.paused)
            .filter_map(|(name, s)| {
                let (at, kind) = s.schedule.next_after(s.last_checked.max(now))?;
                Some((name.clone(), at, kind))
            })
            .collect()
    }

    /// When the daemon should call [`Scheduler::due`] next: the earliest fire
    /// time after any active task's `last_checked` (in the past means now).
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.tasks
            .values()
            .filter(|s| !s.paused)
            .filter_map(|s| s.schedule.next_after(s.last_checked).map(|(t, _)| t))
            .min()
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
