//! Encrypted repositories through the engine: backup, incremental, restore,
//! verify and sync between copies on local destinations, and what tampering
//! looks like to each of them.

use super::*;
use crate::dest::local::LocalDest;
use crate::engine::backup::{self, BackupPlan, Described};
use crate::engine::crypto::{KdfParams, Passphrase};
use crate::engine::keyring::{self, SlotLabel};
use crate::engine::repo::{self, Claim, CommitMarker};
use crate::engine::restore::{self, RestoreRequest};
use crate::engine::{sync, verify};
use crate::model::{BackupKind, BackupRecord, TaskConfig};
use crate::progress::Progress;
use crate::source::dir::DirSource;
use chrono::Utc;
use std::path::Path;

const MARK: &str = "SECRETMARKER-7f3a";

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.as_bytes().to_vec())
}

fn who() -> SlotLabel<'static> {
    SlotLabel {
        host: "testhost",
        label: "",
    }
}

fn encrypted(dir: &Path, name: &str, share: Option<&Keys>) -> Repository {
    keyring::create(
        name,
        Arc::new(LocalDest::new(dir.join(name))),
        &pass("correct horse"),
        KdfParams::TEST,
        &who(),
        share,
    )
    .unwrap()
}

fn source_tree(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join(format!("dir-{MARK}"))).unwrap();
    std::fs::write(
        src.join(format!("dir-{MARK}/file-{MARK}.txt")),
        MARK.repeat(5000),
    )
    .unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(src.join("big.bin"), big).unwrap();
    src
}

fn claim(id: &str) -> Claim {
    Claim {
        format: repo::REPO_FORMAT,
        backup: id.into(),
        task: "t".into(),
        run: 1,
        started: Utc::now(),
    }
}

fn back_up(
    repos: &[Repository],
    src: &Path,
    id: &str,
    parent: Option<(&BackupRecord, &crate::engine::manifest::Manifest)>,
) -> CommitMarker {
    let c = claim(id);
    for r in repos {
        assert_eq!(r.claim(&c).unwrap(), repo::ClaimOutcome::Claimed);
    }
    let plan = BackupPlan {
        backup_id: id.into(),
        claim: &c,
        task: "t",
        kind: if parent.is_some() {
            BackupKind::Incremental
        } else {
            BackupKind::Full
        },
        parent,
        started: c.started,
        repos,
        required: repos.len(),
        chunker: Default::default(),
        compression_level: 3,
        threads: 2,
    };
    let mut task = TaskConfig::dir_to("t", src.to_path_buf(), "a");
    task.hooks.before = Some(format!("echo hook-{MARK}"));
    let source = DirSource::new(src, &[]);
    backup::run(&plan, &source, &Progress::default(), |stats| Described {
        record: backup::test_record(&plan, stats, "t", &["a"]),
        task,
    })
    .unwrap()
    .marker
}

fn restore_into(repos: &[Repository], m: &crate::engine::manifest::Manifest, to: &Path) {
    let target = crate::engine::target::resolve(to)
        .unwrap()
        .unrestricted()
        .unwrap();
    let req = RestoreRequest {
        manifest: m,
        repos,
        target: &target,
        subpath: None,
        threads: 2,
        restore_owner: false,
    };
    let report = restore::restore(&req, &Progress::default()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Every byte of every file under `dir`.
fn grep_all(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy()
                .as_bytes()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                hits.push(format!("name {}", p.display()));
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(format!("content {}", p.display()));
                }
            }
        }
    }
    hits
}

