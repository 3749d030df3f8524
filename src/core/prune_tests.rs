//! Unit tests of `prune.rs` (a `#[cfg(test)]` module of it, kept in its own file).

use super::*;
use crate::core::backups::VerifySelection;
use crate::core::home::Home;
use crate::model::{BackupKind, DestinationConfig, DestinationKind};
use crate::progress::Progress;
use std::fs;
use std::path::{Path, PathBuf};

struct Fixture {
    _dir: tempfile::TempDir,
    core: Core,
    src: PathBuf,
    repo: PathBuf,
    root: PathBuf,
}

/// A core in a temporary home, destination `d` and task `t` with `retention` (JSON).
fn fixture(retention: serde_json::Value) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let src = root.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), "first version\n").unwrap();
    fs::write(src.join("sub/b.bin"), vec![7u8; 100_000]).unwrap();
    let repo = root.join("repo");
    let core = Core::open(Home::at(root.join("home")), "test").unwrap();
    core.add_destination(DestinationConfig {
        name: "d".into(),
        kind: DestinationKind::Local { path: repo.clone() },
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    })
    .unwrap();
    let task = serde_json::from_value(serde_json::json!({
        "name": "t",
        "source": {"kind": "dir", "path": src},
        "destinations": ["d"],
        "retention": retention,
        "created": "2026-01-01T00:00:00Z",
    }))
    .unwrap();
    core.add_task(task).unwrap();
    Fixture {
        _dir: dir,
        core,
        src,
        repo,
        root,
    }
}

impl Fixture {
    /// A scheduled (not manual) backup after changing `a.txt` to `text`.
    fn backup(&self, kind: BackupKind, text: &str) -> BackupRecord {
        fs::write(self.src.join("a.txt"), text).unwrap();
        self.core
            .run_backup("t", kind, false, &Progress::default())
            .unwrap()
            .backup
    }

    fn dir_of(&self, id: &str) -> PathBuf {
        self.repo.join("backups").join(id)
    }

    fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .core
            .backups(None)
            .unwrap()
            .into_iter()
            .map(|r| r.record.id)
            .collect();
        v.sort();
        v
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

#[test]
fn keep_last_full_expires_the_older_chain_dry_run_first() {
    let f = fixture(serde_json::json!({"keep_last_full": 1}));
    let f1 = f.backup(BackupKind::Full, "one\n");
    let i1 = f.backup(BackupKind::Incremental, "one plus\n");
    let i2 = f.backup(BackupKind::Incremental, "one plus plus\n");
    let f2 = f.backup(BackupKind::Full, "two\n");
    let i3 = f.backup(BackupKind::Incremental, "two and a bit more\n");
    let d1 = f.backup(BackupKind::Differential, "two, differently\n");
    assert_eq!(i2.parent.as_deref(), Some(i1.id.as_str()));
    assert_eq!(i3.chain, f2.id);
    let before = f.ids();
    let old = [&f1, &i1, &i2];
    let old_bytes: u64 = old.iter().map(|b| b.stored_bytes).sum();

    let dry = f.core.prune(Some("t"), true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.expired, 3);
    assert_eq!(dry.freed_bytes, old_bytes);
    let order: Vec<&str> = dry.decisions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        order,
        [&f1.id, &i1.id, &i2.id, &f2.id, &i3.id, &d1.id].map(|s| s.as_str())
    );
    for d in &dry.decisions {
        let expired = old.iter().any(|b| b.id == d.id);
        assert_eq!(d.keep, !expired, "{d:?}");
        if expired {
            assert!(d.reasons.is_empty());
        }
    }
    let newest = dry.decisions.iter().find(|d| d.id == f2.id).unwrap();
    assert_eq!(newest.reasons[..2], ["newest full", "keep_last_full 1"]);
    assert_eq!(f.ids(), before, "a dry run deletes nothing");
    for b in old {
        assert!(f.dir_of(&b.id).join("COMMIT").is_file());
    }

    let real = f.core.prune(None, false).unwrap();
    assert!(!real.dry_run);
    assert_eq!(real.expired, 3);
    assert_eq!(real.freed_bytes, old_bytes);
    assert_eq!(
        f.ids(),
        sorted(vec![f2.id.clone(), i3.id.clone(), d1.id.clone()])
    );
    for b in old {
        assert!(
            !f.dir_of(&b.id).exists(),
            "{} still in the repository",
            b.id
        );
    }
    for b in [&f2, &i3, &d1] {
        assert!(f.dir_of(&b.id).join("COMMIT").is_file());
    }

