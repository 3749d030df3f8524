//! Restoring a backup in one pass: every chunk is fetched from whichever pack
//! of the chain holds it and checked against its hash before it is written;
//! a chunk the preferred copy cannot give intact comes from another copy.

use super::error::EngineError;
use super::fetch::{CopyReader, FALLBACK_LINES};
use super::manifest::{Entry, EntryKind, Manifest};
use super::repository::Repository;
use super::shared_frames::SharedFrames;
use super::target::{RestoreTarget, open_dir_at};
use crate::model::EntryError;
use crate::progress::{Phase, Progress};
use crate::source::display_path;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Errors, files, bytes and fallbacks (lines, count) of one restore worker.
type WorkerTally = (Vec<EntryError>, u64, u64, Vec<String>, u64);

/// What to restore and where.
pub struct RestoreRequest<'a> {
    /// Manifest of the backup.
    pub manifest: &'a Manifest,
    /// Repositories holding the chain's packs, the preferred copy first; a
    /// chunk the first cannot give intact is read from the next.
    pub repos: &'a [Repository],
    /// Where to write, resolved by the caller; opened without following symlinks.
    pub target: &'a RestoreTarget,
    /// Only this subtree (relative path), if set.
    pub subpath: Option<&'a [u8]>,
    /// Worker threads.
    pub threads: usize,
    /// Restore owners (only meaningful when running as root).
    pub restore_owner: bool,
}

/// What a restore did.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct RestoreReport {
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries that could not be restored (damaged data, I/O errors).
    pub errors: Vec<EntryError>,
    /// Chunks read from another copy than the preferred one, one line each
    /// (at most 100): the chunk, its file, the copy used and why.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Chunks read from another copy, including those beyond `fallbacks`.
    #[serde(default)]
    pub fallback_count: u64,
    /// For a database backup, what the restore created (`new SQLite
    /// database file`, `database created by the restore command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

impl RestoreReport {
    /// Adds one reader's fallbacks, keeping the list bounded.
    fn add_fallbacks(&mut self, lines: Vec<String>, count: u64) {
        let room = FALLBACK_LINES.saturating_sub(self.fallbacks.len());
        self.fallbacks.extend(lines.into_iter().take(room));
        self.fallback_count += count;
    }
}

fn parent_of(p: &[u8]) -> Option<&[u8]> {
    p.iter().rposition(|&b| b == b'/').map(|i| &p[..i])
}

/// Refuses a manifest with any structural problem (see [`super::validate::check`],
/// which verify uses too): unsafe paths are refused as such, anything else as damage.
pub fn check_paths(m: &Manifest) -> Result<(), EngineError> {
    let findings = super::validate::check(m, &m.backup_id);
    if let Some(f) = findings.iter().find(|f| f.unsafe_path) {
        return Err(EngineError::UnsafePath {
            backup: m.backup_id.clone(),
            path: f.path.clone().unwrap_or_default(),
            reason: f.reason.clone(),
        });
    }
    match findings.first() {
        Some(f) => Err(EngineError::Damaged {
            backup: m.backup_id.clone(),
            what: format!(
                "its manifest is invalid: {f}; nothing was restored; run 'strata verify {}' for every problem",
                m.backup_id
            ),
        }),
        None => Ok(()),
    }
}

fn selected(p: &[u8], sub: Option<&[u8]>) -> bool {
    let Some(sub) = sub else { return true };
    let under = |a: &[u8], b: &[u8]| a.len() > b.len() && a.starts_with(b) && a[b.len()] == b'/';
    p == sub || under(p, sub) || under(sub, p)
}

fn times_of(ns: i64) -> Timestamps {
    let ts = Timespec {
        tv_sec: ns.div_euclid(1_000_000_000),
        tv_nsec: ns.rem_euclid(1_000_000_000) as _,
    };
    Timestamps {
        last_access: ts,
        last_modification: ts,
    }
}

fn io_err(
    op: &'static str,
    req: &RestoreRequest<'_>,
    rel: &[u8],
    e: rustix::io::Errno,
) -> EngineError {
    EngineError::Io {
        op,
        path: req.target.path().join(OsStr::from_bytes(rel)),
        source: e.into(),
    }
}

/// The last component of a manifest path.
fn name_of(p: &[u8]) -> &OsStr {
    OsStr::from_bytes(parent_of(p).map_or(p, |d| &p[d.len() + 1..]))
}

/// Opens the directory at manifest path `rel` below `root` one component at
/// a time, refusing symlinks: a directory replaced by a symlink during the
/// restore cannot send writes outside the target.
fn open_rel(root: &OwnedFd, rel: Option<&[u8]>) -> rustix::io::Result<OwnedFd> {
    let mut fd = open_dir_at(root.as_fd(), OsStr::new("."))?;
    for c in rel.into_iter().flat_map(|r| r.split(|&b| b == b'/')) {
        fd = open_dir_at(fd.as_fd(), OsStr::from_bytes(c))?;
    }
    Ok(fd)
}

fn open_parent(root: &OwnedFd, p: &[u8]) -> rustix::io::Result<OwnedFd> {
    open_rel(root, parent_of(p))
}

