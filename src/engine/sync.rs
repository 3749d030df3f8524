//! Copying one committed backup from an intact copy to a destination that
//! lacks it (`strata backup sync`), without reading the source again: its
//! packs, then its manifest, each checked on the way, then its commit marker
//! last, so a copy interrupted at any point never looks complete.

use super::error::EngineError;
use super::fetch::{read_chunk, read_frame};
use super::repo::{self, Claim, ClaimOutcome};
use super::repository::Repository;
use crate::progress::{Phase, Progress};
use std::collections::BTreeMap;

/// What a sync copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Packs copied.
    pub packs: u64,
    /// Bytes written (packs and manifest).
    pub bytes: u64,
    /// Chunks read back from the new copy and hashed.
    pub chunks_checked: u64,
}

/// Copies backup `claim.backup` from `from` to `to`. The backups it reads
/// from must already be complete on `to` (the caller syncs a chain oldest
/// first). On failure what this sync wrote on `to` is removed again.
pub fn copy_backup(
    from: &Repository,
    to: &Repository,
    claim: &Claim,
    manifest_hash: &str,
    progress: &Progress,
) -> Result<SyncStats, EngineError> {
    let id = claim.backup.as_str();
    let failed = |what: String| EngineError::Damaged {
        backup: id.to_string(),
        what,
    };
    let Some(marker) = from.read_commit(id)? else {
        return Err(failed(format!(
            "it has no commit marker on {}, so it cannot be copied from there",
            from.describe()
        )));
    };
    let manifest = from.read_manifest(id, manifest_hash)?;
    // The copy keeps the manifest, so its chunk ids: `to` must make them the same way.
    super::sealed::common_layout(&[from.clone(), to.clone()])?;
    match to.claim(claim)? {
        ClaimOutcome::Claimed => {}
        ClaimOutcome::Taken => {
            return Err(failed(format!(
                "{} already holds data under this id that another run wrote; run 'strata verify {id}' and remove it there before syncing",
                to.describe()
            )));
        }
    }
    let result = copy_objects(from, to, id, &marker, &manifest, progress);
    if result.is_err() {
        let _ = to.release(claim);
    }
    result
}

fn copy_objects(
    from: &Repository,
    to: &Repository,
    id: &str,
    marker: &repo::CommitMarker,
    manifest: &super::manifest::Manifest,
    progress: &Progress,
) -> Result<SyncStats, EngineError> {
    progress.set_phase(Phase::Store);
    let mut stats = SyncStats::default();
    // Frames this backup owns, per pack, as stored: an encrypted copy
    // re-seals each for its own repository id.
    let mut owned: BTreeMap<u32, Vec<(u64, u32)>> = BTreeMap::new();
    for c in &manifest.chunks {
        if let Some(p) = manifest.packs.get(c.pack as usize)
            && p.backup == id
        {
            owned
                .entry(p.number)
                .or_default()
                .push((c.frame_offset, c.frame_len));
        }
    }
    for frames in owned.values_mut() {
        frames.sort_unstable();
        frames.dedup();
    }
    progress.bytes_total.store(
        marker.packs.iter().map(|p| p.size).sum(),
        std::sync::atomic::Ordering::Relaxed,
    );
    for p in &marker.packs {
        if progress.cancelled() {
            return Err(EngineError::Cancelled);
        }
        let key = repo::pack_key(id, p.number);
        let bytes = from.storage().get(&key)?;
        if bytes.len() as u64 != p.size {
            return Err(EngineError::Damaged {
                backup: id.to_string(),
                what: format!(
                    "pack {key} on {} is {} bytes, {} committed; copy from another destination",
                    from.describe(),
                    bytes.len(),
                    p.size
                ),
            });
        }
        let bytes = match (from.keys(), to.keys()) {
            (Some(a), Some(b)) => {
                let frames = owned.get(&p.number).map_or(&[][..], Vec::as_slice);
                super::sealed::reseal_pack(a, b, &key, &bytes, frames).map_err(|why| {
                    EngineError::Damaged {
                        backup: id.to_string(),
                        what: format!(
                            "{why} on {}; copy from another destination",
                            from.describe()
                        ),
                    }
                })?
            }
            _ => bytes,
        };
        to.put_stored_pack(id, p.number, &bytes)?;
        super::stop::point("sync-after-pack");
        stats.packs += 1;
        stats.bytes += p.size;
        Progress::add(&progress.bytes_done, p.size);
    }
    // Read back every chunk this backup owns from the new copy: what it copied
    // must restore, byte for byte, before the copy may look complete.
    progress.set_phase(Phase::Verify);
    let own: Vec<u32> = manifest
        .packs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.backup == id)
        .filter_map(|(i, _)| u32::try_from(i).ok())
        .collect();
    let mut frames: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
    for (i, c) in manifest.chunks.iter().enumerate() {
        if own.contains(&c.pack) {
            frames.entry((c.pack, c.frame_offset)).or_default().push(i);
        }
    }
    let ids = to.ids();
    for idxs in frames.values() {
        let first = &manifest.chunks[idxs[0]];
        let frame = read_frame(manifest, to, first).map_err(|why| EngineError::Damaged {
            backup: id.to_string(),
            what: format!(
                "the new copy on {} does not read back: {why}",
                to.describe()
            ),
        })?;
        for &i in idxs {
            read_chunk(&frame, manifest, &manifest.chunks[i], &ids).map_err(|why| {
                EngineError::Damaged {
                    backup: id.to_string(),
                    what: format!(
                        "the new copy on {} does not read back: {why}",
                        to.describe()
                    ),
                }
            })?;
            stats.chunks_checked += 1;
        }
    }
    // Plaintext out of `from`, sealed again for `to` when it is encrypted.
    let manifest_bytes = from.get_object(id, &repo::manifest_key(id))?;
    to.put_manifest(id, &manifest_bytes)?;
    stats.bytes += manifest_bytes.len() as u64;
    let commit = from.get_object(id, &repo::commit_key(id))?;
    to.put_commit(id, &commit)?;
    super::stop::point("sync-after-commit");
    progress.set_phase(Phase::Done);
    Ok(stats)
}
