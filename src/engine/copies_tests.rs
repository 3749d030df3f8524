//! Unit tests of `copies.rs`: real backups of a real directory to two local
//! repositories, one of them behind a wrapper that makes its disk "fill up"
//! after a number of writes, and restores that fall back to the other copy.

use super::*;
use crate::dest::local::LocalDest;
use crate::dest::{DestError, Destination};
use crate::engine::backup::{self, BackupPlan, Described};
use crate::engine::repo::{self, Claim, ClaimOutcome};
use crate::engine::restore::{self, RestoreReport, RestoreRequest};
use crate::model::{BackupKind, TaskConfig};
use chrono::Utc;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

const ID: &str = "20260101-000000-00000001";

/// The real local store, refusing every put once `puts_left` reaches zero.
struct FillsUp {
    inner: LocalDest,
    puts_left: AtomicUsize,
    /// What it answers to `parallel_writes`.
    parallel: AtomicUsize,
}

impl Destination for FillsUp {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        // Several uploaders may race here: take a put atomically.
        let taken = self
            .puts_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if taken.is_err() {
            return Err(DestError::io(
                self.describe(),
                "write",
                key.into(),
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        self.inner.put(key, data)
    }
    fn parallel_writes(&self) -> usize {
        self.parallel.load(Ordering::SeqCst)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        self.inner.get(key)
    }
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        self.inner.get_range(key, offset, len)
    }
    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        self.inner.size(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), DestError> {
        self.inner.delete(key)
    }
    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        self.inner.delete_prefix(prefix)
    }
}

/// Pseudo-random (incompressible) bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A source tree of about 36 MB, so the backup writes several 16 MiB packs.
fn tree(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    for (i, name) in ["a.bin", "b.bin", "sub/c.bin"].iter().enumerate() {
        std::fs::write(src.join(name), noise(12 << 20, i as u64 + 7)).unwrap();
    }
    std::fs::write(src.join("small.txt"), b"hello\n").unwrap();
    src
}

struct Two {
    repos: Vec<Repository>,
    /// The second repository's store, to arm its failure.
    b: Arc<FillsUp>,
    claim: Claim,
}

/// Repositories `a` (plain local) and `b` (local behind `FillsUp`), both claimed.
fn two(dir: &Path) -> Two {
    let a = Repository::open_or_init("a", Arc::new(LocalDest::new(dir.join("a")))).unwrap();
    let b_store = Arc::new(FillsUp {
        inner: LocalDest::new(dir.join("b")),
        puts_left: AtomicUsize::new(usize::MAX),
        parallel: AtomicUsize::new(1),
    });
    let b = Repository::open_or_init("b", b_store.clone()).unwrap();
    let claim = Claim {
        format: repo::REPO_FORMAT,
        backup: ID.into(),
        task: "t".into(),
        run: 1,
        started: Utc::now(),
    };
    for r in [&a, &b] {
        assert_eq!(r.claim(&claim).unwrap(), ClaimOutcome::Claimed);
    }
    Two {
        repos: vec![a, b],
        b: b_store,
        claim,
    }
}

fn back_up(two: &Two, src: &Path, required: usize) -> Result<BackupDone, EngineError> {
    let plan = BackupPlan {
        backup_id: ID.into(),
        claim: &two.claim,
        task: "t",
        kind: BackupKind::Full,
        parent: None,
        started: two.claim.started,
        repos: &two.repos,
        required,
        chunker: Default::default(),
        compression_level: 3,
        threads: 2,
    };
    let task = TaskConfig::dir_to("t", src.to_path_buf(), "a");
    let source = crate::source::open(&task.source, "strata-test");
    backup::run(&plan, source.as_ref(), &Progress::default(), |stats| {
        Described {
            record: crate::engine::backup::test_record(&plan, stats, "t", &["a", "b"]),
            task: task.clone(),
        }
    })
}

fn restore_from(repos: &[Repository], marker: &CommitMarker, to: &Path) -> RestoreReport {
    let manifest = repos[0]
        .read_manifest(ID, &marker.manifest_hash)
        .or_else(|_| repos[1].read_manifest(ID, &marker.manifest_hash))
        .unwrap();
    let target = crate::engine::target::resolve(to)
        .unwrap()
        .unrestricted()
        .unwrap();
    let req = RestoreRequest {
        manifest: &manifest,
        repos,
        target: &target,
        subpath: None,
        threads: 2,
        restore_owner: false,
    };
    restore::restore(&req, &Progress::default()).unwrap()
}

fn assert_same_tree(src: &Path, to: &Path) {
    for name in ["a.bin", "b.bin", "sub/c.bin", "small.txt"] {
        assert!(
            std::fs::read(src.join(name)).unwrap() == std::fs::read(to.join(name)).unwrap(),
            "{name} differs"
        );
    }
}

