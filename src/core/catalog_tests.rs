//! Tests of the parent module (kept apart to keep the module readable).
use super::error::REBUILD;
use super::*;
use crate::model::DestinationKind;
use chrono::Utc;
use serde_json::json;

fn dest(name: &str) -> DestinationConfig {
    let path = PathBuf::from(format!("/srv/{name}"));
    DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Local { path },
        repo_id: Some("r1".into()),
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    }
}

fn task(name: &str) -> TaskConfig {
    serde_json::from_value(
        json!({"name": name, "source": {"kind": "dir", "path": "/home"},
        "destinations": ["nas"], "full": "0 2 * * 0", "created": "2026-11-22T10:00:00Z"}),
    )
    .unwrap()
}

fn backup(id: &str, minute: u32) -> BackupRecord {
    serde_json::from_value(
        json!({"id": id, "task": "docs", "kind": "full", "manual": false,
        "parent": null, "chain": id, "status": "complete",
        "started": format!("2026-11-22T10:{minute:02}:00Z"), "finished": "2026-11-22T11:00:00Z",
        "logical_bytes": 10, "stored_bytes": 5, "file_count": 1, "entry_count": 2,
        "changed_files": 1, "destinations": ["nas"], "manifest_hash": "ab"}),
    )
    .unwrap()
}

fn run(backup_id: &str) -> RunRecord {
    serde_json::from_value(json!({"id": 0, "task": "docs", "requested": "incremental",
        "kind": "full", "backup_id": backup_id, "destinations": ["nas"], "status": "running",
        "started": "2026-11-22T10:00:00Z"}))
    .unwrap()
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.redb");
    (dir, path)
}

/// Writes raw bytes into a table, bypassing the catalog, to fake damage.
fn poke(path: &Path, table: StrTable, key: &str, value: &[u8]) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(table).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

fn names<T>(items: Vec<T>, f: impl Fn(T) -> String) -> Vec<String> {
    items.into_iter().map(f).collect()
}

#[test]
fn every_table_round_trips_across_reopen() {
    let (_dir, path) = temp();
    {
        let c = Catalog::open(&path, "test").unwrap();
        for d in ["usb", "nas"] {
            c.put_destination(&dest(d)).unwrap();
        }
        c.put_task(&task("docs")).unwrap();
        c.put_task(&task("code")).unwrap();
        for (id, minute) in [("b2", 20), ("b1", 10), ("a3", 20)] {
            c.put_backup(&backup(id, minute)).unwrap();
        }
        c.insert_run(run("b1")).unwrap();
    }
    let c = Catalog::open(&path, "test").unwrap();
    assert_eq!(
        names(c.list_destinations().unwrap(), |d| d.name),
        ["nas", "usb"]
    );
    assert_eq!(c.get_destination("usb").unwrap(), Some(dest("usb")));
    assert_eq!(c.get_destination("none").unwrap(), None);
    assert_eq!(names(c.list_tasks().unwrap(), |t| t.name), ["code", "docs"]);
    assert_eq!(c.get_task("docs").unwrap(), Some(task("docs")));
    assert_eq!(
        names(c.list_backups().unwrap(), |b| b.id),
        ["b1", "a3", "b2"]
    );
    assert_eq!(c.get_backup("b1").unwrap(), Some(backup("b1", 10)));
    assert_eq!(c.list_runs().unwrap(), [RunRecord { id: 1, ..run("b1") }]);

    assert!(c.remove_destination("usb").unwrap() && !c.remove_destination("usb").unwrap());
    assert!(c.remove_task("code").unwrap() && !c.remove_task("code").unwrap());
    c.remove_backups(&["b1".into(), "b2".into(), "missing".into()])
        .unwrap();
    assert_eq!(names(c.list_backups().unwrap(), |b| b.id), ["a3"]);
    assert_eq!(names(c.list_destinations().unwrap(), |d| d.name), ["nas"]);
    assert_eq!(names(c.list_tasks().unwrap(), |t| t.name), ["docs"]);
}

