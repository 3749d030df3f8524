//! Tests of the parent module (kept apart to keep the module readable).
use super::*;
use chrono::TimeDelta;
use proptest::prelude::*;

/// A complete backup of task `t` (shared with the preview's tests).
pub(crate) fn record(
    id: &str,
    kind: BackupKind,
    parent: Option<&str>,
    chain: String,
    finished: DateTime<Utc>,
) -> BackupRecord {
    BackupRecord {
        id: id.into(),
        task: "t".into(),
        kind,
        manual: false,
        parent: parent.map(str::to_string),
        chain,
        status: BackupStatus::Complete,
        started: finished - TimeDelta::seconds(1),
        finished,
        logical_bytes: 100,
        stored_bytes: 10,
        file_count: 1,
        entry_count: 2,
        changed_files: 1,
        errors: vec![],
        warnings: vec![],
        destinations: vec!["d".into()],
        manifest_hash: "00".into(),
        pinned: false,
        verified: None,
        copies: Vec::new(),
    }
}

/// An RFC 3339 instant (shared with the preview's tests).
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A backup record; `parent` decides the chain (looked up in `prior`).
fn rec(
    prior: &[BackupRecord],
    id: &str,
    kind: BackupKind,
    parent: Option<&str>,
    finished: DateTime<Utc>,
) -> BackupRecord {
    let chain = match parent {
        None => id.to_string(),
        Some(p) => prior.iter().find(|b| b.id == p).unwrap().chain.clone(),
    };
    record(id, kind, parent, chain, finished)
}

/// Builds a history from `(id, kind, parent, finished)` rows, oldest first.
fn history(rows: &[(&str, BackupKind, Option<&str>, &str)]) -> Vec<BackupRecord> {
    let mut out: Vec<BackupRecord> = Vec::new();
    for (id, kind, parent, t) in rows {
        let r = rec(&out, id, *kind, *parent, at(t));
        out.push(r);
    }
    out
}

fn kept(ds: &[Decision]) -> Vec<&str> {
    ds.iter()
        .filter(|d| d.keep)
        .map(|d| d.id.as_str())
        .collect()
}

fn why<'a>(ds: &'a [Decision], id: &str) -> &'a [String] {
    &ds.iter().find(|d| d.id == id).unwrap().reasons
}

use BackupKind::{Differential as D, Full as F, Incremental as I};

/// Two chains: f1 ← i1 ← i2 and f2 ← i3, d1 (differential of f2).
fn two_chains() -> Vec<BackupRecord> {
    history(&[
        ("f1", F, None, "2026-03-01T00:00:00Z"),
        ("i1", I, Some("f1"), "2026-03-02T00:00:00Z"),
        ("i2", I, Some("i1"), "2026-03-03T00:00:00Z"),
        ("f2", F, None, "2026-03-08T00:00:00Z"),
        ("i3", I, Some("f2"), "2026-03-09T00:00:00Z"),
        ("d1", D, Some("f2"), "2026-03-10T00:00:00Z"),
    ])
}

fn policy(f: impl FnOnce(&mut RetentionPolicy)) -> RetentionPolicy {
    let mut p = RetentionPolicy::default();
    f(&mut p);
    p
}

#[test]
fn empty_policy_keeps_everything() {
    let h = two_chains();
    let ds = evaluate(&h, &RetentionPolicy::default(), at("2027-01-01T00:00:00Z")).unwrap();
    assert_eq!(ds.len(), 6);
    for d in &ds {
        assert!(d.keep);
        assert_eq!(d.reasons, [NO_POLICY]);
    }
}

#[test]
fn decisions_are_sorted_by_finish_time_and_carry_the_record() {
    let mut h = two_chains();
    h.reverse();
    let ds = evaluate(&h, &RetentionPolicy::default(), at("2027-01-01T00:00:00Z")).unwrap();
    let ids: Vec<&str> = ds.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["f1", "i1", "i2", "f2", "i3", "d1"]);
    assert_eq!(ds[2].kind, I);
    assert_eq!(ds[2].stored_bytes, 10);
    assert_eq!(ds[2].task, "t");
    assert_eq!(ds[2].finished, at("2026-03-03T00:00:00Z"));
}

