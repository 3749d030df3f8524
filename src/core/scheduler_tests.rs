//! Scheduler tests: days of schedule on a [`FakeClock`], no sleeps.

use super::*;
use crate::core::clock::FakeClock;
use crate::model::{Hooks, RetentionPolicy, SourceConfig};
use chrono::{Datelike, Timelike, Weekday};
use std::path::PathBuf;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn task(name: &str) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        source: SourceConfig::Dir {
            path: PathBuf::from("/srv/app"),
            exclude: vec![],
        },
        destinations: vec!["local".into()],
        full: None,
        incremental: None,
        differential: None,
        timezone: Some("UTC".into()),
        catch_up: CatchUp::Once,
        retention: RetentionPolicy::default(),
        hooks: Hooks::default(),
        compression_level: 3,
        paused: false,
        created: utc(2026, 1, 1, 0, 0, 0),
        require: Default::default(),
        alert_after: None,
        notify: None,
        verify: None,
        verify_read_data: None,
    }
}

fn with(mut t: TaskConfig, f: impl FnOnce(&mut TaskConfig)) -> TaskConfig {
    f(&mut t);
    t
}

fn scheduler_at(start: DateTime<Utc>) -> (FakeClock, Scheduler) {
    let clock = FakeClock::new(start);
    let sched = Scheduler::new(Arc::new(clock.clone()));
    (clock, sched)
}

/// Ticks once a minute until `end`, collecting every Due.
fn run_minutes(clock: &FakeClock, sched: &mut Scheduler, end: DateTime<Utc>) -> Vec<Due> {
    let mut all = Vec::new();
    while clock.now() < end {
        let now = clock.advance(TimeDelta::minutes(1));
        all.extend(sched.due(now));
    }
    all
}

/// Successive fire times of a schedule in `(from, to]`.
fn fires(s: &TaskSchedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = from;
    while let Some((n, _)) = s.next_after(t).filter(|(n, _)| *n <= to) {
        out.push(n);
        t = n;
    }
    out
}

fn sched_of(expr: &str, tz: &str) -> TaskSchedule {
    let t = with(task("t"), |t| {
        t.full = Some(expr.into());
        t.timezone = Some(tz.into());
    });
    TaskSchedule::from_task(&t, Tz::UTC).unwrap()
}

