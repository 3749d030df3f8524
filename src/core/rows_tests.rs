//! Unit tests of `rows.rs`: the task status an operator reads first.

use super::*;
use crate::core::home::Home;
use crate::core::retention::tests::{at, record};
use crate::model::{BackupCopy, CopyState, DestinationConfig, DestinationKind};

fn core_with(dir: &std::path::Path, task: TaskConfig) -> Core {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/f"), "x").unwrap();
    let core = Core::open(Home::at(dir.join("home")), "test").unwrap();
    crate::core::test_support::local_dest(&core, "d", dir.join("repo"));
    core.add_task(task).unwrap();
    core
}

fn status(core: &Core) -> (TaskStatus, Option<i64>) {
    let r = &core.task_rows().unwrap()[0];
    (r.status, r.alert_after_secs)
}

#[test]
fn a_task_without_a_recent_complete_backup_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TaskConfig::dir_to("t", dir.path().join("src"), "d");
    t.alert_after = Some("1d".into());
    t.created = Utc::now() - chrono::Duration::days(3);
    let core = core_with(dir.path(), t);
    assert_eq!(status(&core), (TaskStatus::Stale, Some(86_400)));
    // A backup now answers "when did this last succeed?".
    core.run_backup("t", BackupKind::Full, true, &Default::default())
        .unwrap();
    assert_eq!(status(&core).0, TaskStatus::Active);
    assert!(core.task_rows().unwrap()[0].last_success.is_some());
}

#[test]
fn the_default_alert_is_twice_the_shortest_schedule_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = TaskConfig::dir_to("t", dir.path().join("src"), "d");
    t.full = Some("0 3 * * 0".into());
    t.incremental = Some("0 3 * * *".into());
    t.timezone = Some("UTC".into());
    let core = core_with(dir.path(), t);
    // Daily incrementals: stale after two days; a new task is not stale yet.
    assert_eq!(status(&core), (TaskStatus::Active, Some(2 * 86_400)));
    let dir = tempfile::tempdir().unwrap();
    let manual = core_with(
        dir.path(),
        TaskConfig::dir_to("m", dir.path().join("src"), "d"),
    );
    assert_eq!(
        status(&manual),
        (TaskStatus::Active, None),
        "manual-only: no alert"
    );
}

#[test]
fn catalog_figures_count_complete_copies_and_pending_ones() {
    let mut a = record(
        "a",
        BackupKind::Full,
        None,
        "a".into(),
        at("2026-01-01T00:00:00Z"),
    );
    a.destinations = vec!["d".into(), "e".into()];
    let mut b = record(
        "b",
        BackupKind::Full,
        None,
        "b".into(),
        at("2026-01-02T00:00:00Z"),
    );
    b.destinations = a.destinations.clone();
    b.copies = vec![
        BackupCopy::complete("d"),
        BackupCopy::lacking("e", CopyState::Missing, "gone".into()),
    ];
    let cfg = |name: &str| DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Local { path: "/x".into() },
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    };
    let d = DestinationRow::unchecked(cfg("d"), &[a.clone(), b.clone()]);
    assert_eq!((d.backups, d.stored_bytes, d.pending), (2, 20, 0));
    assert_eq!(d.last_write, Some(b.finished));
    // Older records without copies count as complete everywhere.
    let e = DestinationRow::unchecked(cfg("e"), &[a.clone(), b]);
    assert_eq!((e.backups, e.stored_bytes, e.pending), (1, 10, 1));
    assert_eq!(e.last_write, Some(a.finished));
    assert_eq!(e.state, HealthState::Unchecked);
    // Rows from an older daemon (no new fields) still parse.
    let old = r#"{"name":"d","kind":"local","path":"/x","checked":true,"problem":null}"#;
    let row: DestinationRow = serde_json::from_str(old).unwrap();
    assert_eq!(
        (row.state, row.backups, row.pending),
        (HealthState::Unchecked, 0, 0)
    );
}