#[test]
fn keep_within_keeps_backups_at_or_after_the_cutoff_and_their_ancestors() {
    let h = two_chains();
    let p = policy(|p| p.keep_within = Some("8d".into()));
    // Cutoff 2026-03-03T00:00:00Z exactly: i2 is kept by the rule, f1 and i1 for it.
    let ds = evaluate(&h, &p, at("2026-03-11T00:00:00Z")).unwrap();
    assert_eq!(kept(&ds), ["f1", "i1", "i2", "f2", "i3", "d1"]);
    assert_eq!(why(&ds, "i2"), ["keep_within 8d"]);
    assert_eq!(why(&ds, "i1"), ["needed by i2"]);
    assert_eq!(why(&ds, "f1"), ["needed by i1"]);
    // One second later i2 is out, and so is its whole chain.
    let ds = evaluate(&h, &p, at("2026-03-11T00:00:01Z")).unwrap();
    assert_eq!(kept(&ds), ["f2", "i3", "d1"]);
    assert!(why(&ds, "f1").is_empty());
    assert_eq!(
        why(&ds, "f2"),
        [
            "newest full",
            "keep_within 8d",
            "needed by i3",
            "needed by d1"
        ]
    );
}

#[test]
fn invalid_keep_within_is_an_error() {
    let p = policy(|p| p.keep_within = Some("2 weeks".into()));
    let e = evaluate(&two_chains(), &p, Utc::now()).unwrap_err();
    assert!(e.starts_with("keep_within: duration \"2 weeks\""), "{e}");
}

#[test]
fn keep_last_full_keeps_whole_chains_by_their_full_time() {
    let mut h = two_chains();
    // f0: an older chain whose incremental finished last of all.
    let f0 = rec(&h, "f0", F, None, at("2026-02-01T00:00:00Z"));
    h.push(f0);
    let i0 = rec(&h, "i0", I, Some("f0"), at("2026-03-20T00:00:00Z"));
    h.push(i0);
    let now = at("2026-04-01T00:00:00Z");
    let ds = evaluate(&h, &policy(|p| p.keep_last_full = Some(2)), now).unwrap();
    assert_eq!(kept(&ds), ["f1", "i1", "i2", "f2", "i3", "d1"]);
    assert_eq!(why(&ds, "i2"), ["keep_last_full 2"]);
    assert!(why(&ds, "i0").is_empty());
    let ds = evaluate(&h, &policy(|p| p.keep_last_full = Some(1)), now).unwrap();
    assert_eq!(kept(&ds), ["f2", "i3", "d1"]);
    let ds = evaluate(&h, &policy(|p| p.keep_last_full = Some(9)), now).unwrap();
    assert_eq!(kept(&ds).len(), 8);
}

#[test]
fn the_newest_full_is_always_kept() {
    let h = two_chains();
    let p = policy(|p| p.keep_within = Some("1h".into()));
    let ds = evaluate(&h, &p, at("2030-01-01T00:00:00Z")).unwrap();
    assert_eq!(kept(&ds), ["f2"]);
    assert_eq!(why(&ds, "f2"), ["newest full"]);
}

#[test]
fn a_partial_newest_full_also_keeps_the_newest_complete_full() {
    let mut h = two_chains();
    h[3].status = BackupStatus::Partial;
    let p = policy(|p| p.keep_within = Some("1h".into()));
    let ds = evaluate(&h, &p, at("2030-01-01T00:00:00Z")).unwrap();
    assert_eq!(kept(&ds), ["f1", "f2"]);
    assert_eq!(why(&ds, "f1"), ["newest complete full"]);
}

#[test]
fn manual_and_pinned_backups_are_kept_with_their_ancestors() {
    let mut h = two_chains();
    h[1].manual = true; // i1
    h[4].pinned = true; // i3
    let p = policy(|p| p.keep_last_full = Some(1));
    let ds = evaluate(&h, &p, at("2030-01-01T00:00:00Z")).unwrap();
    assert_eq!(kept(&ds), ["f1", "i1", "f2", "i3", "d1"]);
    assert_eq!(why(&ds, "i1"), ["manual"]);
    assert_eq!(why(&ds, "f1"), ["needed by i1"]);
    assert_eq!(why(&ds, "i3"), ["pinned", "keep_last_full 1"]);
    assert!(why(&ds, "i2").is_empty());
}

/// One full and a long line of incrementals at the given times.
fn line(times: &[&str]) -> Vec<BackupRecord> {
    let mut h: Vec<BackupRecord> = Vec::new();
    for (k, t) in times.iter().enumerate() {
        let id = format!("b{k:02}");
        let parent = h.last().map(|p| p.id.clone());
        let kind = if k == 0 { F } else { I };
        let r = rec(&h, &id, kind, parent.as_deref(), at(t));
        h.push(r);
    }
    h
}

/// Calendar rules are tested on independent fulls so the chain closure
/// does not hide which backups the rule itself picked.
fn fulls(times: &[&str]) -> Vec<BackupRecord> {
    times
        .iter()
        .enumerate()
        .map(|(k, t)| rec(&[], &format!("b{k:02}"), F, None, at(t)))
        .collect()
}

fn by_rule<'a>(ds: &'a [Decision], rule: &str) -> Vec<&'a str> {
    ds.iter()
        .filter(|d| d.reasons.iter().any(|r| r == rule))
        .map(|d| d.id.as_str())
        .collect()
}

