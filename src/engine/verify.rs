//! Verification: structure (commit marker, manifest, packs, chain) and, with
//! `read_data`, decoding and hashing every chunk a restore would need.

use super::fetch::{read_chunk, read_frame};
use super::manifest::{EntryKind, Manifest};
use super::pack;
use super::progress::{Phase, Progress};
use super::repo;
use super::scan::display_path;
use crate::core::model::BackupRecord;
use crate::dest::{DestError, Destination};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

/// Chunks and bytes checked in one frame, and the chunks that failed.
type FrameTally = (u64, u64, Vec<(usize, String)>);

/// Findings of one backup on one destination.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Backup id.
    pub backup: String,
    /// Destination description.
    pub destination: String,
    /// Whether chunk data was read.
    pub read_data: bool,
    /// Chunks decoded and hashed.
    pub chunks_checked: u64,
    /// Bytes of chunk data hashed.
    pub bytes_checked: u64,
    /// One sentence per problem, naming the file or object.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies `rec` on `dest`. Problems are collected, not returned as errors, so
/// one run reports everything wrong at once.
pub fn verify(
    dest: &dyn Destination,
    rec: &BackupRecord,
    read_data: bool,
    progress: &Progress,
) -> VerifyReport {
    progress.set_phase(Phase::Verify);
    let mut r = VerifyReport {
        backup: rec.id.clone(),
        destination: dest.describe(),
        read_data,
        ..Default::default()
    };
    match repo::read_commit(dest, &rec.id) {
        Ok(Some(c)) if c.manifest_hash != rec.manifest_hash => r.problems.push(format!(
            "backup {}: commit marker names manifest {} but the catalog recorded {}",
            rec.id,
            &c.manifest_hash[..c.manifest_hash.len().min(16)],
            &rec.manifest_hash[..rec.manifest_hash.len().min(16)]
        )),
        Ok(Some(_)) => {}
        Ok(None) => r.problems.push(format!(
            "backup {}: commit marker {} is missing",
            rec.id,
            repo::commit_key(&rec.id)
        )),
        Err(e) => r.problems.push(e.to_string()),
    }
    let m = match repo::read_manifest(dest, &rec.id, &rec.manifest_hash) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(e.to_string());
            return r;
        }
    };
    if let Some(parent) = &m.parent {
        match repo::read_commit(dest, parent) {
            Ok(Some(_)) => {}
            Ok(None) => r.problems.push(format!(
                "backup {}: its parent {parent} has no commit marker on {}; the chain is broken",
                rec.id,
                dest.describe()
            )),
            Err(e) => r.problems.push(e.to_string()),
        }
    }
    for p in &m.packs {
        let key = repo::pack_key(&p.backup, p.number);
        match dest.size(&key) {
            Ok(Some(s)) if s == p.size => match dest.get_range(&key, 0, pack::PACK_HEADER as u64) {
                Ok(h) if pack::check_header(&h) => {}
                Ok(_) => r.problems.push(format!(
                    "backup {}: pack {key} has a damaged header",
                    rec.id
                )),
                Err(e) => r
                    .problems
                    .push(format!("backup {}: pack {key}: {e}", rec.id)),
            },
            Ok(Some(s)) => r.problems.push(format!(
                "backup {}: pack {key} is {s} bytes, {} expected",
                rec.id, p.size
            )),
            Ok(None) => r
                .problems
                .push(format!("backup {}: pack {key} is missing", rec.id)),
            Err(e) => r
                .problems
                .push(format!("backup {}: pack {key}: {e}", rec.id)),
        }
    }
    for c in &m.chunks {
        let p = &m.packs[c.pack as usize];
        if c.frame_offset + u64::from(c.frame_len) > p.size {
            r.problems.push(format!(
                "backup {}: a chunk lies beyond the end of pack {}",
                rec.id,
                repo::pack_key(&p.backup, p.number)
            ));
            break;
        }
    }
    if read_data {
        read_all(dest, &m, &mut r, progress);
    }
    progress.set_phase(Phase::Done);
    r
}

fn read_all(dest: &dyn Destination, m: &Manifest, r: &mut VerifyReport, progress: &Progress) {
    // One read per frame, however many chunks it holds.
    let mut frames: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
    for (i, c) in m.chunks.iter().enumerate() {
        frames.entry((c.pack, c.frame_offset)).or_default().push(i);
    }
    progress.bytes_total.store(
        m.chunks.iter().map(|c| u64::from(c.len)).sum(),
        Ordering::Relaxed,
    );
    let frames: Vec<_> = frames.into_iter().collect();
    let results: Vec<FrameTally> = frames
        .par_iter()
        .map(|(_, idxs)| {
            let first = &m.chunks[idxs[0]];
            match read_frame(m, dest, first) {
                Ok(frame) => {
                    let mut bad = Vec::new();
                    let (mut n, mut bytes) = (0, 0);
                    for &i in idxs {
                        match read_chunk(&frame, m, &m.chunks[i]) {
                            Ok(d) => {
                                n += 1;
                                bytes += d.len() as u64;
                                Progress::add(&progress.bytes_done, d.len() as u64);
                            }
                            Err(e) => bad.push((i, e)),
                        }
                    }
                    (n, bytes, bad)
                }
                Err(e) => (0, 0, idxs.iter().map(|&i| (i, e.clone())).collect()),
            }
        })
        .collect();
    let mut bad_chunks: HashMap<usize, String> = HashMap::new();
    for (n, b, bad) in results {
        r.chunks_checked += n;
        r.bytes_checked += b;
        bad_chunks.extend(bad);
    }
    if bad_chunks.is_empty() {
        return;
    }
    // Name the files a restore would lose, which is what an operator needs to know.
    let mut named = 0usize;
    for e in &m.entries {
        if let EntryKind::File { chunks } = &e.kind
            && let Some(why) = chunks.iter().find_map(|c| bad_chunks.get(&(*c as usize)))
        {
            named += 1;
            if named <= 100 {
                r.problems.push(format!(
                    "backup {}: file {} is damaged: {why}",
                    m.backup_id,
                    display_path(&e.path)
                ));
            }
        }
    }
    if named > 100 {
        r.problems.push(format!(
            "backup {}: {} more damaged files not listed",
            m.backup_id,
            named - 100
        ));
    }
    if named == 0 {
        for why in bad_chunks.values().take(10) {
            r.problems.push(format!("backup {}: {why}", m.backup_id));
        }
    }
}

/// Whether an error is "object missing" (for callers that treat absence specially).
pub fn is_missing(e: &DestError) -> bool {
    matches!(e, DestError::NotFound { .. })
}