#[test]
fn two_weeks_of_hourly_incrementals_and_a_sunday_full() {
    // Monday 2026-01-05 00:00 UTC; two weeks hold Sundays 11 and 18 January.
    let start = utc(2026, 1, 5, 0, 0, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("app"), |t| {
        t.full = Some("0 3 * * 0".into());
        t.incremental = Some("0 * * * *".into());
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    let all = run_minutes(&clock, &mut sched, start + TimeDelta::days(14));
    let fulls: Vec<&Due> = all.iter().filter(|d| d.kind == BackupKind::Full).collect();
    let incs = all
        .iter()
        .filter(|d| d.kind == BackupKind::Incremental)
        .count();
    assert_eq!(
        all.len(),
        14 * 24,
        "one run per hour, coinciding ones merged"
    );
    assert_eq!(fulls.len(), 2);
    assert_eq!(incs, 14 * 24 - 2);
    assert_eq!(fulls[0].scheduled_for, utc(2026, 1, 11, 3, 0, 0));
    assert_eq!(fulls[1].scheduled_for, utc(2026, 1, 18, 3, 0, 0));
    assert!(all.iter().all(|d| !d.missed && d.task == "app"));
    assert!(
        all.iter()
            .all(|d| d.scheduled_for.minute() == 0 && d.scheduled_for.second() == 0)
    );
    assert!(sched.take_skipped().is_empty());
    assert_eq!(sched.last_checked("app"), Some(start + TimeDelta::days(14)));
}

#[test]
fn coinciding_kinds_full_beats_differential_beats_incremental() {
    let t = with(task("t"), |t| {
        t.full = Some("0 3 * * 0".into());
        t.differential = Some("0 3 * * *".into());
        t.incremental = Some("0 * * * *".into());
    });
    let s = TaskSchedule::from_task(&t, Tz::UTC).unwrap();
    // Saturday 2026-01-10.
    assert_eq!(
        s.next_after(utc(2026, 1, 10, 1, 30, 0)),
        Some((utc(2026, 1, 10, 2, 0, 0), BackupKind::Incremental))
    );
    assert_eq!(
        s.next_after(utc(2026, 1, 10, 2, 0, 0)),
        Some((utc(2026, 1, 10, 3, 0, 0), BackupKind::Differential))
    );
    assert_eq!(
        s.next_after(utc(2026, 1, 11, 2, 0, 0)),
        Some((utc(2026, 1, 11, 3, 0, 0), BackupKind::Full))
    );
    // Strictly after: a fire time equal to `t` is not returned.
    assert_eq!(
        s.next_after(utc(2026, 1, 11, 3, 0, 0)),
        Some((utc(2026, 1, 11, 4, 0, 0), BackupKind::Incremental))
    );
}

#[test]
fn only_incremental_or_differential_schedules_yield_their_kinds() {
    let t = with(task("t"), |t| t.incremental = Some("*/30 * * * *".into()));
    let s = TaskSchedule::from_task(&t, Tz::UTC).unwrap();
    assert_eq!(
        s.next_after(utc(2026, 1, 10, 1, 10, 0)),
        Some((utc(2026, 1, 10, 1, 30, 0), BackupKind::Incremental))
    );
    let t = with(task("t"), |t| t.differential = Some("@daily".into()));
    let s = TaskSchedule::from_task(&t, Tz::UTC).unwrap();
    assert_eq!(
        s.next_after(utc(2026, 1, 10, 1, 10, 0)),
        Some((utc(2026, 1, 11, 0, 0, 0), BackupKind::Differential))
    );
    let s = TaskSchedule::from_task(&task("t"), Tz::UTC).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.next_after(utc(2026, 1, 10, 0, 0, 0)), None);
}

#[test]
fn daily_macro_in_the_host_zone_when_the_task_names_none() {
    let start = utc(2026, 1, 5, 0, 0, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("d"), |t| {
        t.full = Some("@daily".into());
        t.timezone = None;
    });
    // Host zone Asia/Tokyo (UTC+9, no DST): local midnight is 15:00 UTC.
    sched.upsert(&t, Tz::Asia__Tokyo).unwrap();
    assert_eq!(sched.schedule("d").unwrap().tz(), Tz::Asia__Tokyo);
    let all = run_minutes(&clock, &mut sched, start + TimeDelta::days(10));
    assert_eq!(all.len(), 10);
    for (i, d) in all.iter().enumerate() {
        assert_eq!(d.kind, BackupKind::Full);
        assert_eq!(
            d.scheduled_for,
            utc(2026, 1, 5, 15, 0, 0) + TimeDelta::days(i as i64)
        );
    }
}

#[test]
fn weekday_range_fires_monday_to_friday() {
    let start = utc(2026, 1, 5, 0, 0, 0); // Monday
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("w"), |t| {
        t.incremental = Some("0 9 * * 1-5".into());
        t.timezone = Some("America/New_York".into());
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    let all = run_minutes(&clock, &mut sched, start + TimeDelta::days(14));
    assert_eq!(all.len(), 10);
    for d in &all {
        let local = d.scheduled_for.with_timezone(&Tz::America__New_York);
        assert!(
            !matches!(local.weekday(), Weekday::Sat | Weekday::Sun),
            "{d:?}"
        );
        assert_eq!((local.hour(), local.minute()), (9, 0));
        assert_eq!(d.scheduled_for.hour(), 14, "EST is UTC-5 in January");
    }
}

#[path = "scheduler_dst_tests.rs"]
mod dst;

#[test]
fn catch_up_once_returns_one_missed_run_of_the_strongest_kind() {
    let start = utc(2026, 1, 10, 12, 0, 30); // Saturday
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("c"), |t| {
        t.full = Some("0 3 * * 0".into());
        t.incremental = Some("0 * * * *".into());
        t.catch_up = CatchUp::Once;
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    assert!(sched.tick().is_empty());
    // Three days with the process stopped, back at Tuesday 12:30.
    clock.set(utc(2026, 1, 13, 12, 30, 0));
    assert_eq!(
        sched.tick(),
        vec![Due {
            task: "c".into(),
            kind: BackupKind::Full,
            scheduled_for: utc(2026, 1, 13, 12, 0, 0),
            missed: true,
        }]
    );
    assert!(sched.take_skipped().is_empty());
    clock.advance(TimeDelta::minutes(1));
    assert!(sched.tick().is_empty(), "caught up once, not again");
    // Back just in time for an on-time fire: one run, on time, the strongest kind.
    clock.set(utc(2026, 1, 18, 12, 0, 20));
    assert_eq!(
        sched.tick(),
        vec![Due {
            task: "c".into(),
            kind: BackupKind::Full,
            scheduled_for: utc(2026, 1, 18, 12, 0, 0),
            missed: false,
        }]
    );
}

#[test]
fn catch_up_skip_drops_missed_runs_and_reports_them() {
    let start = utc(2026, 1, 10, 12, 0, 30);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("s"), |t| {
        t.full = Some("0 3 * * 0".into());
        t.incremental = Some("0 * * * *".into());
        t.catch_up = CatchUp::Skip;
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    clock.set(utc(2026, 1, 13, 12, 30, 0));
    assert!(sched.tick().is_empty());
    assert_eq!(
        sched.take_skipped(),
        vec![Due {
            task: "s".into(),
            kind: BackupKind::Full,
            scheduled_for: utc(2026, 1, 13, 12, 0, 0),
            missed: true,
        }]
    );
    assert!(sched.take_skipped().is_empty());
    // The schedule goes on normally.
    let all = run_minutes(&clock, &mut sched, utc(2026, 1, 13, 14, 0, 0));
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|d| d.kind == BackupKind::Incremental && !d.missed)
    );
    // Waking up just in time for an on-time fire: it runs, the older ones are skipped.
    clock.set(utc(2026, 1, 18, 12, 0, 20));
    assert_eq!(
        sched.tick(),
        vec![Due {
            task: "s".into(),
            kind: BackupKind::Incremental,
            scheduled_for: utc(2026, 1, 18, 12, 0, 0),
            missed: false,
        }]
    );
    assert_eq!(
        sched.take_skipped(),
        vec![Due {
            task: "s".into(),
            kind: BackupKind::Full,
            scheduled_for: utc(2026, 1, 18, 11, 0, 0),
            missed: true,
        }]
    );
}

#[test]
fn grace_period_decides_missed() {
    let start = utc(2026, 1, 10, 11, 59, 0);
    let (clock, sched) = scheduler_at(start);
    let mut sched = sched.with_grace(TimeDelta::minutes(5));
    let t = with(task("g"), |t| t.incremental = Some("0 12 * * *".into()));
    sched.upsert(&t, Tz::UTC).unwrap();
    clock.set(utc(2026, 1, 10, 12, 5, 0));
    assert!(!sched.tick()[0].missed, "exactly the grace period late");
    clock.set(utc(2026, 1, 11, 12, 5, 1));
    assert!(sched.tick()[0].missed);
}

#[test]
fn paused_task_produces_nothing_and_does_not_catch_up_after_resume() {
    let start = utc(2026, 1, 5, 0, 0, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("p"), |t| {
        t.incremental = Some("0 * * * *".into());
        t.paused = true;
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    assert!(run_minutes(&clock, &mut sched, start + TimeDelta::days(2)).is_empty());
    assert!(sched.take_skipped().is_empty());
    assert_eq!(sched.last_checked("p"), Some(clock.now()));
    assert!(sched.next().is_empty());
    let resumed = with(t, |t| t.paused = false);
    sched.upsert(&resumed, Tz::UTC).unwrap();
    clock.advance(TimeDelta::minutes(30));
    assert!(sched.tick().is_empty(), "no catch-up for the paused time");
    clock.advance(TimeDelta::minutes(30));
    assert_eq!(sched.tick().len(), 1);
}

#[test]
fn new_task_starts_now_and_a_restart_restores_last_checked() {
    let start = utc(2026, 1, 10, 12, 30, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("r"), |t| t.incremental = Some("0 * * * *".into()));
    sched.upsert(&t, Tz::UTC).unwrap();
    assert_eq!(sched.last_checked("r"), Some(start));
    assert!(sched.due(start + TimeDelta::seconds(10)).is_empty());
    // A restarted daemon: a fresh scheduler, the persisted state restored.
    clock.set(utc(2026, 1, 12, 9, 30, 0));
    let mut restarted = Scheduler::new(Arc::new(clock.clone()));
    restarted.upsert(&t, Tz::UTC).unwrap();
    assert!(restarted.restore_state("r", start));
    assert!(!restarted.restore_state("unknown", start));
    let due = restarted.tick();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].scheduled_for, utc(2026, 1, 12, 9, 0, 0));
    assert!(due[0].missed);
    assert_eq!(restarted.states(), vec![("r".to_string(), clock.now())]);
    // Upserting an existing task keeps its state.
    restarted.upsert(&t, Tz::UTC).unwrap();
    assert_eq!(restarted.last_checked("r"), Some(clock.now()));
    assert!(restarted.remove("r"));
    assert!(!restarted.remove("r"));
    assert!(restarted.tick().is_empty());
}

#[test]
fn clock_going_back_fires_nothing_twice() {
    let start = utc(2026, 1, 10, 11, 59, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("b"), |t| t.incremental = Some("0 12 * * *".into()));
    sched.upsert(&t, Tz::UTC).unwrap();
    clock.set(utc(2026, 1, 10, 12, 0, 5));
    assert_eq!(sched.tick().len(), 1);
    clock.set(utc(2026, 1, 10, 11, 50, 0));
    assert!(sched.tick().is_empty());
    assert_eq!(sched.last_checked("b"), Some(utc(2026, 1, 10, 12, 0, 5)));
    clock.set(utc(2026, 1, 10, 12, 1, 0));
    assert!(sched.tick().is_empty());
}

#[test]
fn long_outage_with_a_minute_schedule_is_cheap_and_right() {
    let start = utc(2026, 1, 1, 0, 0, 0);
    let (clock, mut sched) = scheduler_at(start);
    let t = with(task("m"), |t| {
        t.incremental = Some("* * * * *".into());
        t.full = Some("0 0 1 1 *".into());
    });
    sched.upsert(&t, Tz::UTC).unwrap();
    clock.set(utc(2028, 6, 1, 0, 0, 30));
    assert_eq!(
        sched.tick(),
        vec![Due {
            task: "m".into(),
            kind: BackupKind::Full,
            scheduled_for: utc(2028, 6, 1, 0, 0, 0),
            missed: false,
        }]
    );
}

#[test]
fn invalid_zone_or_cron_is_a_clear_error_and_changes_nothing() {
    let (_clock, mut sched) = scheduler_at(utc(2026, 1, 1, 0, 0, 0));
    let bad = with(task("z"), |t| {
        t.full = Some("0 3 * * *".into());
        t.timezone = Some("Europe/Berln".into());
    });
    let e = sched.upsert(&bad, Tz::UTC).unwrap_err();
    assert!(e.contains("\"z\"") && e.contains("Europe/Berln"), "{e}");
    assert!(e.contains("time zone"), "{e}");
    assert_eq!(sched.last_checked("z"), None);
    let bad = with(task("z"), |t| t.incremental = Some("0 25 * * *".into()));
    let e = sched.upsert(&bad, Tz::UTC).unwrap_err();
    assert!(e.contains("incremental") && e.contains("hour"), "{e}");
    assert!(parse_tz(" Europe/Berlin ").is_ok());
}

#[test]
fn next_estimates_per_task() {
    let start = utc(2026, 1, 10, 12, 30, 0); // Saturday
    let (clock, mut sched) = scheduler_at(start);
    sched
        .upsert(
            &with(task("a"), |t| {
                t.full = Some("0 3 * * 0".into());
                t.incremental = Some("0 * * * *".into());
            }),
            Tz::UTC,
        )
        .unwrap();
    sched
        .upsert(
            &with(task("b"), |t| {
                t.full = Some("0 3 * * *".into());
                t.timezone = Some("Europe/Berlin".into());
            }),
            Tz::UTC,
        )
        .unwrap();
    sched
        .upsert(&with(task("manual-only"), |_| {}), Tz::UTC)
        .unwrap();
    assert_eq!(
        sched.next(),
        vec![
            (
                "a".into(),
                utc(2026, 1, 10, 13, 0, 0),
                BackupKind::Incremental
            ),
            ("b".into(), utc(2026, 1, 11, 2, 0, 0), BackupKind::Full),
        ]
    );
    assert_eq!(sched.next_wake(), Some(utc(2026, 1, 10, 13, 0, 0)));
    clock.set(utc(2026, 1, 11, 2, 30, 0));
    assert_eq!(
        sched.next(),
        vec![
            ("a".into(), utc(2026, 1, 11, 3, 0, 0), BackupKind::Full),
            ("b".into(), utc(2026, 1, 12, 2, 0, 0), BackupKind::Full),
        ]
    );
    // Not ticked since 12:30 yesterday: the daemon should wake at once.
    assert_eq!(sched.next_wake(), Some(utc(2026, 1, 10, 13, 0, 0)));
}

#[test]
fn host_zone_detection() {
    let link = Path::new("../usr/share/zoneinfo/Asia/Tokyo");
    assert_eq!(
        host_tz_from(Some("Europe/Berlin"), Some(link), None),
        Tz::Europe__Berlin
    );
    assert_eq!(
        host_tz_from(Some(":America/New_York"), None, None),
        Tz::America__New_York
    );
    assert_eq!(
        host_tz_from(Some("/usr/share/zoneinfo/posix/Europe/Paris"), None, None),
        Tz::Europe__Paris
    );
    assert_eq!(host_tz_from(Some(""), Some(link), None), Tz::UTC);
    assert_eq!(
        host_tz_from(Some("CET-1CEST"), Some(link), None),
        Tz::Asia__Tokyo
    );
    assert_eq!(host_tz_from(None, Some(link), None), Tz::Asia__Tokyo);
    assert_eq!(
        host_tz_from(None, Some(Path::new("/etc/other")), Some("Europe/Rome\n")),
        Tz::Europe__Rome
    );
    assert_eq!(host_tz_from(None, None, None), Tz::UTC);
    // Whatever this machine says, it is some zone.
    let _ = host_tz();
}