    // The newer chain still restores and verifies.
    let to = f.root.join("restored");
    f.core
        .restore(&d1.id, &to, None, &Progress::default())
        .unwrap();
    assert_eq!(read(&to.join("a.txt")), "two, differently\n");
    assert_eq!(fs::read(to.join("sub/b.bin")).unwrap(), vec![7u8; 100_000]);
    let to = f.root.join("restored-i3");
    f.core
        .restore(&i3.id, &to, None, &Progress::default())
        .unwrap();
    assert_eq!(read(&to.join("a.txt")), "two and a bit more\n");
    let reports = f
        .core
        .verify(&VerifySelection::All, 100, &Progress::default())
        .unwrap();
    assert_eq!(reports.len(), 3);
    assert!(reports.iter().all(|r| r.ok()), "{reports:?}");

    // Idempotent: a second prune finds nothing more.
    let again = f.core.prune(None, false).unwrap();
    assert_eq!((again.expired, again.freed_bytes), (0, 0));
}

#[test]
fn pinned_and_manual_backups_survive_with_their_ancestors() {
    let f = fixture(serde_json::json!({"keep_last_full": 1}));
    let f1 = f.backup(BackupKind::Full, "one\n");
    let i1 = f.backup(BackupKind::Incremental, "one plus\n");
    let i2 = f.backup(BackupKind::Incremental, "one plus plus\n");
    let g1 = f.backup(BackupKind::Full, "g\n");
    let g2 = f.backup(BackupKind::Incremental, "g plus\n");
    let m = f
        .core
        .run_backup("t", BackupKind::Full, true, &Progress::default())
        .unwrap()
        .backup;
    let h1 = f.backup(BackupKind::Full, "h\n");
    f.core.set_pinned(&i1.id, true).unwrap();

    let r = f.core.prune(Some("t"), false).unwrap();
    // i2 depends on the pinned i1 but nothing keeps it; the g chain has no keeper.
    let gone = sorted(vec![i2.id.clone(), g1.id.clone(), g2.id.clone()]);
    assert_eq!(r.expired, 3);
    let why = |id: &str| {
        r.decisions
            .iter()
            .find(|d| d.id == id)
            .unwrap()
            .reasons
            .clone()
    };
    assert_eq!(why(&i1.id), ["pinned"]);
    assert_eq!(why(&f1.id), [format!("needed by {}", i1.id)]);
    assert_eq!(why(&m.id), ["manual"]);
    assert_eq!(why(&h1.id), ["newest full", "keep_last_full 1"]);
    let left = f.ids();
    assert_eq!(
        left,
        sorted(vec![
            f1.id.clone(),
            i1.id.clone(),
            m.id.clone(),
            h1.id.clone()
        ])
    );
    for id in gone {
        assert!(!f.dir_of(&id).exists());
    }
}