#[test]
fn keep_daily_keeps_the_newest_backup_of_the_last_days_that_have_backups() {
    let h = fulls(&[
        "2026-05-01T08:00:00Z",
        "2026-05-01T20:00:00Z", // b01: newest of May 1
        "2026-05-03T01:00:00Z",
        "2026-05-03T23:59:59Z", // b03: newest of May 3 (May 2 has none)
        "2026-05-04T00:00:00Z", // b04: newest of May 4
    ]);
    let now = at("2026-06-01T00:00:00Z");
    let ds = evaluate(&h, &policy(|p| p.keep_daily = Some(3)), now).unwrap();
    assert_eq!(by_rule(&ds, "keep_daily 3"), ["b01", "b03", "b04"]);
    let ds = evaluate(&h, &policy(|p| p.keep_daily = Some(2)), now).unwrap();
    assert_eq!(by_rule(&ds, "keep_daily 2"), ["b03", "b04"]);
    assert_eq!(kept(&ds), ["b03", "b04"]);
    let ds = evaluate(&h, &policy(|p| p.keep_daily = Some(0)), now).unwrap();
    assert_eq!(kept(&ds), ["b04"]); // the newest full only
}

#[test]
fn keep_weekly_uses_iso_weeks_across_the_year_end() {
    let h = fulls(&[
        "2026-12-20T10:00:00Z", // Sunday: ISO 2026-W51
        "2026-12-27T10:00:00Z", // Sunday: 2026-W52
        "2026-12-28T10:00:00Z", // Monday: 2026-W53
        "2027-01-02T10:00:00Z", // Saturday: still 2026-W53
        "2027-01-04T10:00:00Z", // Monday: 2027-W01
    ]);
    let now = at("2027-02-01T00:00:00Z");
    let ds = evaluate(&h, &policy(|p| p.keep_weekly = Some(3)), now).unwrap();
    assert_eq!(by_rule(&ds, "keep_weekly 3"), ["b01", "b03", "b04"]);
}

#[test]
fn keep_monthly_and_yearly() {
    let h = fulls(&[
        "2024-06-01T00:00:00Z",
        "2024-12-31T23:00:00Z", // newest of 2024
        "2025-01-31T00:00:00Z", // newest of Jan 2025
        "2025-03-01T00:00:00Z",
        "2025-03-31T00:00:00Z", // newest of Mar 2025 and of 2025
        "2026-02-01T00:00:00Z", // newest of Feb 2026 and of 2026
    ]);
    let now = at("2026-06-01T00:00:00Z");
    let p = policy(|p| {
        p.keep_monthly = Some(3);
        p.keep_yearly = Some(10);
    });
    let ds = evaluate(&h, &p, now).unwrap();
    assert_eq!(by_rule(&ds, "keep_monthly 3"), ["b02", "b04", "b05"]);
    assert_eq!(by_rule(&ds, "keep_yearly 10"), ["b01", "b04", "b05"]);
    assert_eq!(kept(&ds), ["b01", "b02", "b04", "b05"]);
    assert_eq!(
        why(&ds, "b05"),
        ["newest full", "keep_monthly 3", "keep_yearly 10"]
    );
}

#[test]
fn a_calendar_rule_keeping_an_incremental_keeps_its_whole_line() {
    let h = line(&[
        "2026-05-01T00:00:00Z",
        "2026-05-01T06:00:00Z",
        "2026-05-01T12:00:00Z",
        "2026-05-02T00:00:00Z",
    ]);
    let now = at("2026-06-01T00:00:00Z");
    let ds = evaluate(&h, &policy(|p| p.keep_daily = Some(2)), now).unwrap();
    assert_eq!(by_rule(&ds, "keep_daily 2"), ["b02", "b03"]);
    assert_eq!(kept(&ds), ["b00", "b01", "b02", "b03"]);
    assert_eq!(why(&ds, "b01"), ["needed by b02"]);
    assert_eq!(why(&ds, "b02"), ["keep_daily 2", "needed by b03"]);
}

#[test]
fn calendar_periods_follow_the_given_time_zone() {
    // 23:30 UTC on May 1 is already May 2 at UTC+2.
    let h = fulls(&["2026-05-01T10:00:00Z", "2026-05-01T23:30:00Z"]);
    let now = at("2026-06-01T00:00:00Z");
    let p = policy(|p| p.keep_daily = Some(2));
    let utc = evaluate(&h, &p, now).unwrap();
    assert_eq!(by_rule(&utc, "keep_daily 2"), ["b01"]);
    let plus2 = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    let local = evaluate_in(&h, &p, now, &plus2).unwrap();
    assert_eq!(by_rule(&local, "keep_daily 2"), ["b00", "b01"]);
}

// ---- property tests over random histories and policies ----