#[test]
fn run_ids_start_at_one_and_increase() {
    let (_dir, path) = temp();
    let c = Catalog::open(&path, "test").unwrap();
    let ids: Vec<u64> = (0..3).map(|_| c.insert_run(run("x")).unwrap().id).collect();
    assert_eq!(ids, [1, 2, 3]);
    let second = RunRecord {
        status: RunStatus::Failed,
        ..c.list_runs().unwrap().remove(1)
    };
    c.update_run(&second).unwrap();
    assert_eq!(
        names(c.running_runs().unwrap(), |r| r.id.to_string()),
        ["1", "3"]
    );
    assert_eq!(c.list_runs().unwrap()[1], second);
}

#[test]
fn committed_backup_and_run_survive_reopen() {
    let (_dir, path) = temp();
    {
        let c = Catalog::open(&path, "test").unwrap();
        let r = c.insert_run(run("b1")).unwrap();
        c.commit_backup(
            &backup("b1", 0),
            &RunRecord {
                status: RunStatus::Complete,
                ..r
            },
            &[],
        )
        .unwrap();
    }
    let c = Catalog::open(&path, "test").unwrap();
    assert_eq!(c.get_backup("b1").unwrap(), Some(backup("b1", 0)));
    assert!(c.running_runs().unwrap().is_empty());
    assert_eq!(c.list_runs().unwrap()[0].status, RunStatus::Complete);
}

/// Issue 9: a second backup with an id already recorded must not replace the
/// first one's record, whichever way it arrives.
#[test]
fn a_backup_record_is_never_overwritten() {
    let (_dir, path) = temp();
    let c = Catalog::open(&path, "test").unwrap();
    let first = backup("b1", 1);
    c.put_backup(&first).unwrap();
    let other = BackupRecord {
        task: "other".into(),
        ..backup("b1", 2)
    };
    assert!(matches!(
        c.put_backup(&other),
        Err(CatalogError::BackupExists { ref id, .. }) if id == "b1"
    ));
    let r = c.insert_run(run("b1")).unwrap();
    let done = RunRecord {
        status: RunStatus::Complete,
        ..r.clone()
    };
    let e = c.commit_backup(&other, &done, &[]).unwrap_err();
    assert!(matches!(e, CatalogError::BackupExists { .. }), "{e}");
    assert!(e.to_string().contains("never replaced"), "{e}");
    assert_eq!(c.get_backup("b1").unwrap(), Some(first.clone()));
    assert_eq!(
        c.list_runs().unwrap()[0].status,
        RunStatus::Running,
        "the run is not half-committed"
    );
    // Updating an existing record is fine; updating a deleted one writes nothing.
    let pinned = BackupRecord {
        pinned: true,
        ..first.clone()
    };
    assert!(c.update_backup(&pinned).unwrap());
    assert_eq!(c.get_backup("b1").unwrap(), Some(pinned));
    c.remove_backups(&["b1".into()]).unwrap();
    assert!(!c.update_backup(&first).unwrap());
    assert_eq!(c.get_backup("b1").unwrap(), None, "not brought back");
}

/// Issue 9: the commit re-checks, in its own transaction, every backup whose
/// data the new one references.
#[test]
fn a_commit_whose_dependency_is_gone_writes_nothing() {
    let (_dir, path) = temp();
    let c = Catalog::open(&path, "test").unwrap();
    c.put_backup(&backup("full", 1)).unwrap();
    let r = c.insert_run(run("inc")).unwrap();
    let done = RunRecord {
        status: RunStatus::Complete,
        ..r
    };
    c.remove_backups(&["full".into()]).unwrap();
    let e = c
        .commit_backup(&backup("inc", 2), &done, &["full".into()])
        .unwrap_err();
    match &e {
        CatalogError::DependencyGone {
            backup, missing, ..
        } => assert_eq!((backup.as_str(), missing.as_str()), ("inc", "full")),
        other => panic!("{other}"),
    }
    assert_eq!(c.get_backup("inc").unwrap(), None);
    assert_eq!(c.running_runs().unwrap().len(), 1);
}

