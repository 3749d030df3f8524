//! Taking one backup: scan, reuse unchanged files from the parent, read and
//! chunk the rest on a worker pool, write packs, then manifest, then COMMIT.

use super::chunk::{ChunkerParams, chunk_id, stream_chunks};
use super::error::EngineError;
use super::frame;
use super::manifest::{ChunkId, ChunkRef, Entry, EntryKind, Manifest, PackRef};
use super::pack::PackBuilder;
use super::progress::{Phase, Progress};
use super::repo::{self, CommitMarker, PackInfo};
use super::scan::{self, Excludes, ScanEntry, ScanKind, display_path};
use super::stop;
use crate::core::model::{
    BackupKind, BackupRecord, BackupStatus, EntryError, SourceConfig, TaskConfig,
};
use crate::dest::NamedDest;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Raw bytes gathered into one compression frame before it is sealed.
const FRAME_TARGET: usize = 1 << 20;
/// Files a worker claims at once, so one frame holds neighbouring files.
const BATCH: usize = 32;

/// Everything needed to take one backup.
pub struct BackupPlan<'a> {
    /// Id reserved for the backup (its data lives under this id).
    pub backup_id: String,
    /// The task.
    pub task: &'a TaskConfig,
    /// Effective kind.
    pub kind: BackupKind,
    /// Parent record and its manifest (incremental/differential).
    pub parent: Option<(&'a BackupRecord, &'a Manifest)>,
    /// Made by "backup now".
    pub manual: bool,
    /// Run start.
    pub started: DateTime<Utc>,
    /// Destinations (name, storage), each with an initialised repository.
    pub dests: Vec<NamedDest>,
    /// Chunker sizes of the repositories.
    pub chunker: ChunkerParams,
    /// Worker threads.
    pub threads: usize,
}

struct FrameMsg {
    bytes: Vec<u8>,
    chunks: Vec<(ChunkId, u32, u32)>,
}

#[derive(Clone, Copy)]
struct NewLoc {
    pack: u32,
    frame_offset: u64,
    frame_len: u32,
    offset: u32,
    len: u32,
}

enum FileResult {
    Stored {
        chunks: Vec<ChunkId>,
        size: u64,
        changed: bool,
    },
    Failed(String),
}

struct Shared<'a> {
    plan: &'a BackupPlan<'a>,
    entries: &'a [ScanEntry],
    jobs: &'a [usize],
    next: AtomicUsize,
    parent_chunks: &'a HashMap<ChunkId, usize>,
    claimed: Mutex<HashSet<ChunkId>>,
    abort: AtomicBool,
    progress: &'a Progress,
}

/// Takes the backup described by `plan`. On failure or cancellation every
/// object written under the backup id is removed again.
pub fn run(plan: &BackupPlan<'_>, progress: &Progress) -> Result<BackupRecord, EngineError> {
    let result = run_inner(plan, progress);
    if result.is_err() {
        for (_, d) in &plan.dests {
            let _ = d.delete_prefix(&repo::backup_prefix(&plan.backup_id));
        }
    }
    result
}

fn source_root(task: &TaskConfig) -> (&Path, &[String]) {
    match &task.source {
        SourceConfig::Dir { path, exclude } => (path.as_path(), exclude.as_slice()),
    }
}

