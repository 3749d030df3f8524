//! Unit tests of `backup.rs`: the source seam, with a source that is not a
//! directory tree (a dump's single stream of unknown size).

use super::*;
use crate::dest::local::LocalDest;
use crate::engine::restore::{self, RestoreRequest};
use crate::source::{EntryReader, Listing, SourceEntry, SourceError, SourceReport};
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One stream entry, as a dump command's stdout will be: no size until
/// read, no mtime or inode; `fail` makes its finish report an exit status.
struct Stream {
    data: Vec<u8>,
    fail: bool,
}

struct StreamRun {
    data: Mutex<Option<Cursor<Vec<u8>>>>,
    fail: bool,
}

struct StreamReader(Cursor<Vec<u8>>);

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl EntryReader for StreamReader {
    fn changed(&self, _: &SourceEntry, _: u64) -> std::io::Result<bool> {
        Ok(false)
    }
}

impl Source for Stream {
    fn describe(&self) -> String {
        "stream".into()
    }
    fn begin(&self) -> Result<Box<dyn SourceRun>, SourceError> {
        Ok(Box::new(StreamRun {
            data: Mutex::new(Some(Cursor::new(self.data.clone()))),
            fail: self.fail,
        }))
    }
}

impl SourceRun for StreamRun {
    fn entries(&mut self) -> Result<Listing, SourceError> {
        Ok(Listing {
            entries: vec![SourceEntry {
                path: b"dump.sql".to_vec(),
                kind: SourceKind::File,
                mode: 0o600,
                uid: rustix::process::getuid().as_raw(),
                gid: rustix::process::getgid().as_raw(),
                mtime_ns: 0,
                ctime_ns: 0,
                inode: 0,
                dev: 0,
                size: None,
                nlink: 1,
            }],
            errors: vec![],
        })
    }
    fn open(&self, _: &SourceEntry) -> Result<Box<dyn EntryReader>, SourceError> {
        let data = self.data.lock().unwrap().take();
        let data = data.ok_or_else(|| SourceError::Failed {
            what: "stream".into(),
            detail: "read twice".into(),
        })?;
        Ok(Box::new(StreamReader(data)))
    }
    fn finish(self: Box<Self>) -> Result<SourceReport, SourceError> {
        if self.fail {
            return Err(SourceError::Failed {
                what: "stream".into(),
                detail: "the command exited with status 1".into(),
            });
        }
        Ok(SourceReport::default())
    }
}

/// Pseudo-random bytes spanning several chunks.
fn sample() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..3_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Backs `source` up into a fresh repository under `dir`.
fn back_up(dir: &Path, source: &dyn Source) -> (Repository, Result<CommitMarker, EngineError>) {
    let repo = Repository::open_or_init("d", Arc::new(LocalDest::new(dir.join("repo")))).unwrap();
    let claim = repo::Claim {
        format: repo::REPO_FORMAT,
        backup: "20260101-000000-00000001".into(),
        task: "db".into(),
        run: 1,
        started: Utc::now(),
    };
    assert_eq!(repo.claim(&claim).unwrap(), repo::ClaimOutcome::Claimed);
    let repos = [repo.clone()];
    let plan = BackupPlan {
        backup_id: claim.backup.clone(),
        claim: &claim,
        task: "db",
        kind: BackupKind::Full,
        parent: None,
        started: claim.started,
        repos: &repos,
        required: 1,
        chunker: repo.config().unwrap().chunker,
        compression_level: 3,
        threads: 2,
    };
    let task = TaskConfig::dir_to("db", dir.join("unused"), "d");
    let result = run(&plan, source, &Progress::default(), |stats| Described {
        record: crate::engine::backup::test_record(&plan, stats, "db", &["d"]),
        task,
    })
    .map(|done| done.marker);
    (repo, result)
}

#[test]
fn a_stream_entry_of_unknown_size_backs_up_and_restores_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample();
    let source = Stream {
        data: data.clone(),
        fail: false,
    };
    let (repo, result) = back_up(dir.path(), &source);
    let marker = result.unwrap();
    assert_eq!(marker.backup.file_count, 1);
    assert_eq!(marker.backup.logical_bytes, data.len() as u64);
    assert!(marker.backup.errors.is_empty() && marker.backup.warnings.is_empty());
    let id = &marker.backup.id;
    assert!(repo.read_commit(id).unwrap().is_some());
    let manifest = repo.read_manifest(id, &marker.manifest_hash).unwrap();
    assert_eq!(manifest.source, "stream");

    let to = dir.path().join("restored");
    let target = crate::engine::target::resolve(&to)
        .unwrap()
        .unrestricted()
        .unwrap();
    let req = RestoreRequest {
        manifest: &manifest,
        repos: std::slice::from_ref(&repo),
        target: &target,
        subpath: None,
        threads: 2,
        restore_owner: false,
    };
    let report = restore::restore(&req, &Progress::default()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(std::fs::read(to.join("dump.sql")).unwrap(), data);
}

#[test]
fn a_failing_finish_fails_the_backup_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = Stream {
        data: sample(),
        fail: true,
    };
    let (repo, result) = back_up(dir.path(), &source);
    let e = result.unwrap_err();
    assert!(e.to_string().contains("exited with status 1"), "{e}");
    assert!(
        repo.list_backups().unwrap().is_empty(),
        "the run's data was removed"
    );
}