/// One step of a random history: kind (0 full, 1 incremental, 2
/// differential), which earlier backup to hang it on, minutes after the
/// start (sorted later), and the manual, pinned and partial flags.
type Step = (u8, u16, u32, bool, bool, bool);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            0u8..3,
            any::<u16>(),
            0u32..90 * 24 * 60,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
        ),
        0..40,
    )
}

fn base() -> DateTime<Utc> {
    at("2026-01-01T00:00:00Z")
}

/// Random chains: the first backup is a full; an incremental hangs on any
/// earlier backup, a differential on any earlier full. Times increase, so
/// a parent always finishes before its children.
fn build(steps: &[Step]) -> Vec<BackupRecord> {
    let mut minutes: Vec<u32> = steps.iter().map(|s| s.2).collect();
    minutes.sort_unstable();
    let mut h: Vec<BackupRecord> = Vec::new();
    for (k, (&(kind, pick, _, manual, pinned, partial), m)) in steps.iter().zip(minutes).enumerate()
    {
        let id = format!("b{k:03}");
        let t = base() + TimeDelta::minutes(m as i64) + TimeDelta::seconds(k as i64);
        let fulls: Vec<&BackupRecord> = h.iter().filter(|b| b.kind == F).collect();
        let (kind, parent) = match kind {
            1 if !h.is_empty() => (I, Some(h[pick as usize % h.len()].id.clone())),
            2 if !fulls.is_empty() => (D, Some(fulls[pick as usize % fulls.len()].id.clone())),
            _ => (F, None),
        };
        let mut r = rec(&h, &id, kind, parent.as_deref(), t);
        r.manual = manual;
        r.pinned = pinned;
        if partial {
            r.status = BackupStatus::Partial;
        }
        h.push(r);
    }
    h
}

fn policies() -> impl Strategy<Value = RetentionPolicy> {
    let within = prop::option::of(
        (1u32..60, prop::sample::select(vec!["m", "h", "d", "w"]))
            .prop_map(|(n, u)| format!("{n}{u}")),
    );
    let count = || prop::option::of(0u32..8);
    (
        within,
        prop::option::of(1u32..5),
        count(),
        count(),
        count(),
        count(),
    )
        .prop_map(|(w, f, d, wk, m, y)| RetentionPolicy {
            keep_within: w,
            keep_last_full: f,
            keep_daily: d,
            keep_weekly: wk,
            keep_monthly: m,
            keep_yearly: y,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn retention_is_chain_safe_and_idempotent(
        steps in steps(),
        policy in policies(),
        late in 0u32..20 * 24 * 60,
    ) {
        let h = build(&steps);
        let now = base() + TimeDelta::days(90) + TimeDelta::minutes(late as i64);
        let ds = evaluate(&h, &policy, now).unwrap();
        prop_assert_eq!(ds.len(), h.len());
        prop_assert!(ds.windows(2).all(|w| (w[0].finished, &w[0].id) < (w[1].finished, &w[1].id)));
        let keep: HashMap<&str, bool> = ds.iter().map(|d| (d.id.as_str(), d.keep)).collect();
        for d in &ds {
            // Kept backups say why; expired ones have no reason.
            prop_assert_eq!(d.keep, !d.reasons.is_empty(), "{:?}", d);
        }
        for b in &h {
            // (a) no kept backup has an expired ancestor (checking parents suffices).
            if keep[b.id.as_str()] && let Some(p) = &b.parent {
                prop_assert!(keep[p.as_str()], "{} is kept but its parent {} expires", b.id, p);
            }
            // (c) manual and pinned backups are kept.
            if b.manual || b.pinned {
                prop_assert!(keep[b.id.as_str()], "{} is manual/pinned", b.id);
            }
        }
        // (b) the newest full is kept.
        if let Some(f) = h.iter().filter(|b| b.kind == F).max_by_key(|b| (b.finished, &b.id)) {
            prop_assert!(keep[f.id.as_str()]);
        }
        // (d) idempotent: what is kept is kept again, entirely.
        let retained: Vec<BackupRecord> =
            h.iter().filter(|b| keep[b.id.as_str()]).cloned().collect();
        let again = evaluate(&retained, &policy, now).unwrap();
        prop_assert!(again.iter().all(|d| d.keep), "{:?}", again.iter().find(|d| !d.keep));
    }

    #[test]
    fn an_empty_policy_expires_nothing(steps in steps(), late in 0u32..20 * 24 * 60) {
        let h = build(&steps);
        let now = base() + TimeDelta::days(90) + TimeDelta::minutes(late as i64);
        let ds = evaluate(&h, &RetentionPolicy::default(), now).unwrap();
        prop_assert_eq!(ds.len(), h.len());
        prop_assert!(ds.iter().all(|d| d.keep && d.reasons == [NO_POLICY]));
    }
}