#[test]
fn backup_incremental_restore_verify_and_sync_on_encrypted_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_tree(dir.path());
    let a = encrypted(dir.path(), "a", None);
    let full = back_up(
        std::slice::from_ref(&a),
        &src,
        "20260101-000000-00000001",
        None,
    );
    assert_eq!(full.format, 2);
    let m1 = a
        .read_manifest(&full.backup.id, &full.manifest_hash)
        .unwrap();
    std::fs::write(src.join("new.txt"), b"new file").unwrap();
    let inc = back_up(
        std::slice::from_ref(&a),
        &src,
        "20260101-000000-00000002",
        Some((&full.backup, &m1)),
    );
    let m2 = a.read_manifest(&inc.backup.id, &inc.manifest_hash).unwrap();
    restore_into(std::slice::from_ref(&a), &m2, &dir.path().join("out"));
    assert_eq!(
        std::fs::read(dir.path().join("out/big.bin")).unwrap(),
        std::fs::read(src.join("big.bin")).unwrap()
    );
    assert_eq!(
        std::fs::read(dir.path().join("out/new.txt")).unwrap(),
        b"new file"
    );
    for rec in [&full.backup, &inc.backup] {
        let r = verify::verify(&a, rec, 100, &Progress::default());
        assert!(r.ok(), "{:?}", r.problems);
        assert!(r.chunks_checked > 0);
    }
    // Nothing readable: names, contents, hook commands.
    assert!(grep_all(&dir.path().join("a"), MARK.as_bytes()).is_empty());
    assert!(grep_all(&dir.path().join("a"), b"hook-").is_empty());
    assert!(grep_all(&dir.path().join("a"), b"big.bin").is_empty());

    // A second repository under the same master key takes synced copies.
    let b = encrypted(dir.path(), "b", a.keys().map(|k| k.as_ref()));
    for rec in [&full.backup, &inc.backup] {
        let mut c = claim(&rec.id);
        c.run = 2;
        sync::copy_backup(&a, &b, &c, &rec.manifest_hash, &Progress::default()).unwrap();
        let r = verify::verify(&b, rec, 100, &Progress::default());
        assert!(r.ok(), "{:?}", r.problems);
    }
    restore_into(std::slice::from_ref(&b), &m2, &dir.path().join("out-b"));
    // Unlocking with the passphrase alone finds the same keys.
    let again = Repository::open("b", Arc::new(LocalDest::new(dir.path().join("b")))).unwrap();
    assert!(again.is_locked());
    assert!(again.read_commit(&full.backup.id).is_err());
    let (again, _) = keyring::unlock(again, &pass("correct horse"), "a test").unwrap();
    assert_eq!(
        again
            .read_commit(&full.backup.id)
            .unwrap()
            .unwrap()
            .backup
            .id,
        full.backup.id
    );
    let wrong = Repository::open("b", Arc::new(LocalDest::new(dir.path().join("b")))).unwrap();
    let e = keyring::unlock(wrong, &pass("nope"), "STRATA_PASSPHRASE").unwrap_err();
    assert!(e.to_string().contains("STRATA_PASSPHRASE"), "{e}");
}

#[test]
fn each_claim_names_the_format_of_the_repository_it_is_written_to() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = encrypted(dir.path(), "e", None);
    let plain =
        Repository::open_or_init("p", Arc::new(LocalDest::new(dir.path().join("p")))).unwrap();
    // One run's claim goes to every destination, plain and encrypted alike.
    let c = claim("20261201-000000-c1a1");
    for r in [&sealed, &plain] {
        assert_eq!(r.claim(&c).unwrap(), repo::ClaimOutcome::Claimed);
    }
    let read = |r: &Repository| r.read_claim(&c.backup).unwrap().unwrap().format;
    assert_eq!(read(&sealed), repo::SEALED_FORMAT);
    assert_eq!(read(&plain), repo::REPO_FORMAT);
}

#[test]
fn mixed_or_foreign_keys_cannot_share_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let a = encrypted(dir.path(), "a", None);
    let b = encrypted(dir.path(), "b", None);
    let plain =
        Repository::open_or_init("p", Arc::new(LocalDest::new(dir.path().join("p")))).unwrap();
    assert!(common_layout(&[a.clone(), b]).is_err());
    assert!(common_layout(&[a.clone(), plain]).is_err());
    let shared = encrypted(dir.path(), "c", a.keys().map(|k| k.as_ref()));
    assert!(common_layout(&[a, shared]).is_ok());
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x10;
    std::fs::write(path, b).unwrap();
}

