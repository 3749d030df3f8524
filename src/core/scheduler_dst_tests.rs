//! Time zones and daylight-saving transitions: gaps fire once at their end,
//! overlaps once at the first occurrence, checked against a brute-force reference.

use super::*;

#[test]
fn berlin_three_oclock_is_two_utc_in_winter_and_one_utc_in_summer() {
    let s = sched_of("0 3 * * *", "Europe/Berlin");
    assert_eq!(
        s.next_after(utc(2026, 1, 10, 12, 0, 0)),
        Some((utc(2026, 1, 11, 2, 0, 0), BackupKind::Full))
    );
    assert_eq!(
        s.next_after(utc(2026, 7, 10, 12, 0, 0)),
        Some((utc(2026, 7, 11, 1, 0, 0), BackupKind::Full))
    );
}

#[test]
fn the_cron_crate_alone_skips_gaps_and_doubles_overlaps() {
    // What we correct for; if the crate changes, revisit the module docs.
    let berlin = Tz::Europe__Berlin;
    let s = parse_cron("30 2 * * *").unwrap();
    let from = berlin.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
    let next: Vec<_> = s
        .after(&from)
        .take(2)
        .map(|t| t.with_timezone(&Utc))
        .collect();
    assert_eq!(next[0], utc(2026, 3, 30, 0, 30, 0), "29 March is skipped");
    let from = berlin.with_ymd_and_hms(2026, 10, 24, 12, 0, 0).unwrap();
    let next: Vec<_> = s
        .after(&from)
        .take(2)
        .map(|t| t.with_timezone(&Utc))
        .collect();
    assert_eq!(
        next,
        vec![utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 25, 1, 30, 0)],
        "02:30 fires twice"
    );
}

#[test]
fn dst_gap_fires_once_at_the_end_of_the_gap() {
    // Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let s = sched_of("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        fires(&s, utc(2026, 3, 27, 12, 0, 0), utc(2026, 3, 30, 12, 0, 0)),
        vec![
            utc(2026, 3, 28, 1, 30, 0),
            utc(2026, 3, 29, 1, 0, 0), // 03:00 CEST, first instant after the gap
            utc(2026, 3, 30, 0, 30, 0),
        ]
    );
    // Several matches in the gap, and one at its end, are one run.
    let s = sched_of("*/15 2,3 * * *", "Europe/Berlin");
    let on_29: Vec<_> = fires(&s, utc(2026, 3, 28, 23, 0, 0), utc(2026, 3, 29, 3, 0, 0));
    assert_eq!(
        on_29,
        vec![
            utc(2026, 3, 29, 1, 0, 0),
            utc(2026, 3, 29, 1, 15, 0),
            utc(2026, 3, 29, 1, 30, 0),
            utc(2026, 3, 29, 1, 45, 0),
        ]
    );
    // Hourly: 01:00 CET, then 03:00 CEST (the gap's 02:00 and 03:00 merged).
    let s = sched_of("0 * * * *", "Europe/Berlin");
    assert_eq!(
        fires(&s, utc(2026, 3, 28, 23, 30, 0), utc(2026, 3, 29, 2, 0, 0)),
        vec![
            utc(2026, 3, 29, 0, 0, 0),
            utc(2026, 3, 29, 1, 0, 0),
            utc(2026, 3, 29, 2, 0, 0),
        ]
    );
    // America/New_York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let s = sched_of("30 2 * * *", "America/New_York");
    assert_eq!(
        fires(&s, utc(2026, 3, 7, 0, 0, 0), utc(2026, 3, 9, 12, 0, 0)),
        vec![
            utc(2026, 3, 7, 7, 30, 0),
            utc(2026, 3, 8, 7, 0, 0),
            utc(2026, 3, 9, 6, 30, 0),
        ]
    );
}