fn write_file(
    req: &RestoreRequest<'_>,
    e: &Entry,
    chunks: &[u32],
    dir: BorrowedFd<'_>,
    name: &OsStr,
    reader: &mut CopyReader<'_>,
    progress: &Progress,
) -> Result<u64, String> {
    let m = req.manifest;
    // O_EXCL|O_NOFOLLOW never follows or replaces an existing entry (a symlink,
    // a hard link to a file elsewhere): only a file this restore created is written.
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|err| format!("cannot create: {err}"))?;
    let mut f = File::from(fd);
    let mut written = 0u64;
    super::prefetch::each_chunk(m, req.repos, &e.path, chunks, reader, &mut |data| {
        // A cancel does not wait for the end of a large file.
        if progress.cancelled() {
            return Err("the restore was cancelled".into());
        }
        f.write_all(data)
            .map_err(|err| format!("cannot write: {err}"))?;
        written += data.len() as u64;
        Progress::add(&progress.bytes_done, data.len() as u64);
        Ok(())
    })?;
    if written != e.size {
        return Err(format!(
            "restored {written} bytes but the manifest says {}",
            e.size
        ));
    }
    if req.restore_owner {
        rustix::fs::fchown(
            &f,
            Some(rustix::fs::Uid::from_raw(e.uid)),
            Some(rustix::fs::Gid::from_raw(e.gid)),
        )
        .map_err(|err| format!("cannot set owner: {err}"))?;
    }
    rustix::fs::fchmod(&f, Mode::from_raw_mode(e.mode))
        .map_err(|err| format!("cannot set mode: {err}"))?;
    rustix::fs::futimens(&f, &times_of(e.mtime_ns))
        .map_err(|err| format!("cannot set times: {err}"))?;
    Ok(written)
}