#[test]
fn a_destination_failing_mid_run_leaves_the_other_copy_complete() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    // The first pack lands on b, the second finds its disk full.
    two.b.puts_left.store(1, Ordering::SeqCst);
    let done = back_up(&two, &src, 1).unwrap();

    assert!(done.marker.packs.len() >= 2, "{:?}", done.marker.packs);
    assert_eq!(done.copies.len(), 2);
    assert_eq!(
        done.copies[0],
        CopyResult {
            destination: "a".into(),
            error: None
        }
    );
    assert_eq!(done.copies[1].destination, "b");
    let err = done.copies[1].error.as_deref().unwrap();
    assert!(err.contains("write"), "{err}");

    let (a, b) = (&two.repos[0], &two.repos[1]);
    assert!(a.read_commit(ID).unwrap().is_some());
    assert!(b.read_commit(ID).unwrap().is_none(), "no COMMIT on b");
    assert!(
        b.list_backups().unwrap().is_empty(),
        "what the run wrote on b was removed"
    );

    let to = dir.path().join("restored");
    let report = restore_from(&two.repos, &done.marker, &to);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.fallback_count, 0);
    assert_same_tree(&src, &to);
}

#[test]
fn too_few_copies_fail_the_run_and_commit_nothing_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    two.b.puts_left.store(1, Ordering::SeqCst);
    let e = back_up(&two, &src, 2).unwrap_err();
    let EngineError::Copies {
        required,
        total,
        failed,
    } = &e
    else {
        panic!("expected Copies, got {e}");
    };
    assert_eq!((*required, *total), (2, 2));
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "b");
    let msg = e.to_string();
    assert!(
        msg.contains("b: ") && msg.contains("2 are required"),
        "{msg}"
    );
    for r in &two.repos {
        assert!(
            r.read_commit(ID).unwrap().is_none(),
            "COMMIT on {}",
            r.name()
        );
        assert!(
            r.list_backups().unwrap().is_empty(),
            "data left on {}",
            r.name()
        );
    }
}

#[test]
fn a_copy_failing_at_its_commit_marker_is_a_failed_copy() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    two.b.puts_left.store(usize::MAX, Ordering::SeqCst);
    // Count b's puts in a first run, then allow all but its last (the COMMIT).
    let first = back_up(&two, &src, 2).unwrap();
    let puts = first.marker.packs.len() + 1;
    for r in &two.repos {
        r.delete_backup(ID).unwrap();
        assert_eq!(r.claim(&two.claim).unwrap(), ClaimOutcome::Claimed);
    }
    two.b.puts_left.store(puts, Ordering::SeqCst);
    let done = back_up(&two, &src, 1).unwrap();
    assert!(done.copies[0].error.is_none());
    assert!(done.copies[1].error.is_some());
    assert!(two.repos[1].read_commit(ID).unwrap().is_none());
    assert!(two.repos[0].read_commit(ID).unwrap().is_some());
}

#[test]
fn a_restore_whose_first_copy_lost_a_pack_reads_it_from_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    let done = back_up(&two, &src, 2).unwrap();
    assert!(done.copies.iter().all(|c| c.error.is_none()));
    std::fs::remove_file(dir.path().join(format!("a/backups/{ID}/packs/000000.pack"))).unwrap();

    let to = dir.path().join("restored");
    let report = restore_from(&two.repos, &done.marker, &to);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.fallback_count > 0);
    assert_eq!(report.fallbacks.len() as u64, report.fallback_count);
    assert!(
        report.fallbacks[0].contains("read from b"),
        "{:?}",
        report.fallbacks
    );
    assert_same_tree(&src, &to);

    // With the pack gone from both copies, the files in it are errors.
    std::fs::remove_file(dir.path().join(format!("b/backups/{ID}/packs/000000.pack"))).unwrap();
    let again = dir.path().join("again");
    let report = restore_from(&two.repos, &done.marker, &again);
    assert!(!report.errors.is_empty());
    assert!(
        report.errors[0].error.contains("no other copy"),
        "{:?}",
        report.errors
    );
}

#[test]
fn a_destination_written_by_several_uploaders_holds_every_pack_once() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    two.b.parallel.store(4, Ordering::SeqCst);
    let done = back_up(&two, &src, 2).unwrap();
    assert!(
        done.copies.iter().all(|c| c.error.is_none()),
        "{:?}",
        done.copies
    );
    let to = dir.path().join("restored");
    let report = restore_from(&two.repos[1..], &done.marker, &to);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_same_tree(&src, &to);
}

#[test]
fn one_of_several_uploaders_failing_fails_that_copy_only() {
    let dir = tempfile::tempdir().unwrap();
    let src = tree(dir.path());
    let two = two(dir.path());
    two.b.parallel.store(4, Ordering::SeqCst);
    two.b.puts_left.store(1, Ordering::SeqCst);
    let done = back_up(&two, &src, 1).unwrap();
    assert!(done.copies[0].error.is_none());
    assert!(done.copies[1].error.is_some(), "{:?}", done.copies);
    assert!(
        !dir.path()
            .join("b/backups")
            .join(ID)
            .join("COMMIT")
            .exists(),
        "no commit marker where packs are missing"
    );
}
