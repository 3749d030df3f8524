//! Unit tests of `recovery.rs` (a `#[cfg(test)]` module of it, kept in its own file).

use super::*;
use crate::core::home::Home;
use crate::model::{BackupKind, DestinationKind, TaskConfig};
use std::path::Path;

fn open(dir: &Path) -> Core {
    Core::open(Home::at(dir.join("home")), "test").unwrap()
}

/// A core with destination `d` at `dir/repo`, and a run of task `t` a crash
/// left running, which claimed its id and wrote a pack there.
fn crashed_run(dir: &Path) -> RunRecord {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let core = open(dir);
    crate::core::test_support::local_dest(&core, "d", dir.join("repo"));
    core.add_task(TaskConfig::dir_to("t", dir.join("src"), "d"))
        .unwrap();
    let run = running(&core, "d");
    let repo = core.open_repo(&core.destination("d").unwrap()).unwrap();
    let claim = claim_of(&run);
    assert_eq!(
        repo.claim(&claim).unwrap(),
        repo::ClaimOutcome::Claimed,
        "fresh id"
    );
    std::fs::create_dir_all(dir.join("repo/backups").join(&run.backup_id).join("packs")).unwrap();
    std::fs::write(
        dir.join("repo/backups")
            .join(&run.backup_id)
            .join("packs/000000.pack"),
        b"partial",
    )
    .unwrap();
    run
}

fn running(core: &Core, dest: &str) -> RunRecord {
    core.catalog
        .insert_run(RunRecord {
            id: 0,
            task: "t".into(),
            purpose: crate::model::RunPurpose::Backup,
            requested: BackupKind::Full,
            kind: BackupKind::Full,
            backup_id: "20260101-000000-0123abcd".into(),
            destinations: vec![dest.into()],
            status: RunStatus::Running,
            started: Utc::now(),
            finished: None,
            message: None,
        })
        .unwrap()
}

#[test]
fn a_run_on_an_unreadable_destination_is_deferred_then_settled_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = crashed_run(dir.path());
    // A file where the repository's directory was: every read fails with
    // ENOTDIR, which is neither "missing" nor anything a retry would cure.
    let (repo, away) = (dir.path().join("repo"), dir.path().join("repo.away"));
    std::fs::rename(&repo, &away).unwrap();
    std::fs::write(&repo, b"not a directory").unwrap();

    let core = open(dir.path());
    let deferred = &core.recovered.deferred;
    assert_eq!(deferred.len(), 1, "{:?}", core.recovered);
    assert_eq!(deferred[0].run, run.id);
    assert_eq!(deferred[0].backup, run.backup_id);
    assert_eq!(deferred[0].destination, "d");
    assert!(
        deferred[0].error.contains("failed"),
        "{}",
        deferred[0].error
    );
    assert!(core.recovered.interrupted.is_empty());
    let still = core.catalog.get_run(run.id).unwrap().unwrap();
    assert_eq!(still.status, RunStatus::Running, "left for the next start");
    drop(core);

    std::fs::remove_file(&repo).unwrap();
    std::fs::rename(&away, &repo).unwrap();
    let core = open(dir.path());
    assert!(core.recovered.deferred.is_empty());
    assert_eq!(core.recovered.interrupted, vec![run.backup_id.clone()]);
    let done = core.catalog.get_run(run.id).unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Interrupted);
    assert!(!repo.join("backups").join(&run.backup_id).exists());
}

#[test]
fn a_destination_that_cannot_be_opened_defers_its_run_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let ok = crashed_run(dir.path());
    let core = open(dir.path());
    assert_eq!(core.recovered.interrupted, vec![ok.backup_id.clone()]);
    core.catalog
        .put_destination(&DestinationConfig {
            name: "rel".into(),
            kind: DestinationKind::Local {
                path: "relative/repo".into(),
            },
            repo_id: None,
            rate_limit: None,
            encryption: None,
            parallel_uploads: None,
        })
        .unwrap();
    let stuck = running(&core, "rel");
    drop(core);

    let core = open(dir.path());
    let deferred = &core.recovered.deferred;
    assert_eq!(deferred.len(), 1, "{:?}", core.recovered);
    assert_eq!(
        (deferred[0].run, deferred[0].destination.as_str()),
        (stuck.id, "rel")
    );
    assert!(
        deferred[0].error.contains("not absolute"),
        "{}",
        deferred[0].error
    );
    // Every other command still works.
    assert_eq!(core.tasks().unwrap().len(), 1);
}

#[test]
fn a_verify_run_left_running_is_closed_and_touches_no_repository() {
    let dir = tempfile::tempdir().unwrap();
    let run = crashed_run(dir.path());
    let core = open(dir.path());
    drop(core);
    // The backup run is settled; now a verification a crash left running,
    // naming the same id as the backup it checked.
    let core = open(dir.path());
    let verify = core
        .catalog
        .insert_run(RunRecord {
            purpose: crate::model::RunPurpose::Verify,
            status: RunStatus::Running,
            finished: None,
            destinations: vec!["d".into()],
            ..run.clone()
        })
        .unwrap();
    let before = std::fs::read_dir(dir.path().join("repo/backups"))
        .unwrap()
        .count();
    drop(core);
    let core = open(dir.path());
    let after = core.catalog.get_run(verify.id).unwrap().unwrap();
    assert_eq!(after.status, RunStatus::Interrupted);
    assert!(
        after
            .message
            .as_deref()
            .unwrap()
            .contains("strata verify --task t"),
        "{after:?}"
    );
    let now = std::fs::read_dir(dir.path().join("repo/backups"))
        .unwrap()
        .count();
    assert_eq!(before, now, "nothing in the repository was touched");
}