fn set_link_meta(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    e: &Entry,
    owner: bool,
) -> rustix::io::Result<()> {
    if owner {
        rustix::fs::chownat(
            dir,
            name,
            Some(rustix::fs::Uid::from_raw(e.uid)),
            Some(rustix::fs::Gid::from_raw(e.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    rustix::fs::utimensat(dir, name, &times_of(e.mtime_ns), AtFlags::SYMLINK_NOFOLLOW)
}

fn fail_dir(e: &Entry, err: &dyn std::fmt::Display) -> EntryError {
    EntryError {
        path: display_path(&e.path),
        error: format!("cannot set directory metadata: {err}"),
    }
}

/// Decoded frames the workers of a restore share, per worker (~1 MiB each).
const SHARED_FRAMES_PER_WORKER: usize = 4;

/// Restores the selected entries of `req.manifest` under `req.target`.
pub fn restore(
    req: &RestoreRequest<'_>,
    progress: &Progress,
) -> Result<RestoreReport, EngineError> {
    let m = req.manifest;
    check_paths(m)?;
    if req.repos.is_empty() {
        return Err(EngineError::Damaged {
            backup: m.backup_id.clone(),
            what: "no copy of it was given to restore from".into(),
        });
    }
    let sel: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| selected(&e.path, req.subpath))
        .collect();
    if let Some(sub) = req.subpath
        && !sel.iter().any(|e| e.path == sub)
    {
        return Err(EngineError::Target {
            path: req.target.path(),
            reason: format!("backup {} has no entry {}", m.backup_id, display_path(sub)),
        });
    }
    progress.set_phase(Phase::Restore);
    let files: Vec<&Entry> = sel
        .iter()
        .copied()
        .filter(|e| matches!(e.kind, EntryKind::File { .. }))
        .collect();
    progress
        .files_total
        .store(files.len() as u64, Ordering::Relaxed);
    progress
        .bytes_total
        .store(files.iter().map(|e| e.size).sum(), Ordering::Relaxed);
    // Tests pause here to swap a directory of the target for a symlink.
    super::stop::point("restore-after-check");
    let root = super::target::open(req.target)?;
    let mut report = RestoreReport::default();

    // Directories first, owner-writable until their final mode is set at the end.
    for e in sel.iter().filter(|e| e.kind == EntryKind::Dir) {
        let r = open_parent(&root, &e.path).and_then(|dir| {
            let name = name_of(&e.path);
            rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o700))?;
            rustix::fs::fchmod(open_dir_at(dir.as_fd(), name)?, Mode::from_raw_mode(0o700))
        });
        r.map_err(|err| io_err("create directory", req, &e.path, err))?;
        report.dirs += 1;
    }

    // Batches never span directories (up to 64 files each), so parallel workers
    // mostly create files in different directories and do not contend on one
    // directory's lock, while a batch still reuses its frames from the cache.
    let mut batches: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=files.len() {
        if i == files.len()
            || i - start >= 64
            || parent_of(&files[i].path) != parent_of(&files[start].path)
        {
            batches.push((start, i));
            start = i;
        }
    }
    let next = AtomicUsize::new(0);
    let threads = req.threads.max(1);
    let shared = SharedFrames::new(SHARED_FRAMES_PER_WORKER * threads);
    let results: Vec<WorkerTally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut reader = CopyReader::sharing(req.repos, Some(&shared));
                    let mut errors = Vec::new();
                    let (mut n, mut bytes) = (0u64, 0u64);
                    loop {
                        if progress.cancelled() {
                            break;
                        }
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(from, to)) = batches.get(b) else {
                            break;
                        };
                        // One handle on the batch's directory, opened without following symlinks.
                        let dir = files.get(from).map(|e| open_parent(&root, &e.path));
                        for e in &files[from..to] {
                            let EntryKind::File { chunks } = &e.kind else {
                                continue;
                            };
                            let name = name_of(&e.path);
                            let r = match &dir {
                                Some(Ok(d)) => write_file(
                                    req,
                                    e,
                                    chunks,
                                    d.as_fd(),
                                    name,
                                    &mut reader,
                                    progress,
                                ),
                                Some(Err(err)) => Err(format!("cannot open its directory: {err}")),
                                None => continue,
                            };
                            match r {
                                Ok(b) => {
                                    n += 1;
                                    bytes += b;
                                }
                                Err(msg) => {
                                    // Never leave a file that looks restored but is not.
                                    if let Some(Ok(d)) = &dir {
                                        let _ = rustix::fs::unlinkat(d, name, AtFlags::empty());
                                    }
                                    errors.push(EntryError {
                                        path: display_path(&e.path),
                                        error: format!("{msg}; the file was not restored"),
                                    });
                                }
                            }
                            Progress::add(&progress.files_done, 1);
                        }
                    }
                    (errors, n, bytes, reader.fallbacks, reader.fallback_count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        vec![EntryError {
                            path: String::new(),
                            error: "restore worker panicked".into(),
                        }],
                        0,
                        0,
                        Vec::new(),
                        0,
                    )
                })
            })
            .collect()
    });
    for (errs, n, b, lines, count) in results {
        report.add_fallbacks(lines, count);
        report.errors.extend(errs);
        report.files += n;
        report.bytes += b;
    }
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }

    let restored: HashSet<&[u8]> = files.iter().map(|e| e.path.as_slice()).collect();
    for e in &sel {
        let fail = |what: &str, err: &dyn std::fmt::Display| EntryError {
            path: display_path(&e.path),
            error: format!("{what}: {err}"),
        };
        let name = name_of(&e.path);
        match &e.kind {
            EntryKind::Symlink { target } => {
                let r = open_parent(&root, &e.path).and_then(|dir| {
                    rustix::fs::symlinkat(OsStr::from_bytes(target), &dir, name)?;
                    set_link_meta(dir.as_fd(), name, e, req.restore_owner)
                });
                match r {
                    Ok(()) => report.symlinks += 1,
                    Err(err) => report.errors.push(fail("cannot create symlink", &err)),
                }
            }
            EntryKind::HardLink { target } if restored.contains(target.as_slice()) => {
                // linkat without AT_SYMLINK_FOLLOW links the entry itself, and
                // both ends are reached through handles that refuse symlinks.
                let r = open_parent(&root, target).and_then(|from| {
                    let dir = open_parent(&root, &e.path)?;
                    rustix::fs::linkat(&from, name_of(target), &dir, name, AtFlags::empty())
                });
                match r {
                    Ok(()) => report.hardlinks += 1,
                    Err(err) => report.errors.push(fail("cannot create hard link", &err)),
                }
            }
            EntryKind::HardLink { target } => {
                // The first name lies outside the selected subtree: restore the data here.
                let Some(first) = m.entries.iter().find(|x| &x.path == target) else {
                    continue;
                };
                let EntryKind::File { chunks } = &first.kind else {
                    continue;
                };
                let dir = match open_parent(&root, &e.path) {
                    Ok(d) => d,
                    Err(err) => {
                        report.errors.push(fail("cannot open its directory", &err));
                        continue;
                    }
                };
                let mut reader = CopyReader::new(req.repos);
                let written =
                    write_file(req, first, chunks, dir.as_fd(), name, &mut reader, progress);
                report.add_fallbacks(reader.fallbacks, reader.fallback_count);
                match written {
                    Ok(b) => {
                        report.files += 1;
                        report.bytes += b;
                    }
                    Err(msg) => {
                        let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
                        report.errors.push(EntryError {
                            path: display_path(&e.path),
                            error: format!("{msg}; the file was not restored"),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    // Directory metadata last, deepest first, so writing inside did not disturb it.
    for e in sel.iter().rev().filter(|e| e.kind == EntryKind::Dir) {
        let r = open_rel(&root, Some(&e.path)).and_then(|fd| {
            if req.restore_owner {
                rustix::fs::fchown(
                    &fd,
                    Some(rustix::fs::Uid::from_raw(e.uid)),
                    Some(rustix::fs::Gid::from_raw(e.gid)),
                )?;
            }
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(e.mode))?;
            rustix::fs::futimens(&fd, &times_of(e.mtime_ns))
        });
        if let Err(err) = r {
            report.errors.push(fail_dir(e, &err));
        }
    }
    report.errors.sort_by(|a, b| a.path.cmp(&b.path));
    progress.set_phase(Phase::Done);
    Ok(report)
}