#[test]
fn garbage_file_is_corrupt_and_left_alone() {
    let (_dir, path) = temp();
    for len in [10usize, 5000, 70_000] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let err = Catalog::open(&path, "test").err().unwrap();
        assert!(
            matches!(err, CatalogError::Corrupt { .. }),
            "{len}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains(REBUILD),
            "{text}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}

#[test]
fn foreign_database_and_undecodable_record_are_corrupt() {
    let (_dir, path) = temp();
    poke(&path, TASKS, "x", b"{}");
    let err = Catalog::open(&path, "test").err().unwrap();
    assert!(matches!(err, CatalogError::Corrupt { .. }), "{err:?}");

    std::fs::remove_file(&path).unwrap();
    drop(Catalog::open(&path, "test").unwrap());
    poke(&path, TASKS, "bad", b"{");
    let err = Catalog::open(&path, "test")
        .unwrap()
        .list_tasks()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CatalogError::Corrupt { .. }), "{err:?}");
    assert!(
        text.contains("table tasks") && text.contains("\"bad\""),
        "{text}"
    );
}

#[test]
fn newer_schema_is_refused() {
    let (_dir, path) = temp();
    drop(Catalog::open(&path, "test").unwrap());
    poke(&path, META, SCHEMA_KEY, b"99");
    match Catalog::open(&path, "test") {
        Err(
            e @ CatalogError::NewerSchema {
                found: 99,
                supported: SCHEMA_VERSION,
                ..
            },
        ) => {
            assert!(
                e.to_string().ends_with(&format!(
                    "this build reads {SCHEMA_VERSION}); upgrade strata"
                )),
                "{e}"
            );
        }
        other => panic!("expected NewerSchema, got {:?}", other.err()),
    }
}

#[test]
fn second_open_is_locked_and_names_the_holder() {
    let (_dir, path) = temp();
    let first = Catalog::open(&path, "strata backup run docs").unwrap();
    let owner = read_owner(&path).unwrap();
    assert_eq!(owner.pid, std::process::id());
    let expected = format!(
        "pid {} (strata backup run docs) since {}",
        owner.pid, owner.since
    );
    match Catalog::open(&path, "strata status") {
        Err(e @ CatalogError::Locked { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&expected) && text.contains(&path.display().to_string()),
                "{text}"
            );
        }
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    std::fs::remove_file(owner_path(&path)).unwrap();
    match Catalog::open(&path, "strata status") {
        Err(CatalogError::Locked { holder, .. }) => assert_eq!(holder, "another process"),
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    drop(first);
    let second = Catalog::open(&path, "strata status").unwrap();
    assert_eq!(read_owner(&path).unwrap().command, "strata status");
    drop(second);
    assert!(!owner_path(&path).exists());
}

#[test]
fn schema_1_catalog_is_migrated_with_its_records() {
    let (_dir, path) = temp();
    {
        let c = Catalog::open(&path, "test").unwrap();
        c.put_task(&task("kept")).unwrap();
    }
    // Turn it back into a schema-1 catalog: no audit table, version 1.
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(AUDIT).unwrap());
        txn.commit().unwrap();
    }
    poke(&path, META, SCHEMA_KEY, b"1");
    let c = Catalog::open(&path, "test").unwrap();
    assert_eq!(names(c.list_tasks().unwrap(), |t| t.name), ["kept"]);
    let e = c
        .append_audit(AuditEntry {
            id: 0,
            at: Utc::now(),
            who: "ops".into(),
            role: "admin".into(),
            origin: "local".into(),
            action: "backup delete".into(),
            target: "x".into(),
            outcome: "ok".into(),
        })
        .unwrap();
    assert_eq!(e.id, 1);
    assert_eq!(c.list_audit().unwrap(), vec![e]);
}

#[test]
fn audit_tail_returns_the_newest_entries_oldest_first() {
    let (_dir, path) = temp();
    let c = Catalog::open(&path, "test").unwrap();
    for i in 0..5 {
        c.append_audit(AuditEntry {
            id: 0,
            at: Utc::now(),
            who: format!("u{i}"),
            role: "admin".into(),
            origin: "local".into(),
            action: "task add".into(),
            target: "t".into(),
            outcome: "ok".into(),
        })
        .unwrap();
    }
    let ids: Vec<u64> = c.audit_tail(2).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(ids, [4, 5]);
    assert_eq!(c.audit_tail(99).unwrap().len(), 5);
    assert_eq!(c.audit_tail(99).unwrap(), c.list_audit().unwrap());
}
