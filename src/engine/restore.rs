//! Restoring a backup in one pass: every chunk is fetched from whichever pack
//! of the chain holds it and checked against its hash before it is written.

use super::error::EngineError;
use super::fetch::{FrameCache, read_chunk};
use super::manifest::{Entry, EntryKind, Manifest};
use super::progress::{Phase, Progress};
use super::scan::display_path;
use crate::core::model::EntryError;
use crate::dest::Destination;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Errors, files and bytes of one restore worker.
type WorkerTally = (Vec<EntryError>, u64, u64);

/// What to restore and where.
pub struct RestoreRequest<'a> {
    /// Manifest of the backup.
    pub manifest: &'a Manifest,
    /// Destination holding the chain's packs.
    pub dest: &'a dyn Destination,
    /// Target directory (must not exist or be empty; checked by the caller).
    pub target: &'a Path,
    /// Only this subtree (relative path), if set.
    pub subpath: Option<&'a [u8]>,
    /// Worker threads.
    pub threads: usize,
    /// Restore owners (only meaningful when running as root).
    pub restore_owner: bool,
}

/// What a restore did.
#[derive(Debug, Default, Clone, serde::Serialize)]
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

fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> EngineError {
    EngineError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn write_file(
    req: &RestoreRequest<'_>,
    e: &Entry,
    chunks: &[u32],
    path: &Path,
    cache: &mut FrameCache,
    progress: &Progress,
) -> Result<u64, String> {
    let m = req.manifest;
    // create_new never follows or replaces an existing entry (including a symlink).
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| format!("cannot create: {err}"))?;
    let mut written = 0u64;
    for &ci in chunks {
        let c = m
            .chunks
            .get(ci as usize)
            .ok_or("chunk index out of range")?;
        let frame = cache.get(m, req.dest, c)?;
        let data = read_chunk(&frame, m, c)?;
        f.write_all(data)
            .map_err(|err| format!("cannot write: {err}"))?;
        written += data.len() as u64;
        Progress::add(&progress.bytes_done, data.len() as u64);
    }
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
    f.set_permissions(fs::Permissions::from_mode(e.mode))
        .map_err(|err| format!("cannot set mode: {err}"))?;
    let t = time_of(e.mtime_ns);
    f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .map_err(|err| format!("cannot set times: {err}"))?;
    Ok(written)
}

fn set_link_meta(path: &Path, e: &Entry, owner: bool) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};
    if owner {
        rustix::fs::chownat(
            CWD,
            path,
            Some(rustix::fs::Uid::from_raw(e.uid)),
            Some(rustix::fs::Gid::from_raw(e.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    let ts = Timespec {
        tv_sec: e.mtime_ns.div_euclid(1_000_000_000),
        tv_nsec: e.mtime_ns.rem_euclid(1_000_000_000) as _,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: ts,
            last_modification: ts,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// Restores the selected entries of `req.manifest` under `req.target`.
pub fn restore(
    req: &RestoreRequest<'_>,
    progress: &Progress,
) -> Result<RestoreReport, EngineError> {
    let m = req.manifest;
    check_paths(m)?;
    let sel: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| selected(&e.path, req.subpath))
        .collect();
    if let Some(sub) = req.subpath
        && !sel.iter().any(|e| e.path == sub)
    {
        return Err(EngineError::Target {
            path: req.target.to_path_buf(),
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
    fs::create_dir_all(req.target).map_err(|e| io_err("create", req.target, e))?;
    let at = |p: &[u8]| -> PathBuf { req.target.join(OsStr::from_bytes(p)) };
    let mut report = RestoreReport::default();

    // Directories first, owner-writable until their final mode is set at the end.
    for e in sel.iter().filter(|e| e.kind == EntryKind::Dir) {
        let p = at(&e.path);
        fs::create_dir(&p).map_err(|err| io_err("create directory", &p, err))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700))
            .map_err(|err| io_err("chmod", &p, err))?;
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
    let results: Vec<WorkerTally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut cache = FrameCache::new();
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
                        for e in &files[from..to] {
                            let EntryKind::File { chunks } = &e.kind else {
                                continue;
                            };
                            let p = at(&e.path);
                            match write_file(req, e, chunks, &p, &mut cache, progress) {
                                Ok(b) => {
                                    n += 1;
                                    bytes += b;
                                }
                                Err(msg) => {
                                    // Never leave a file that looks restored but is not.
                                    let _ = fs::remove_file(&p);
                                    errors.push(EntryError {
                                        path: display_path(&e.path),
                                        error: format!("{msg}; the file was not restored"),
                                    });
                                }
                            }
                            Progress::add(&progress.files_done, 1);
                        }
                    }
                    (errors, n, bytes)
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
                    )
                })
            })
            .collect()
    });
    for (errs, n, b) in results {
        report.errors.extend(errs);
        report.files += n;
        report.bytes += b;
    }
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }

    let restored: HashSet<&[u8]> = files.iter().map(|e| e.path.as_slice()).collect();
    for e in &sel {
        let p = at(&e.path);
        match &e.kind {
            EntryKind::Symlink { target } => {
                let r = std::os::unix::fs::symlink(OsStr::from_bytes(target), &p)
                    .and_then(|_| set_link_meta(&p, e, req.restore_owner));
                match r {
                    Ok(()) => report.symlinks += 1,
                    Err(err) => report.errors.push(EntryError {
                        path: display_path(&e.path),
                        error: format!("cannot create symlink: {err}"),
                    }),
                }
            }
            EntryKind::HardLink { target } if restored.contains(target.as_slice()) => {
                match fs::hard_link(at(target), &p) {
                    Ok(()) => report.hardlinks += 1,
                    Err(err) => report.errors.push(EntryError {
                        path: display_path(&e.path),
                        error: format!("cannot create hard link: {err}"),
                    }),
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
                let mut cache = FrameCache::new();
                match write_file(req, first, chunks, &p, &mut cache, progress) {
                    Ok(b) => {
                        report.files += 1;
                        report.bytes += b;
                    }
                    Err(msg) => {
                        let _ = fs::remove_file(&p);
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
        let p = at(&e.path);
        let r = (|| -> std::io::Result<()> {
            if req.restore_owner {
                std::os::unix::fs::chown(&p, Some(e.uid), Some(e.gid))?;
            }
            fs::set_permissions(&p, fs::Permissions::from_mode(e.mode))?;
            let t = time_of(e.mtime_ns);
            File::open(&p)?.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        })();
        if let Err(err) = r {
            report.errors.push(EntryError {
                path: display_path(&e.path),
                error: format!("cannot set directory metadata: {err}"),
            });
        }
    }
    report.errors.sort_by(|a, b| a.path.cmp(&b.path));
    progress.set_phase(Phase::Done);
    Ok(report)
}
