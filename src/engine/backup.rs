//! Taking one backup: begin the source, list its entries, reuse unchanged
//! files from the parent, read and chunk the rest on a worker pool, write
//! packs, then the manifest, then COMMIT, on each destination's copy.

use super::chunk::ChunkerParams;
use super::copies::{BackupDone, Copies};
use super::error::EngineError;
use super::manifest::{ChunkId, Entry, EntryKind, Manifest};
use super::repo::{self, CommitMarker, PackInfo};
use super::repository::Repository;
use super::stop;
use super::store::{self, FileResult};
use super::table::TableBuilder;
use crate::model::{BackupKind, BackupRecord, BackupStatus, EntryError, TaskConfig};
use crate::progress::{Phase, Progress};
use crate::source::{Source, SourceKind, SourceRun, display_path};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Everything needed to take one backup.
pub struct BackupPlan<'a> {
    /// Id reserved for the backup (its data lives under this id).
    pub backup_id: String,
    /// The claim this run holds on `backups/<backup_id>/` on every repository.
    pub claim: &'a repo::Claim,
    /// Name of the task, recorded in the manifest.
    pub task: &'a str,
    /// Effective kind.
    pub kind: BackupKind,
    /// Parent record and its manifest (incremental/differential).
    pub parent: Option<(&'a BackupRecord, &'a Manifest)>,
    /// Run start.
    pub started: DateTime<Utc>,
    /// Repositories to write to, one copy each, in order.
    pub repos: &'a [Repository],
    /// Copies that must complete for the backup to count (1..=repos.len()).
    pub required: usize,
    /// Chunker sizes of the repositories.
    pub chunker: ChunkerParams,
    /// zstd level of the data.
    pub compression_level: i32,
    /// Worker threads.
    pub threads: usize,
}

/// What a backup stored, for the caller to describe in its records.
#[derive(Debug, Clone)]
pub struct BackupStats {
    /// The chain the backup belongs to (its own id for a full).
    pub chain: String,
    /// Bytes a restore writes.
    pub logical_bytes: u64,
    /// Bytes written to each repository (packs and manifest).
    pub stored_bytes: u64,
    /// Files stored.
    pub file_count: u64,
    /// Entries in the manifest.
    pub entry_count: u64,
    /// Files read because they were new or changed.
    pub changed_files: u64,
    /// Entries that could not be backed up (a backup with any is partial).
    pub errors: Vec<EntryError>,
    /// Entries stored with a caveat (changed while read, the source's notes).
    pub warnings: Vec<EntryError>,
    /// BLAKE3 of the manifest, hex.
    pub manifest_hash: String,
    /// Size of the manifest.
    pub manifest_size: u64,
    /// Packs written.
    pub packs: Vec<PackInfo>,
}

impl BackupStats {
    /// Complete, or partial when some entry could not be backed up.
    pub fn status(&self) -> BackupStatus {
        if self.errors.is_empty() {
            BackupStatus::Complete
        } else {
            BackupStatus::Partial
        }
    }
}

/// What the caller records about the backup in its commit marker, so a
/// catalog rebuild finds it: the backup's record and the task's definition.
pub struct Described {
    /// The backup's catalog record.
    pub record: BackupRecord,
    /// The task definition when the backup was taken.
    pub task: TaskConfig,
}

