//! Unit tests of `jobs.rs` (a `#[cfg(test)]` module of it, kept in its own file).

use super::*;
use crate::core::home::Home;
use crate::model::TaskConfig;

fn core_with_task(dir: &std::path::Path) -> Core {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/f"), "x").unwrap();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::write(dir.join("home/strata.toml"), "max_parallel_jobs = 1\n").unwrap();
    let core = Core::open(Home::at(dir.join("home")), "test").unwrap();
    if core.tasks().unwrap().is_empty() {
        crate::core::test_support::local_dest(&core, "d", dir.join("repo"));
        core.add_task(TaskConfig::dir_to("t", dir.join("src"), "d"))
            .unwrap();
    }
    core
}

#[test]
fn a_queued_run_is_recorded_and_a_cancelled_one_becomes_interrupted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let core = std::sync::Arc::new(core_with_task(dir.path()));
    // Another job holds the only slot, so the backup of t queues.
    let slot = core
        .jobs
        .start("other", BackupKind::Full, true, Default::default())
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let c = core.clone();
    let waiter = std::thread::spawn(move || {
        c.run_backup_job_then(
            "t",
            BackupKind::Full,
            true,
            Default::default(),
            |job, run| {
                tx.send((job, run.clone())).unwrap();
            },
        )
        .map(|_| ())
    });
    let (job, run) = rx.recv().unwrap();
    let stored = core.catalog.get_run(run.id).unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Queued);
    core.jobs.cancel(job).unwrap();
    assert!(waiter.join().unwrap().is_err());
    let done = core.catalog.get_run(run.id).unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Interrupted, "{done:?}");
    assert_eq!(
        core.catalog.list_runs().unwrap().len(),
        1,
        "updated in place"
    );
    drop(slot);
}

#[test]
fn recovery_marks_a_queued_run_interrupted_and_audits_it() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_with_task(dir.path());
    // What a process killed while its job waited leaves behind.
    let run = core
        .catalog
        .insert_run(RunRecord {
            id: 0,
            task: "t".into(),
            purpose: crate::model::RunPurpose::Backup,
            requested: BackupKind::Full,
            kind: BackupKind::Full,
            backup_id: String::new(),
            destinations: vec!["d".into()],
            status: RunStatus::Queued,
            started: Utc::now(),
            finished: None,
            message: None,
        })
        .unwrap();
    drop(core);
    let core = core_with_task(dir.path());
    assert_eq!(
        core.recovered.never_started,
        vec![(run.id, "t".to_string())]
    );
    let after = core.catalog.get_run(run.id).unwrap().unwrap();
    assert_eq!(after.status, RunStatus::Interrupted);
    assert!(after.finished.is_some());
    let audit = core.audit_log(None).unwrap();
    assert!(
        audit.iter().any(|a| a.origin == "recovery"
            && a.target == "t"
            && a.outcome.starts_with("interrupted")),
        "{audit:?}"
    );
    // The task still runs normally afterwards, with a new run.
    let o = core
        .run_backup_job("t", BackupKind::Full, true, Default::default())
        .unwrap();
    assert_eq!(o.run.status, RunStatus::Complete);
    assert_ne!(o.run.id, run.id);
}