fn run_inner(plan: &BackupPlan<'_>, progress: &Progress) -> Result<BackupRecord, EngineError> {
    let (root, patterns) = source_root(plan.task);
    let md = std::fs::metadata(root).map_err(|e| EngineError::Source {
        path: root.to_path_buf(),
        source: e,
    })?;
    if !md.is_dir() {
        return Err(EngineError::Source {
            path: root.to_path_buf(),
            source: std::io::Error::other("not a directory"),
        });
    }
    let excludes = Excludes::new(patterns).map_err(|e| EngineError::Source {
        path: root.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    progress.set_phase(Phase::Scan);
    let scanned = scan::scan(root, &excludes);
    // An unreadable root is not a partial backup of something: it is nothing.
    if let Some(e) = scanned.errors.iter().find(|e| e.path.is_empty()) {
        return Err(EngineError::Source {
            path: root.to_path_buf(),
            source: std::io::Error::other(e.error.clone()),
        });
    }
    let mut errors = scanned.errors;
    let entries = scanned.entries;
    stop::point("after-scan");

    let empty = Manifest {
        backup_id: String::new(),
        task: String::new(),
        kind: BackupKind::Full,
        parent: None,
        chain: String::new(),
        created: 0,
        source: String::new(),
        packs: vec![],
        chunks: vec![],
        entries: vec![],
    };
    let parent = plan.parent.map(|(_, m)| m).unwrap_or(&empty);
    let parent_by_path: HashMap<&[u8], &Entry> = parent
        .entries
        .iter()
        .map(|e| (e.path.as_slice(), e))
        .collect();
    let parent_chunks: HashMap<ChunkId, usize> = parent
        .chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, i))
        .collect();

    // Unchanged files (same size, mtime, ctime and inode) reuse the parent's
    // chunk list without being read.
    let mut reused: HashMap<usize, Vec<ChunkId>> = HashMap::new();
    let mut jobs = Vec::new();
    let mut bytes_total = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if e.kind != ScanKind::File {
            continue;
        }
        if let Some(p) = parent_by_path.get(e.path.as_slice())
            && let EntryKind::File { chunks } = &p.kind
            && p.size == e.size
            && p.mtime_ns == e.mtime_ns
            && p.ctime_ns == e.ctime_ns
            && p.inode == e.inode
        {
            reused.insert(
                i,
                chunks
                    .iter()
                    .map(|&c| parent.chunks[c as usize].id)
                    .collect(),
            );
            continue;
        }
        jobs.push(i);
        bytes_total += e.size;
    }
    progress
        .files_total
        .store(jobs.len() as u64, Ordering::Relaxed);
    progress.bytes_total.store(bytes_total, Ordering::Relaxed);
    progress.set_phase(Phase::Store);

    let shared = Shared {
        plan,
        entries: &entries,
        jobs: &jobs,
        next: AtomicUsize::new(0),
        parent_chunks: &parent_chunks,
        claimed: Mutex::new(HashSet::new()),
        abort: AtomicBool::new(false),
        progress,
    };
    let threads = plan.threads.max(1);
    let (tx, rx) = sync_channel::<FrameMsg>(threads * 2);
    let (file_results, pack_result) = std::thread::scope(|s| {
        let packer = s.spawn(|| pack_writer(plan, rx, progress, &shared.abort));
        let mut workers = Vec::new();
        for _ in 0..threads {
            let tx = tx.clone();
            let shared = &shared;
            workers.push(s.spawn(move || worker(shared, tx)));
        }
        drop(tx);
        let mut results: Vec<(usize, FileResult)> = Vec::new();
        let mut worker_err = None;
        for w in workers {
            match w.join() {
                Ok(Ok(r)) => results.extend(r),
                Ok(Err(e)) => worker_err = Some(e),
                Err(_) => {
                    worker_err = Some(EngineError::Io {
                        op: "run worker for",
                        path: root.to_path_buf(),
                        source: std::io::Error::other("worker thread panicked"),
                    })
                }
            }
        }
        let packed = packer.join().unwrap_or_else(|_| {
            Err(EngineError::Io {
                op: "write packs for",
                path: root.to_path_buf(),
                source: std::io::Error::other("pack writer panicked"),
            })
        });
        match worker_err {
            Some(e) => (Err(e), packed),
            None => (Ok(results), packed),
        }
    });
    let (new_locs, packs_written) = pack_result?;
    let file_results: HashMap<usize, FileResult> = file_results?.into_iter().collect();
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }

    progress.set_phase(Phase::Commit);
    // Assemble the manifest: entries in path order, chunk table in first-use order.
    let mut packs: Vec<PackRef> = Vec::new();
    let mut pack_index: HashMap<(String, u32), u32> = HashMap::new();
    let mut table: Vec<ChunkRef> = Vec::new();
    let mut table_index: HashMap<ChunkId, u32> = HashMap::new();
    let own_sizes: HashMap<u32, u64> = packs_written.iter().map(|p| (p.number, p.size)).collect();
    let mut locate = |id: ChunkId| -> Result<u32, EngineError> {
        if let Some(&i) = table_index.get(&id) {
            return Ok(i);
        }
        let (owner, number, size, c) = if let Some(l) = new_locs.get(&id) {
            let r = ChunkRef {
                id,
                pack: 0,
                frame_offset: l.frame_offset,
                frame_len: l.frame_len,
                offset: l.offset,
                len: l.len,
            };
            let size = own_sizes.get(&l.pack).copied().unwrap_or(0);
            (plan.backup_id.clone(), l.pack, size, r)
        } else if let Some(&pi) = parent_chunks.get(&id) {
            let c = parent.chunks[pi];
            let p = &parent.packs[c.pack as usize];
            (p.backup.clone(), p.number, p.size, c)
        } else {
            return Err(EngineError::Damaged {
                backup: plan.backup_id.clone(),
                what: format!(
                    "internal error: chunk {} has no stored copy",
                    super::chunk::hex(&id)
                ),
            });
        };
        let key = (owner, number);
        let pack = match pack_index.get(&key) {
            Some(&p) => p,
            None => {
                let p = packs.len() as u32;
                packs.push(PackRef {
                    backup: key.0.clone(),
                    number,
                    size,
                });
                pack_index.insert(key, p);
                p
            }
        };
        let i = table.len() as u32;
        table.push(ChunkRef { pack, ..c });
        table_index.insert(id, i);
        Ok(i)
    };

    let mut warnings = Vec::new();
    let mut out_entries = Vec::with_capacity(entries.len());
    let mut stored_paths: HashSet<&[u8]> = HashSet::new();
    let mut file_count = 0u64;
    let mut logical = 0u64;
    for (i, e) in entries.iter().enumerate() {
        let kind = match &e.kind {
            ScanKind::Dir => EntryKind::Dir,
            ScanKind::Symlink(t) => EntryKind::Symlink { target: t.clone() },
            ScanKind::HardLink(t) => {
                if !stored_paths.contains(t.as_slice()) {
                    errors.push(EntryError {
                        path: display_path(&e.path),
                        error: format!("hard link to {} which could not be read", display_path(t)),
                    });
                    continue;
                }
                EntryKind::HardLink { target: t.clone() }
            }
            ScanKind::File => {
                let (ids, size) = if let Some(ids) = reused.remove(&i) {
                    (ids, e.size)
                } else {
                    match file_results.get(&i) {
                        Some(FileResult::Stored {
                            chunks,
                            size,
                            changed,
                        }) => {
                            if *changed {
                                warnings.push(EntryError {
                                    path: display_path(&e.path),
                                    error: "changed while it was being read; the stored copy may mix old and new content (stop writers or use a consistent snapshot)".into(),
                                });
                            }
                            (chunks.clone(), *size)
                        }
                        Some(FileResult::Failed(msg)) => {
                            errors.push(EntryError {
                                path: display_path(&e.path),
                                error: msg.clone(),
                            });
                            continue;
                        }
                        None => {
                            errors.push(EntryError {
                                path: display_path(&e.path),
                                error: "not read (internal error)".into(),
                            });
                            continue;
                        }
                    }
                };
                let mut list = Vec::with_capacity(ids.len());
                for id in ids {
                    list.push(locate(id)?);
                }
                stored_paths.insert(&e.path);
                file_count += 1;
                logical += size;
                out_entries.push(Entry {
                    path: e.path.clone(),
                    kind: EntryKind::File { chunks: list },
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                    mtime_ns: e.mtime_ns,
                    ctime_ns: e.ctime_ns,
                    inode: e.inode,
                    size,
                });
                continue;
            }
        };
        out_entries.push(Entry {
            path: e.path.clone(),
            kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime_ns: e.mtime_ns,
            ctime_ns: e.ctime_ns,
            inode: e.inode,
            size: 0,
        });
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));

    let chain = match (plan.kind, plan.parent) {
        (BackupKind::Full, _) | (_, None) => plan.backup_id.clone(),
        (_, Some((p, _))) => p.chain.clone(),
    };
    let manifest = Manifest {
        backup_id: plan.backup_id.clone(),
        task: plan.task.name.clone(),
        kind: plan.kind,
        parent: plan.parent.map(|(p, _)| p.id.clone()),
        chain: chain.clone(),
        created: plan.started.timestamp(),
        source: root.display().to_string(),
        packs,
        chunks: table,
        entries: out_entries,
    };
    let entry_count = manifest.entries.len() as u64;
    let bytes = manifest.encode(3).map_err(|e| EngineError::Io {
        op: "compress manifest of",
        path: root.to_path_buf(),
        source: e,
    })?;
    let manifest_hash = blake3::hash(&bytes).to_hex().to_string();
    for (_, d) in &plan.dests {
        d.put(&repo::manifest_key(&plan.backup_id), &bytes)?;
    }
    stop::point("after-manifest");

    let pack_bytes: u64 = packs_written.iter().map(|p| p.size).sum();
    let record = BackupRecord {
        id: plan.backup_id.clone(),
        task: plan.task.name.clone(),
        kind: plan.kind,
        manual: plan.manual,
        parent: plan.parent.map(|(p, _)| p.id.clone()),
        chain,
        status: if errors.is_empty() {
            BackupStatus::Complete
        } else {
            BackupStatus::Partial
        },
        started: plan.started,
        finished: Utc::now(),
        logical_bytes: logical,
        stored_bytes: pack_bytes + bytes.len() as u64,
        file_count,
        entry_count,
        changed_files: jobs.len() as u64,
        errors,
        warnings,
        destinations: plan.dests.iter().map(|(n, _)| n.clone()).collect(),
        manifest_hash: manifest_hash.clone(),
        pinned: false,
        verified: None,
    };
    let marker = CommitMarker {
        format: repo::REPO_FORMAT,
        backup: record.clone(),
        task: plan.task.clone(),
        manifest_hash,
        manifest_size: bytes.len() as u64,
        packs: packs_written,
    };
    let marker_bytes = serde_json::to_vec_pretty(&marker).map_err(|e| EngineError::Io {
        op: "encode commit marker of",
        path: root.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }
    for (_, d) in &plan.dests {
        d.put(&repo::commit_key(&plan.backup_id), &marker_bytes)?;
    }
    stop::point("after-commit-marker");
    progress.set_phase(Phase::Done);
    Ok(record)
}