/// Takes the backup described by `plan` from `source`, one copy per
/// repository. Once the data and manifest are stored, `describe` turns the
/// stats into what the commit marker carries; the marker is then written on
/// every copy that holds all the rest. A copy whose destination fails is
/// dropped from the run; when fewer than `plan.required` copies are left the
/// run stops with [`EngineError::Copies`]. On failure or cancellation what the
/// run wrote is removed again (and on the failed copies of a successful run),
/// on each repository only where its claim proves the directory is its own.
pub fn run(
    plan: &BackupPlan<'_>,
    source: &dyn Source,
    progress: &Progress,
    describe: impl FnOnce(&BackupStats) -> Described,
) -> Result<BackupDone, EngineError> {
    let copies = Copies::new(plan.repos, plan.required);
    let result = run_inner(plan, &copies, source, progress, describe);
    // Best effort: a destination that just failed may refuse the removal too,
    // and recovery or the next run's claim deals with what is left.
    for (i, r) in plan.repos.iter().enumerate() {
        if result.is_err() || !copies.healthy(i) {
            let _ = r.release(plan.claim);
        }
    }
    let marker = result?;
    Ok(BackupDone {
        marker,
        copies: copies.results(),
    })
}

fn run_inner(
    plan: &BackupPlan<'_>,
    copies: &Copies<'_>,
    source: &dyn Source,
    progress: &Progress,
    describe: impl FnOnce(&BackupStats) -> Described,
) -> Result<CommitMarker, EngineError> {
    copies.check()?;
    // One manifest serves every copy: the repositories must agree on how
    // chunk ids and frames are made before anything is read.
    let layout = super::sealed::common_layout(plan.repos)?;
    let what = source.describe();
    let mut run: Box<dyn SourceRun> = source.begin()?;
    progress.set_phase(Phase::Scan);
    let listing = run.entries()?;
    let mut errors = listing.errors;
    let entries = listing.entries;
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
    // chunk list without being read; a stream, whose size is unknown until
    // read, never matches. Both lists are sorted by path, so one
    // merge pass pairs them without hashing 50,000 paths.
    let mut reused: Vec<u32> = vec![u32::MAX; entries.len()];
    let mut jobs = Vec::new();
    let mut bytes_total = 0u64;
    let mut pi = 0usize;
    for (i, e) in entries.iter().enumerate() {
        while pi < parent.entries.len() && parent.entries[pi].path < e.path {
            pi += 1;
        }
        if e.kind != SourceKind::File {
            continue;
        }
        if let Some(p) = parent.entries.get(pi)
            && p.path == e.path
            && matches!(p.kind, EntryKind::File { .. })
            && Some(p.size) == e.size
            && p.mtime_ns == e.mtime_ns
            && p.ctime_ns == e.ctime_ns
            && p.inode == e.inode
        {
            reused[i] = pi as u32;
            continue;
        }
        jobs.push(i);
        bytes_total += e.size.unwrap_or(0);
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

    let stored = store::store(
        plan,
        copies,
        run.as_ref(),
        &what,
        &entries,
        &jobs,
        &parent_ids,
        &layout,
        progress,
    )?;
    let (new_locs, packs_written, file_results) = (stored.locs, stored.packs, stored.files);
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }
    // Only now, with every entry read, does a source know how it went (a
    // dump command's exit status): its failure fails the backup.
    let report = run.finish()?;

    progress.set_phase(Phase::Commit);
    // Assemble the manifest: entries in path order, chunk table in first-use order.
    let mut tb = TableBuilder::new(
        &plan.backup_id,
        parent,
        &parent_ids,
        &new_locs,
        &packs_written,
    );

    let mut warnings = report.warnings;
    let mut out_entries = Vec::with_capacity(entries.len());
    // Only names that other entries hard-link to need tracking (usually none).
    let link_targets: HashSet<&[u8]> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            SourceKind::HardLink(t) => Some(t.as_slice()),
            _ => None,
        })
        .collect();
    let mut stored_paths: HashSet<&[u8]> = HashSet::new();
    let mut file_count = 0u64;
    let mut logical = 0u64;
    for (i, e) in entries.iter().enumerate() {
        let kind = match &e.kind {
            SourceKind::Dir => EntryKind::Dir,
            SourceKind::Symlink(t) => EntryKind::Symlink { target: t.clone() },
            SourceKind::HardLink(t) => {
                if !stored_paths.contains(t.as_slice()) {
                    errors.push(EntryError {
                        path: display_path(&e.path),
                        error: format!("hard link to {} which could not be read", display_path(t)),
                    });
                    continue;
                }
                EntryKind::HardLink { target: t.clone() }
            }
            SourceKind::File => {
                let (list, size) = if reused[i] != u32::MAX {
                    let EntryKind::File { chunks } = &parent.entries[reused[i] as usize].kind
                    else {
                        continue;
                    };
                    let mut list = Vec::with_capacity(chunks.len());
                    for &c in chunks {
                        list.push(tb.inherited(c as usize)?);
                    }
                    (list, e.size.unwrap_or(0))
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
        task: plan.task.to_string(),
        kind: plan.kind,
        parent: plan.parent.map(|(p, _)| p.id.clone()),
        chain: chain.clone(),
        created: plan.started.timestamp(),
        source: what.clone(),
        packs: tb.packs,
        chunks: tb.table,
        entries: out_entries,
    };
    let entry_count = manifest.entries.len() as u64;
    // Level 1: manifests are mostly hashes and paths, where higher levels buy
    // little and cost the no-change backup its time budget.
    let bytes = manifest.encode(1).map_err(|e| EngineError::Io {
        op: "compress manifest of",
        path: PathBuf::from(&what),
        source: e,
    })?;
    let manifest_hash = blake3::hash(&bytes).to_hex().to_string();
    copies.each(|r| r.put_manifest(&plan.backup_id, &bytes));
    copies.check()?;
    stop::point("after-manifest");

    let pack_bytes: u64 = packs_written.iter().map(|p| p.size).sum();
    let stats = BackupStats {
        chain,
        logical_bytes: logical,
        stored_bytes: pack_bytes + (bytes.len() + layout.overhead) as u64,
        file_count,
        entry_count,
        changed_files: jobs.len() as u64,
        errors,
        warnings,
        manifest_hash: manifest_hash.clone(),
        manifest_size: bytes.len() as u64,
        packs: packs_written,
    };
    let described = describe(&stats);
    let marker = CommitMarker {
        format: layout.format,
        backup: described.record,
        task: described.task,
        manifest_hash,
        manifest_size: stats.manifest_size,
        packs: stats.packs,
    };
    let marker_bytes = serde_json::to_vec_pretty(&marker).map_err(|e| EngineError::Io {
        op: "encode commit marker of",
        path: PathBuf::from(&what),
        source: std::io::Error::other(e),
    })?;
    if progress.cancelled() {
        return Err(EngineError::Cancelled);
    }
    // Only copies holding every pack and the manifest (each put durable) are
    // still healthy here, so no COMMIT ever vouches for missing data.
    copies.each(|r| r.put_commit(&plan.backup_id, &marker_bytes));
    copies.check()?;
    stop::point("after-commit-marker");
    progress.set_phase(Phase::Done);
    Ok(marker)
}

/// A catalog record for what a test backup stored (the core builds the real
/// ones; engine tests need one for the commit marker).
#[cfg(test)]
pub(crate) fn test_record(
    plan: &BackupPlan<'_>,
    stats: &BackupStats,
    task: &str,
    destinations: &[&str],
) -> BackupRecord {
    BackupRecord {
        id: plan.backup_id.clone(),
        task: task.into(),
        kind: plan.kind,
        manual: true,
        parent: None,
        chain: stats.chain.clone(),
        status: stats.status(),
        started: plan.started,
        finished: Utc::now(),
        logical_bytes: stats.logical_bytes,
        stored_bytes: stats.stored_bytes,
        file_count: stats.file_count,
        entry_count: stats.entry_count,
        changed_files: stats.changed_files,
        errors: stats.errors.clone(),
        warnings: stats.warnings.clone(),
        destinations: destinations.iter().map(|d| d.to_string()).collect(),
        manifest_hash: stats.manifest_hash.clone(),
        pinned: false,
        verified: None,
        copies: Vec::new(),
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