#[test]
fn no_policy_keeps_everything_and_unknown_tasks_are_not_found() {
    let f = fixture(serde_json::json!({}));
    f.backup(BackupKind::Full, "one\n");
    f.backup(BackupKind::Full, "two\n");
    let r = f.core.prune(None, false).unwrap();
    assert_eq!(r.expired, 0);
    assert!(
        r.decisions
            .iter()
            .all(|d| d.keep && d.reasons == ["no retention policy"])
    );
    assert_eq!(f.ids().len(), 2);
    match f.core.prune(Some("nope"), true) {
        Err(CoreError::NotFound { what: "task", .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn backups_of_a_removed_task_are_left_alone() {
    let f = fixture(serde_json::json!({"keep_last_full": 1}));
    f.backup(BackupKind::Full, "one\n");
    f.backup(BackupKind::Full, "two\n");
    f.core.remove_task("t", true).unwrap();
    let r = f.core.prune(None, false).unwrap();
    assert!(r.decisions.is_empty());
    assert_eq!(r.expired, 0);
    assert_eq!(f.ids().len(), 2);
}

/// Issue 9: a backup a running job reads from is kept by prune (dry run and
/// real), with the job named, and expires once the hold is gone.
#[test]
fn a_held_backup_is_skipped_and_named() {
    let f = fixture(serde_json::json!({"keep_last_full": 1}));
    let f1 = f.backup(BackupKind::Full, "one\n");
    let i1 = f.backup(BackupKind::Incremental, "one plus\n");
    let _f2 = f.backup(BackupKind::Full, "two\n");
    let holder = crate::core::holds::Holder {
        job: Some(7),
        task: "t".into(),
        kind: BackupKind::Incremental,
    };
    let hold = f
        .core
        .jobs
        .holds
        .hold(holder, [i1.id.clone()], |_| Ok(()))
        .unwrap();
    let dry = f.core.prune(Some("t"), true).unwrap();
    assert_eq!((dry.expired, dry.in_use.clone()), (0, vec![i1.id.clone()]));
    let why = |r: &PruneReport, id: &str| {
        r.decisions
            .iter()
            .find(|d| d.id == id)
            .unwrap()
            .reasons
            .clone()
    };
    assert!(why(&dry, &i1.id)[0].contains("in use by job 7"), "{dry:?}");
    assert_eq!(why(&dry, &f1.id), [format!("needed by {}", i1.id)]);
    match f.core.delete_backup(&f1.id, true) {
        Err(e @ CoreError::Busy(_)) => {
            assert_eq!(e.exit_code(), 5);
            assert!(e.to_string().contains("job 7"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let real = f.core.prune(Some("t"), false).unwrap();
    assert_eq!(real.expired, 0);
    assert!(f.dir_of(&f1.id).join("COMMIT").is_file());
    assert!(f.dir_of(&i1.id).join("COMMIT").is_file());
    drop(hold);
    let later = f.core.prune(Some("t"), false).unwrap();
    assert_eq!(later.expired, 2);
    assert!(!f.dir_of(&f1.id).exists());
}

/// Issue 9: an incremental whose parent vanished from the catalog while it
/// ran (here removed behind the holds' back) is not recorded, removes its
/// own data and only that, and says why.
#[test]
fn a_vanished_parent_fails_the_commit_cleanly() {
    let f = fixture(serde_json::json!({}));
    let full = f.backup(BackupKind::Full, "one\n");
    let go = f.root.join("go");
    let mut task = f.core.task("t").unwrap();
    task.hooks.before = Some(format!(
        "while [ ! -e '{}' ]; do sleep 0.02; done",
        go.display()
    ));
    f.core.catalog.put_task(&task).unwrap();
    fs::write(f.src.join("a.txt"), "changed\n").unwrap();
    let result = std::thread::scope(|s| {
        let run = s.spawn(|| {
            f.core
                .run_backup("t", BackupKind::Incremental, false, &Progress::default())
        });
        while f.core.jobs.holds.holder_of(&full.id).is_none() {
            std::thread::yield_now();
        }
        f.core
            .catalog
            .remove_backups(std::slice::from_ref(&full.id))
            .unwrap();
        fs::write(&go, "").unwrap();
        run.join().unwrap()
    });
    let e = result.unwrap_err();
    assert!(
        matches!(
            &e,
            CoreError::Catalog(crate::core::catalog::CatalogError::DependencyGone { missing, .. })
                if *missing == full.id
        ),
        "{e}"
    );
    assert_eq!(e.exit_code(), 1);
    let dirs: Vec<String> = fs::read_dir(f.repo.join("backups"))
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        dirs,
        vec![full.id.clone()],
        "only the full's directory is left"
    );
    assert!(f.dir_of(&full.id).join("COMMIT").is_file());
    let runs = f.core.catalog.list_runs().unwrap();
    let last = runs.last().unwrap();
    assert_eq!(last.status, crate::model::RunStatus::Failed);
    assert!(
        last.message.as_deref().unwrap_or("").contains(&full.id),
        "{last:?}"
    );
    assert!(f.core.backups(None).unwrap().is_empty());
}

#[test]
fn a_prune_that_deletes_is_a_retention_run_and_one_that_does_not_is_not() {
    let f = fixture(serde_json::json!({"keep_last_full": 1}));
    let old = f.backup(BackupKind::Full, "one\n");
    f.core.prune(Some("t"), false).unwrap();
    let retention = |f: &Fixture| -> Vec<RunRecord> {
        let mut runs = f.core.catalog.list_runs().unwrap();
        runs.retain(|r| r.purpose == RunPurpose::Retention);
        runs
    };
    assert!(retention(&f).is_empty(), "nothing expired");
    f.backup(BackupKind::Full, "two\n");
    f.core.prune(None, true).unwrap();
    assert!(retention(&f).is_empty(), "a dry run deletes nothing");
    let r = f.core.prune(None, false).unwrap();
    assert_eq!(r.expired, 1);
    let runs = retention(&f);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Complete);
    assert_eq!(runs[0].task, "t");
    let msg = runs[0].message.as_deref().unwrap();
    assert!(
        msg.starts_with("deleted 1 expired backup(s),") && msg.contains(&old.id),
        "{msg}"
    );
    assert_eq!(runs[0].kind_label(), "retention");
}