/// Reads, chunks and hashes files; new chunks go into frames sent to the pack writer.
fn worker(
    sh: &Shared<'_>,
    tx: SyncSender<FrameMsg>,
) -> Result<Vec<(usize, FileResult)>, EngineError> {
    let (root, _) = source_root(sh.plan.task);
    let mut encoder =
        frame::Encoder::new(sh.plan.task.compression_level).map_err(|e| EngineError::Io {
            op: "set up compression for",
            path: root.to_path_buf(),
            source: e,
        })?;
    let mut results = Vec::new();
    let mut buf = Vec::new();
    let mut frame_raw: Vec<u8> = Vec::with_capacity(FRAME_TARGET + (1 << 20));
    let mut frame_chunks: Vec<(ChunkId, u32, u32)> = Vec::new();
    let mut send =
        |raw: &mut Vec<u8>, chunks: &mut Vec<(ChunkId, u32, u32)>| -> Result<bool, EngineError> {
            if raw.is_empty() {
                return Ok(true);
            }
            let mut bytes = Vec::with_capacity(raw.len() / 2 + 64);
            encoder
                .encode(raw, &mut bytes)
                .map_err(|e| EngineError::Io {
                    op: "compress data of",
                    path: root.to_path_buf(),
                    source: e,
                })?;
            raw.clear();
            let msg = FrameMsg {
                bytes,
                chunks: std::mem::take(chunks),
            };
            // The bounded channel is the back-pressure: workers wait while the pack
            // writer is behind, so memory stays bounded whatever the data size.
            Ok(tx.send(msg).is_ok())
        };
    loop {
        if sh.abort.load(Ordering::Relaxed) || sh.progress.cancelled() {
            break;
        }
        let start = sh.next.fetch_add(BATCH, Ordering::Relaxed);
        if start >= sh.jobs.len() {
            break;
        }
        let end = (start + BATCH).min(sh.jobs.len());
        for &idx in &sh.jobs[start..end] {
            let e = &sh.entries[idx];
            let path = root.join(OsStr::from_bytes(&e.path));
            let mut ids = Vec::new();
            let outcome = std::fs::File::open(&path).and_then(|f| {
                let n = stream_chunks(&sh.plan.chunker, &f, &mut buf, |chunk| {
                    let id = chunk_id(chunk);
                    ids.push(id);
                    Progress::add(&sh.progress.bytes_done, chunk.len() as u64);
                    if sh.parent_chunks.contains_key(&id) {
                        return Ok(());
                    }
                    let fresh = match sh.claimed.lock() {
                        Ok(mut set) => set.insert(id),
                        Err(p) => p.into_inner().insert(id),
                    };
                    if fresh {
                        let off = frame_raw.len() as u32;
                        frame_raw.extend_from_slice(chunk);
                        frame_chunks.push((id, off, chunk.len() as u32));
                        if frame_raw.len() >= FRAME_TARGET {
                            match send(&mut frame_raw, &mut frame_chunks) {
                                Ok(true) => {}
                                Ok(false) => {
                                    return Err(std::io::Error::other("pack writer stopped"));
                                }
                                Err(e) => return Err(std::io::Error::other(e.to_string())),
                            }
                        }
                    }
                    Ok(())
                })?;
                // Compare with the scan: a file written to while we read it may
                // be stored torn, and the operator must hear about it.
                let md = f.metadata()?;
                let changed = md.len() != e.size
                    || md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec() != e.mtime_ns
                    || n != e.size;
                Ok((n, changed))
            });
            Progress::add(&sh.progress.files_done, 1);
            let r = match outcome {
                Ok((size, changed)) => FileResult::Stored {
                    chunks: ids,
                    size,
                    changed,
                },
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    FileResult::Failed("vanished during the backup".into())
                }
                Err(err) => FileResult::Failed(format!("cannot read: {err}")),
            };
            results.push((idx, r));
        }
    }
    if !send(&mut frame_raw, &mut frame_chunks)? {
        sh.abort.store(true, Ordering::Relaxed);
    }
    Ok(results)
}

