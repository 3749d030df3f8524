//! Unit tests of `backup_names.rs`: every form of a name over a small catalog.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn rec(id: &str, task: &str, started: &str, status: &str) -> BackupRecord {
    serde_json::from_value(
        json!({"id": id, "task": task, "kind": "full", "manual": false,
        "parent": null, "chain": id, "status": status,
        "started": started, "finished": started,
        "logical_bytes": 10, "stored_bytes": 5, "file_count": 1, "entry_count": 2,
        "changed_files": 1, "destinations": ["nas"], "manifest_hash": "ab"}),
    )
    .unwrap()
}

fn catalog() -> Vec<BackupRecord> {
    vec![
        rec(
            "20261201-080000-1a2b7840",
            "app",
            "2026-12-01T08:00:00Z",
            "complete",
        ),
        rec(
            "20261201-090000-3c4d0001",
            "app",
            "2026-12-01T09:00:00Z",
            "complete",
        ),
        rec(
            "20261201-091000-5e6f0002",
            "app",
            "2026-12-01T09:10:00Z",
            "partial",
        ),
        rec(
            "20261201-093000-7a8b0003",
            "db",
            "2026-12-01T09:30:00Z",
            "complete",
        ),
        rec(
            "20261201-100000-9c9d0004",
            "app",
            "2026-12-01T10:00:00Z",
            "complete",
        ),
    ]
}

fn now() -> DateTime<Utc> {
    "2026-12-02T10:00:00Z".parse().unwrap()
}

fn id(name: &str) -> Result<String, NameError> {
    let all = catalog();
    resolve(name, &all, now(), Tz::UTC).map(|b| b.id.clone())
}

#[test]
fn full_ids_prefixes_and_suffixes() {
    assert_eq!(
        id("20261201-090000-3c4d0001").unwrap(),
        "20261201-090000-3c4d0001"
    );
    assert_eq!(id("20261201-0930").unwrap(), "20261201-093000-7a8b0003");
    assert_eq!(id("7840").unwrap(), "20261201-080000-1a2b7840");
    assert_eq!(id("5e6f0002").unwrap(), "20261201-091000-5e6f0002");
    // Too short to be taken as part of an id.
    let Err(NameError::Unknown { why, .. }) = id("784") else {
        panic!()
    };
    assert!(why.contains("at least 4"), "{why}");
}

#[test]
fn latest_and_counting_back_skip_partial_backups() {
    assert_eq!(id("latest").unwrap(), "20261201-100000-9c9d0004");
    assert_eq!(id("app:latest").unwrap(), "20261201-100000-9c9d0004");
    assert_eq!(id("app:-1").unwrap(), "20261201-090000-3c4d0001");
    assert_eq!(id("app:-2").unwrap(), "20261201-080000-1a2b7840");
    assert_eq!(id("db:latest").unwrap(), "20261201-093000-7a8b0003");
    let e = id("app:-3").unwrap_err().to_string();
    assert!(e.contains("3 complete backup(s)"), "{e}");
    let e = id("app:newest").unwrap_err().to_string();
    assert!(e.contains("latest or -N"), "{e}");
}

#[test]
fn a_point_in_time_is_the_newest_complete_backup_started_at_or_before_it() {
    assert_eq!(
        id("app@2026-12-01 09:03").unwrap(),
        "20261201-090000-3c4d0001"
    );
    // The partial one at 09:10 is passed over.
    assert_eq!(
        id("app@2026-12-01 09:59:59").unwrap(),
        "20261201-090000-3c4d0001"
    );
    assert_eq!(
        id("app@2026-12-01T09:00").unwrap(),
        "20261201-090000-3c4d0001"
    );
    assert_eq!(
        id("app@2026-12-01T10:30:00+01:00").unwrap(),
        "20261201-090000-3c4d0001"
    );
    let e = id("app@2026-12-01").unwrap_err().to_string();
    assert!(e.contains("at or before 2026-12-01 00:00:00 UTC"), "{e}");
    assert!(matches!(
        id("app@yesterday-ish"),
        Err(NameError::BadTime { .. })
    ));
    // Times are the host's: 10:03 in Berlin is 09:03 UTC.
    let all = catalog();
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let b = resolve("app@2026-12-01 10:03", &all, now(), berlin).unwrap();
    assert_eq!(b.id, "20261201-090000-3c4d0001");
}

#[test]
fn ambiguity_lists_the_candidates_newest_first() {
    let e = id("20261201-09").unwrap_err();
    let NameError::Ambiguous { candidates, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(candidates.len(), 3);
    assert!(
        candidates[0].starts_with("20261201-093000-7a8b0003  db  full  1d ago"),
        "{candidates:?}"
    );
    assert!(e.to_string().contains("matches 3 backups"), "{e}");
}

#[test]
fn typos_suggest_the_closest_task_or_id() {
    let e = id("ap:latest").unwrap_err().to_string();
    assert!(e.contains("did you mean \"app:latest\""), "{e}");
    let e = id("appp@2026-12-01").unwrap_err().to_string();
    assert!(e.contains("did you mean \"app@2026-12-01\""), "{e}");
    let e = id("20261201-090000-3c4d0009").unwrap_err().to_string();
    assert!(
        e.contains("did you mean \"20261201-090000-3c4d0001\""),
        "{e}"
    );
    let e = id("latst").unwrap_err().to_string();
    assert!(e.contains("no id starts or ends with it"), "{e}");
    let e = resolve("latest", &[], now(), Tz::UTC)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no complete backup"), "{e}");
}

proptest! {
    #[test]
    fn any_name_resolves_or_errs_without_panicking(name in "\\PC{0,40}") {
        let all = catalog();
        let _ = resolve(&name, &all, now(), Tz::UTC);
        let _ = parse_time(&name, Tz::UTC);
    }
}
