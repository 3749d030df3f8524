//! Taking one backup: scan, reuse unchanged files from the parent, read and
//! chunk the rest on a worker pool, write packs, then manifest, then COMMIT.

use super::chunk::ChunkerParams;
use super::error::EngineError;
use super::manifest::{ChunkId, Entry, EntryKind, Manifest};
use super::repo::{self, CommitMarker};
use super::scan::{self, Excludes, ScanKind, display_path};
use super::stop;
use super::store::{self, FileResult};
use super::table::TableBuilder;
use crate::dest::NamedDest;
use crate::model::{BackupKind, BackupRecord, BackupStatus, EntryError, SourceConfig, TaskConfig};
use crate::progress::{Phase, Progress};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Everything needed to take one backup.
pub struct BackupPlan<'a> {
    /// Id reserved for the backup (its data lives under this id).
    pub backup_id: String,
    /// The claim this run holds on `backups/<backup_id>/` on every destination.
    pub claim: &'a repo::Claim,
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

/// Takes the backup described by `plan`. On failure or cancellation what the
/// run wrote is removed again, on each destination only where its claim
/// proves the directory is its own.
pub fn run(plan: &BackupPlan<'_>, progress: &Progress) -> Result<BackupRecord, EngineError> {
    let result = run_inner(plan, progress);
    if result.is_err() {
        for (_, d) in &plan.dests {
            let _ = repo::release(d.as_ref(), plan.claim);
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
    // Unchanged files (same size, mtime, ctime and inode) reuse the parent's
    // chunk list without being read. Both lists are sorted by path, so one
    // merge pass pairs them without hashing 50,000 paths.
    let mut reused: Vec<u32> = vec![u32::MAX; entries.len()];
    let mut jobs = Vec::new();
    let mut bytes_total = 0u64;
    let mut pi = 0usize;
    for (i, e) in entries.iter().enumerate() {
        while pi < parent.entries.len() && parent.entries[pi].path < e.path {
            pi += 1;
        }
        if e.kind != ScanKind::File {
            continue;
        }
        if let Some(p) = parent.entries.get(pi)
            && p.path == e.path
            && matches!(p.kind, EntryKind::File { .. })
            && p.size == e.size
            && p.mtime_ns == e.mtime_ns
            && p.ctime_ns == e.ctime_ns
            && p.inode == e.inode
        {
            reused[i] = pi as u32;
            continue;
        }
        jobs.push(i);
        bytes_total += e.size;
    }
    // The id index of the parent's chunks is only needed to deduplicate new data.
    let parent_ids: FxHashMap<ChunkId, usize> = if jobs.is_empty() {
        FxHashMap::default()
    } else {
        parent
            .chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect()
    };
    progress
        .files_total
        .store(jobs.len() as u64, Ordering::Relaxed);
    progress.bytes_total.store(bytes_total, Ordering::Relaxed);
    progress.set_phase(Phase::Store);

    let stored = store::store(plan, &entries, &jobs, &parent_ids, progress)?;
    let (new_locs, packs_written, file_results) = (stored.locs, stored.packs, stored.files);
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }

    progress.set_phase(Phase::Commit);
    // Assemble the manifest: entries in path order, chunk table in first-use order.
    let mut tb = TableBuilder::new(
        &plan.backup_id,
        parent,
        &parent_ids,
        &new_locs,
        &packs_written,
    );

    let mut warnings = Vec::new();
    let mut out_entries = Vec::with_capacity(entries.len());
    // Only names that other entries hard-link to need tracking (usually none).
    let link_targets: HashSet<&[u8]> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            ScanKind::HardLink(t) => Some(t.as_slice()),
            _ => None,
        })
        .collect();
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
                let (list, size) = if reused[i] != u32::MAX {
                    let EntryKind::File { chunks } = &parent.entries[reused[i] as usize].kind
                    else {
                        continue;
                    };
                    let mut list = Vec::with_capacity(chunks.len());
                    for &c in chunks {
                        list.push(tb.inherited(c as usize)?);
                    }
                    (list, e.size)
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
                            let mut list = Vec::with_capacity(chunks.len());
                            for id in chunks {
                                list.push(tb.by_id(*id)?);
                            }
                            (list, *size)
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
                if link_targets.contains(e.path.as_slice()) {
                    stored_paths.insert(&e.path);
                }
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
        packs: tb.packs,
        chunks: tb.table,
        entries: out_entries,
    };
    let entry_count = manifest.entries.len() as u64;
    // Level 1: manifests are mostly hashes and paths, where higher levels buy
    // little and cost the no-change backup its time budget.
    let bytes = manifest.encode(1).map_err(|e| EngineError::Io {
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
