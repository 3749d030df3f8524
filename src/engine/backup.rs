//! Taking one backup: scan, reuse unchanged files from the parent, read and
//! chunk the rest on a worker pool, write packs, then manifest, then COMMIT.

use super::chunk::ChunkerParams;
use super::error::EngineError;
use super::manifest::{ChunkId, ChunkRef, Entry, EntryKind, Manifest, PackRef};
use super::progress::{Phase, Progress};
use super::repo::{self, CommitMarker};
use super::scan::{self, Excludes, ScanKind, display_path};
use super::stop;
use super::store::{self, FileResult};
use crate::core::model::{
    BackupKind, BackupRecord, BackupStatus, EntryError, SourceConfig, TaskConfig,
};
use crate::dest::NamedDest;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;

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

pub(super) fn source_root(task: &TaskConfig) -> (&Path, &[String]) {
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

    let stored = store::store(plan, &entries, &jobs, &parent_chunks, progress)?;
    let (new_locs, packs_written, file_results) = (stored.locs, stored.packs, stored.files);
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