#[test]
fn tampering_is_detected_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_tree(dir.path());
    let a = encrypted(dir.path(), "a", None);
    let id = "20260101-000000-00000001";
    let m = back_up(std::slice::from_ref(&a), &src, id, None);
    let root = dir.path().join("a/backups").join(id);
    let pack = root.join("packs/000000.pack");
    let good = std::fs::read(&pack).unwrap();

    // A flipped bit inside a frame: verify names the file, restore refuses the chunk.
    flip(&pack, 100);
    let r = verify::verify(&a, &m.backup, 100, &Progress::default());
    assert!(!r.ok());
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("does not authenticate") && p.contains(id)),
        "{:?}",
        r.problems
    );
    std::fs::write(&pack, &good).unwrap();

    // A truncated pack: its size and its last frame.
    std::fs::write(&pack, &good[..good.len() - 10]).unwrap();
    let r = verify::verify(&a, &m.backup, 100, &Progress::default());
    assert!(
        r.problems.iter().any(|p| p.contains("000000.pack")),
        "{:?}",
        r.problems
    );
    std::fs::write(&pack, &good).unwrap();

    // Two frames swapped inside the pack: each is bound to its offset.
    let man = a.read_manifest(id, &m.manifest_hash).unwrap();
    let mut frames: Vec<(u64, u32)> = man
        .chunks
        .iter()
        .map(|c| (c.frame_offset, c.frame_len))
        .collect();
    frames.sort_unstable();
    frames.dedup();
    if frames.len() >= 2 && frames[0].1 == frames[1].1 {
        let (o0, l) = (frames[0].0 as usize, frames[0].1 as usize);
        let o1 = frames[1].0 as usize;
        let mut b = good.clone();
        b[o0..o0 + l].copy_from_slice(&good[o1..o1 + l]);
        b[o1..o1 + l].copy_from_slice(&good[o0..o0 + l]);
        std::fs::write(&pack, b).unwrap();
        let r = verify::verify(&a, &m.backup, 100, &Progress::default());
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("does not authenticate")),
            "{:?}",
            r.problems
        );
        std::fs::write(&pack, &good).unwrap();
    }

    // Manifest and commit marker: damage is named with the backup.
    for name in ["manifest", "COMMIT"] {
        let p = root.join(name);
        let keep = std::fs::read(&p).unwrap();
        flip(&p, 30);
        let r = verify::verify(&a, &m.backup, 0, &Progress::default());
        assert!(
            r.problems
                .iter()
                .any(|x| x.contains(id) && x.contains(name) && x.contains("does not authenticate")),
            "{name}: {:?}",
            r.problems
        );
        std::fs::write(&p, keep).unwrap();
    }

    // Objects of two backups swapped: manifests, and one backup's pack put
    // in the other's place (its frames moved into another pack).
    std::fs::write(src.join("new.txt"), b"new file").unwrap();
    let id2 = "20260101-000000-00000002";
    let m2 = back_up(std::slice::from_ref(&a), &src, id2, Some((&m.backup, &man)));
    let root2 = dir.path().join("a/backups").join(id2);
    let (man1, man2) = (
        std::fs::read(root.join("manifest")).unwrap(),
        std::fs::read(root2.join("manifest")).unwrap(),
    );
    std::fs::write(root.join("manifest"), &man2).unwrap();
    let r = verify::verify(&a, &m.backup, 0, &Progress::default());
    assert!(
        r.problems
            .iter()
            .any(|x| x.contains("manifest") && x.contains("does not authenticate")),
        "{:?}",
        r.problems
    );
    std::fs::write(root.join("manifest"), &man1).unwrap();
    let pack2 = root2.join("packs/000000.pack");
    let good2 = std::fs::read(&pack2).unwrap();
    std::fs::write(&pack2, &good).unwrap();
    let r = verify::verify(&a, &m2.backup, 100, &Progress::default());
    assert!(
        r.problems
            .iter()
            .any(|x| x.contains(id2) && x.contains("000000.pack")),
        "{:?}",
        r.problems
    );
    let mut moved = good2.clone();
    let n = moved.len().min(good.len());
    moved[12..n].copy_from_slice(&good[12..n]);
    std::fs::write(&pack2, &moved).unwrap();
    let r = verify::verify(&a, &m2.backup, 100, &Progress::default());
    assert!(
        r.problems
            .iter()
            .any(|x| x.contains("new.txt") && x.contains("does not authenticate")),
        "{:?}",
        r.problems
    );
    std::fs::write(&pack2, &good2).unwrap();

    // Objects swapped between places fail too: the commit marker where the claim was.
    let keep = std::fs::read(root.join("CLAIM")).unwrap();
    std::fs::copy(root.join("COMMIT"), root.join("CLAIM")).unwrap();
    assert!(
        a.read_claim(id)
            .unwrap_err()
            .to_string()
            .contains("does not authenticate")
    );
    std::fs::write(root.join("CLAIM"), keep).unwrap();
    let r = verify::verify(&a, &m.backup, 100, &Progress::default());
    assert!(r.ok(), "{:?}", r.problems);
}

#[test]
fn key_slots_add_remove_passwd() {
    let dir = tempfile::tempdir().unwrap();
    let a = encrypted(dir.path(), "a", None);
    let first = keyring::slots(&a).unwrap();
    assert_eq!(first.len(), 1);
    let open = |p: &str| {
        let r = Repository::open("a", Arc::new(LocalDest::new(dir.path().join("a")))).unwrap();
        keyring::unlock(r, &pass(p), "test").map(|(_, slot)| slot)
    };
    assert!(
        keyring::remove(&a, &first[0].id).is_err(),
        "the last slot stays"
    );
    let second = keyring::add(&a, &pass("second"), KdfParams::TEST, &who()).unwrap();
    assert!(open("second").is_ok() && open("correct horse").is_ok());
    let third = keyring::passwd(&a, &second.id, &pass("third"), KdfParams::TEST, &who()).unwrap();
    assert!(open("second").is_err());
    assert_eq!(open("third").unwrap(), third.id);
    keyring::remove(&a, &first[0].id).unwrap();
    assert!(open("correct horse").is_err());
    assert_eq!(keyring::slots(&a).unwrap().len(), 1);
    // A damaged slot is named.
    let slot = dir.path().join("a/keys").join(&third.id);
    std::fs::write(&slot, b"{not json").unwrap();
    let e = open("third").unwrap_err().to_string();
    assert!(e.contains(&third.id), "{e}");
}