#[test]
fn dst_overlap_fires_once_at_the_first_occurrence() {
    // Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC);
    // 02:30 is 00:30 UTC (CEST) and again 01:30 UTC (CET).
    let s = sched_of("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        fires(&s, utc(2026, 10, 24, 12, 0, 0), utc(2026, 10, 26, 12, 0, 0)),
        vec![utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 26, 1, 30, 0)]
    );
    // From inside the repeated hour, the second 02:30 is not a fire time.
    assert_eq!(
        s.next_after(utc(2026, 10, 25, 1, 10, 0)),
        Some((utc(2026, 10, 26, 1, 30, 0), BackupKind::Full))
    );
    // Hourly: the repeated 02:00 does not fire again.
    let s = sched_of("0 * * * *", "Europe/Berlin");
    assert_eq!(
        fires(&s, utc(2026, 10, 24, 22, 30, 0), utc(2026, 10, 25, 3, 0, 0)),
        vec![
            utc(2026, 10, 24, 23, 0, 0), // 01:00 CEST
            utc(2026, 10, 25, 0, 0, 0),  // 02:00 CEST
            utc(2026, 10, 25, 2, 0, 0),  // 03:00 CET
            utc(2026, 10, 25, 3, 0, 0),  // 04:00 CET
        ]
    );
    // America/New_York, 2026-11-01: 01:30 is 05:30 UTC (EDT) and 06:30 UTC (EST).
    let s = sched_of("30 1 * * *", "America/New_York");
    assert_eq!(
        fires(&s, utc(2026, 10, 31, 12, 0, 0), utc(2026, 11, 2, 12, 0, 0)),
        vec![utc(2026, 11, 1, 5, 30, 0), utc(2026, 11, 2, 6, 30, 0)]
    );
}

#[test]
fn scheduler_ticking_through_both_berlin_transitions() {
    for (from, expected) in [
        (
            utc(2026, 3, 27, 12, 0, 0),
            [
                utc(2026, 3, 28, 1, 30, 0),
                utc(2026, 3, 29, 1, 0, 0),
                utc(2026, 3, 30, 0, 30, 0),
            ],
        ),
        (
            utc(2026, 10, 23, 12, 0, 0),
            [
                utc(2026, 10, 24, 0, 30, 0),
                utc(2026, 10, 25, 0, 30, 0),
                utc(2026, 10, 26, 1, 30, 0),
            ],
        ),
    ] {
        let (clock, mut sched) = scheduler_at(from);
        let t = with(task("b"), |t| {
            t.full = Some("30 2 * * *".into());
            t.timezone = Some("Europe/Berlin".into());
        });
        sched.upsert(&t, Tz::UTC).unwrap();
        let all = run_minutes(&clock, &mut sched, from + TimeDelta::days(3));
        let at: Vec<_> = all.iter().map(|d| d.scheduled_for).collect();
        assert_eq!(at, expected);
        assert!(all.iter().all(|d| !d.missed));
    }
}

/// Reference semantics, minute by minute: a schedule fires at UTC minute `u`
/// when a matching local minute is reached for the first time at `u`.
fn brute_force(expr: &str, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let s = parse_cron(expr).unwrap();
    let local = |u: DateTime<Utc>| u.with_timezone(&tz).naive_local();
    let mut seen = local(from);
    let mut out = Vec::new();
    let mut u = from + TimeDelta::minutes(1);
    while u <= to {
        let l = local(u);
        let mut m = seen + TimeDelta::minutes(1);
        let mut fired = false;
        while m <= l {
            fired |= s.includes(m.and_utc());
            m += TimeDelta::minutes(1);
        }
        if fired {
            out.push(u);
        }
        seen = seen.max(l);
        u += TimeDelta::minutes(1);
    }
    out
}

#[test]
fn next_after_matches_a_minute_by_minute_reference_around_transitions() {
    let cases = [
        (Tz::Europe__Berlin, utc(2026, 3, 28, 0, 0, 0)),
        (Tz::Europe__Berlin, utc(2026, 10, 24, 0, 0, 0)),
        (Tz::America__New_York, utc(2026, 3, 7, 0, 0, 0)),
        (Tz::America__New_York, utc(2026, 10, 31, 0, 0, 0)),
        // Half-hour DST shifts.
        (Tz::Australia__Lord_Howe, utc(2026, 4, 4, 0, 0, 0)),
        (Tz::Australia__Lord_Howe, utc(2026, 10, 3, 0, 0, 0)),
        // Samoa skipped all of 30 December 2011 (a 24-hour gap).
        (Tz::Pacific__Apia, utc(2011, 12, 29, 0, 0, 0)),
        (Tz::Asia__Kolkata, utc(2026, 3, 28, 0, 0, 0)),
    ];
    let exprs = [
        "0 * * * *",
        "*/15 * * * *",
        "30 2 * * *",
        "45 1 * * *",
        "0 0 * * *",
        "0 12 * * *",
        "15 2,3 * * 0",
    ];
    for (tz, from) in cases {
        let to = from + TimeDelta::days(3);
        for expr in exprs {
            let t = with(task("t"), |t| {
                t.full = Some(expr.into());
                t.timezone = Some(tz.name().into());
            });
            let s = TaskSchedule::from_task(&t, Tz::UTC).unwrap();
            assert_eq!(
                fires(&s, from, to),
                brute_force(expr, tz, from, to),
                "{expr:?} in {tz} from {from}"
            );
        }
    }
}
