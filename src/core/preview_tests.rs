//! Tests of the retention preview (kept apart to keep the module readable).
use super::*;
use crate::core::retention::evaluate;
use crate::core::retention::tests::{at, record};
use chrono::TimeDelta;

fn rec(id: &str, kind: BackupKind, parent: Option<&str>, chain: &str, t: &str) -> BackupRecord {
    record(id, kind, parent, chain.into(), at(t))
}

fn within(d: &str) -> RetentionPolicy {
    RetentionPolicy {
        keep_within: Some(d.into()),
        ..Default::default()
    }
}

fn outlook<'a>(p: &'a [Preview], id: &str) -> &'a Outlook {
    &p.iter().find(|x| x.id == id).unwrap().outlook
}

/// Three chains: an old full, a full with a young incremental, the newest full.
fn history() -> Vec<BackupRecord> {
    use BackupKind::*;
    vec![
        rec("f1", Full, None, "f1", "2026-10-01T02:00:00Z"),
        rec("f2", Full, None, "f2", "2026-11-01T02:00:00Z"),
        rec("i2", Incremental, Some("f2"), "f2", "2026-11-18T02:00:00Z"),
        rec("f3", Full, None, "f3", "2026-11-20T02:00:00Z"),
    ]
}

#[test]
fn keep_within_gives_dates_and_the_newest_full_is_kept() {
    let now = at("2026-11-22T12:00:00Z");
    let p = preview(&history(), &within("14d"), now).unwrap();
    assert_eq!(outlook(&p, "f1"), &Outlook::ExpiresNow);
    // f2 is older than 14 days but its incremental is not: kept for it.
    assert_eq!(
        outlook(&p, "f2"),
        &Outlook::ExpiresAt {
            at: at("2026-12-02T02:00:01Z"),
            rule: "keep_within 14d for i2".into()
        }
    );
    assert_eq!(
        outlook(&p, "i2"),
        &Outlook::ExpiresAt {
            at: at("2026-12-02T02:00:01Z"),
            rule: "keep_within 14d".into()
        }
    );
    assert_eq!(
        outlook(&p, "f3"),
        &Outlook::Kept {
            reasons: vec!["newest full".into()]
        }
    );
    assert_eq!(p[0].expires(now), Some(now));
    assert_eq!(p[3].expires(now), None);
}

#[test]
fn pinned_manual_and_count_rules_are_kept_with_their_reasons() {
    let now = at("2026-11-22T12:00:00Z");
    let mut h = history();
    h[0].pinned = true;
    h[1].manual = true;
    let policy = RetentionPolicy {
        keep_within: Some("1d".into()),
        keep_last_full: Some(2),
        ..Default::default()
    };
    let p = preview(&h, &policy, now).unwrap();
    assert_eq!(
        outlook(&p, "f1"),
        &Outlook::Kept {
            reasons: vec!["pinned".into()]
        }
    );
    let Outlook::Kept { reasons } = outlook(&p, "f2") else {
        panic!("{p:?}")
    };
    assert!(reasons.contains(&"manual".to_string()), "{reasons:?}");
    assert!(
        reasons.contains(&"keep_last_full 2".to_string()),
        "{reasons:?}"
    );
}

#[test]
fn without_a_policy_everything_is_kept() {
    let p = preview(
        &history(),
        &RetentionPolicy::default(),
        at("2026-11-22T12:00:00Z"),
    )
    .unwrap();
    assert!(p.iter().all(|x| x.outlook
        == Outlook::Kept {
            reasons: vec![NO_POLICY.into()]
        }));
}

#[test]
fn a_bad_duration_is_an_error() {
    let e = preview(&history(), &within("soon"), at("2026-11-22T12:00:00Z")).unwrap_err();
    assert!(e.contains("keep_within"), "{e}");
}

/// The preview agrees with `evaluate`: what expires now is exactly what
/// evaluate expires now, and a dated expiry is kept a second before its date
/// and expired at it.
#[test]
fn the_preview_agrees_with_evaluate_at_the_predicted_times() {
    use BackupKind::*;
    let mut h = Vec::new();
    let start = at("2026-09-01T03:00:00Z");
    let mut chain = String::new();
    let mut prev: Option<String> = None;
    for i in 0..60i64 {
        let t = (start + TimeDelta::hours(i * 29)).to_rfc3339();
        let id = format!("b{i:02}");
        let (kind, parent) = match i % 7 {
            0 => (Full, None),
            3 => (Differential, Some(chain.clone())),
            _ => (Incremental, prev.clone()),
        };
        if kind == Full {
            chain = id.clone();
        }
        let mut r = rec(&id, kind, parent.as_deref(), &chain, &t);
        r.manual = i == 9;
        h.push(r);
        prev = Some(id);
    }
    let now = at("2026-11-22T12:00:00Z");
    for policy in [
        within("20d"),
        RetentionPolicy {
            keep_within: Some("10d".into()),
            keep_daily: Some(3),
            keep_last_full: Some(1),
            ..Default::default()
        },
        RetentionPolicy {
            keep_weekly: Some(2),
            ..Default::default()
        },
    ] {
        let p = preview(&h, &policy, now).unwrap();
        let e = evaluate(&h, &policy, now).unwrap();
        for (x, d) in p.iter().zip(&e) {
            assert_eq!(x.id, d.id);
            assert_eq!(x.outlook == Outlook::ExpiresNow, !d.keep, "{x:?} {d:?}");
            if let Outlook::ExpiresAt { at: t, .. } = &x.outlook {
                let before = evaluate(&h, &policy, *t - TimeDelta::seconds(1)).unwrap();
                let after = evaluate(&h, &policy, *t).unwrap();
                let find = |v: &[crate::core::retention::Decision]| {
                    v.iter().find(|y| y.id == x.id).unwrap().keep
                };
                assert!(find(&before), "{x:?} kept until its date");
                assert!(!find(&after), "{x:?} expired at its date");
            }
        }
    }
}