type PackOutput = (HashMap<ChunkId, NewLoc>, Vec<PackInfo>);

/// Appends frames to bounded packs; finished packs go to an uploader thread so
/// compression keeps running while a pack is written and synced.
fn pack_writer(
    plan: &BackupPlan<'_>,
    rx: Receiver<FrameMsg>,
    progress: &Progress,
    abort: &AtomicBool,
) -> Result<PackOutput, EngineError> {
    let (up_tx, up_rx) = sync_channel::<(u32, Vec<u8>)>(1);
    std::thread::scope(|s| {
        let uploader = s.spawn(move || -> Result<Vec<PackInfo>, EngineError> {
            let mut written = Vec::new();
            for (number, bytes) in up_rx.iter() {
                for (_, d) in &plan.dests {
                    d.put(&repo::pack_key(&plan.backup_id, number), &bytes)?;
                }
                Progress::add(&progress.stored, bytes.len() as u64);
                written.push(PackInfo {
                    number,
                    size: bytes.len() as u64,
                });
                stop::point("after-pack");
            }
            Ok(written)
        });
        let mut locs = HashMap::new();
        let mut pack = PackBuilder::default();
        let mut number = 0u32;
        let mut failed = false;
        for msg in rx.iter() {
            if progress.cancelled() {
                failed = true;
                break;
            }
            let off = pack.push(&msg.bytes);
            for (id, o, l) in msg.chunks {
                locs.insert(
                    id,
                    NewLoc {
                        pack: number,
                        frame_offset: off,
                        frame_len: msg.bytes.len() as u32,
                        offset: o,
                        len: l,
                    },
                );
            }
            if pack.is_full() {
                if up_tx
                    .send((number, std::mem::take(&mut pack).into_bytes()))
                    .is_err()
                {
                    failed = true;
                    break;
                }
                number += 1;
            }
        }
        if !failed && !pack.is_empty() {
            let _ = up_tx.send((number, pack.into_bytes()));
        }
        drop(up_tx);
        if failed {
            // Dropping the receiver makes every blocked worker's send fail, so they stop.
            abort.store(true, Ordering::Relaxed);
            drop(rx);
        }
        let written = uploader.join().unwrap_or_else(|_| {
            Err(EngineError::Io {
                op: "write packs of",
                path: std::path::PathBuf::from(&plan.backup_id),
                source: std::io::Error::other("pack uploader panicked"),
            })
        });
        match written {
            Err(e) => {
                abort.store(true, Ordering::Relaxed);
                Err(e)
            }
            Ok(_) if progress.cancelled() => Err(EngineError::Cancelled),
            Ok(w) => Ok((locs, w)),
        }
    })
}
