//! Verification: structure (commit marker, manifest, packs, chain) and, with
//! `read_data`, decoding and hashing every chunk a restore would need (or
//! those of a random sample of its packs, for scheduled checks that must not
//! read a whole repository every week).

use super::fetch::{read_chunk, read_frame};
use super::manifest::{EntryKind, Manifest};
use super::pack;
use super::repo;
use super::repository::Repository;
use super::validate;
use crate::dest::{DestError, Destination};
use crate::model::BackupRecord;
use crate::progress::{Phase, Progress};
use crate::source::display_path;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

/// Chunks and bytes checked in one frame, and the chunks that failed.
type FrameTally = (u64, u64, Vec<(usize, String)>);

/// Findings of one backup on one destination.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
    /// Packs whose chunk data was read.
    #[serde(default)]
    pub packs_read: u64,
    /// Packs the backup's restore reads.
    #[serde(default)]
    pub packs_total: u64,
    /// One sentence per problem, naming the file or object.
    pub problems: Vec<String>,
    /// Backups whose packs hold the missing or damaged data: every backup
    /// that reads from them is damaged too.
    #[serde(default)]
    pub damaged_owners: BTreeSet<String>,
}

impl VerifyReport {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies `rec` on `dest`, reading the chunk data of `sample` percent of
/// its packs (0: structure only, 100: every chunk). Problems are collected,
/// not returned as errors, so one run reports everything wrong at once.
pub fn verify(
    repository: &Repository,
    rec: &BackupRecord,
    sample: u8,
    progress: &Progress,
) -> VerifyReport {
    progress.set_phase(Phase::Verify);
    let read_data = sample > 0;
    let mut r = VerifyReport {
        backup: rec.id.clone(),
        destination: repository.describe(),
        read_data,
        ..Default::default()
    };
    let dest = repository.storage();
    let mkey = repo::manifest_key(&rec.id);
    let commit = match repository.read_commit(&rec.id) {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            r.problems.push(format!(
                "backup {}: commit marker {} is missing",
                rec.id,
                repo::commit_key(&rec.id)
            ));
            None
        }
        Err(e) => {
            r.problems.push(e.to_string());
            None
        }
    };
    if let Some(c) = &commit {
        check_commit(dest, rec, c, &mut r.problems);
    }
    let bytes = match dest.get(&mkey) {
        // An encrypted manifest is opened first: damage shows as a failed
        // authentication, and sizes and hashes are of the plaintext.
        Ok(b) => match repository.unseal(&rec.id, &mkey, b) {
            Ok(plain) => plain,
            Err(e) => {
                r.problems.push(e.to_string());
                return r;
            }
        },
        Err(e) => {
            r.problems.push(match e {
                DestError::NotFound { .. } => {
                    format!("backup {}: manifest {mkey} is missing", rec.id)
                }
                other => format!("backup {}: manifest {mkey} cannot be read: {other}", rec.id),
            });
            return r;
        }
    };
    if let Some(c) = &commit
        && c.manifest_size != bytes.len() as u64
    {
        r.problems.push(format!(
            "backup {}: manifest {mkey} is {} bytes but its commit marker records {}",
            rec.id,
            bytes.len(),
            c.manifest_size
        ));
    }
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if hash != rec.manifest_hash {
        r.problems.push(format!(
            "backup {}: manifest {mkey} is damaged (BLAKE3 {} but {} was committed); restore from another destination or delete this backup",
            rec.id,
            &hash[..16],
            &rec.manifest_hash[..rec.manifest_hash.len().min(16)]
        ));
        return r;
    }
    let m = match Manifest::decode(&bytes) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(format!(
                "backup {}: manifest {mkey} cannot be read: {e}",
                rec.id
            ));
            return r;
        }
    };
    let findings = validate::check(&m, &rec.id);
    for f in &findings {
        r.problems.push(format!(
            "backup {}: manifest {mkey} is invalid: {f}; restore refuses it",
            rec.id
        ));
    }
    if let Some(c) = &commit {
        check_own_packs(rec, c, &m, &mut r.problems);
    }
    // Every backup whose packs this one reads must still be committed here.
    let owners: BTreeSet<&str> = m
        .parent
        .iter()
        .map(String::as_str)
        .chain(m.packs.iter().map(|p| p.backup.as_str()))
        .filter(|o| *o != rec.id)
        .collect();
    for owner in owners {
        match repository.read_commit(owner) {
            Ok(Some(_)) => {}
            Ok(None) => r.problems.push(format!(
                "backup {}: backup {owner} that it depends on has no commit marker on {}; the chain is broken",
                rec.id,
                dest.describe()
            )),
            Err(e) => r.problems.push(e.to_string()),
        }
    }
    for p in &m.packs {
        let key = repo::pack_key(&p.backup, p.number);
        let before = r.problems.len();
        check_pack(dest, &rec.id, &key, p.size, &mut r.problems);
        if r.problems.len() > before {
            r.damaged_owners.insert(p.backup.clone());
        }
    }
    if read_data && !findings.is_empty() {
        r.problems.push(format!(
            "backup {}: chunk data was not read because the manifest is invalid",
            rec.id
        ));
        progress.set_phase(Phase::Done);
        return r;
    }
    r.packs_total = m.packs.len() as u64;
    if read_data {
        let packs = sampled_packs(m.packs.len(), sample);
        r.packs_read = packs.len() as u64;
        read_all(repository, &m, &packs, &mut r, progress);
    }
    progress.set_phase(Phase::Done);
    r
}

/// Indexes of the packs to read: all of them at 100 %, else a fresh random
/// choice of at least one, so successive sampled checks cover different packs.
fn sampled_packs(n: usize, sample: u8) -> BTreeSet<u32> {
    let all = (0..n).filter_map(|i| u32::try_from(i).ok());
    if sample >= 100 || n == 0 {
        return all.collect();
    }
    let want = (n * usize::from(sample)).div_ceil(100).clamp(1, n);
    let mut picked: Vec<u32> = all.collect();
    rand::seq::SliceRandom::shuffle(picked.as_mut_slice(), &mut rand::rng());
    picked.truncate(want);
    picked.into_iter().collect()
}

fn read_all(
    repository: &Repository,
    m: &Manifest,
    packs: &BTreeSet<u32>,
    r: &mut VerifyReport,
    progress: &Progress,
) {
    // One read per frame, however many chunks it holds.
    let mut frames: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
    for (i, c) in m.chunks.iter().enumerate() {
        if packs.contains(&c.pack) {
            frames.entry((c.pack, c.frame_offset)).or_default().push(i);
        }
    }
    progress.bytes_total.store(
        frames
            .values()
            .flatten()
            .map(|&i| u64::from(m.chunks[i].len))
            .sum(),
        Ordering::Relaxed,
    );
    let frames: Vec<_> = frames.into_iter().collect();
    let ids = repository.ids();
    let results: Vec<FrameTally> = frames
        .par_iter()
        .map(|(_, idxs)| {
            // A cancelled check stops reading; its run says so.
            if progress.cancelled() {
                return (0, 0, Vec::new());
            }
            let first = &m.chunks[idxs[0]];
            match read_frame(m, repository, first) {
                Ok(frame) => {
                    let mut bad = Vec::new();
                    let (mut n, mut bytes) = (0, 0);
                    for &i in idxs {
                        match read_chunk(&frame, m, &m.chunks[i], &ids) {
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
    for i in bad_chunks.keys() {
        let owner = m
            .chunks
            .get(*i)
            .and_then(|c| m.packs.get(c.pack as usize))
            .map_or_else(|| m.backup_id.clone(), |p| p.backup.clone());
        r.damaged_owners.insert(owner);
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

/// Checks a pack object's size (from the destination's listing, not its data)
/// and header against what the manifest or commit marker recorded.
fn check_pack(dest: &dyn Destination, id: &str, key: &str, size: u64, problems: &mut Vec<String>) {
    match dest.size(key) {
        Ok(Some(s)) if s == size => match dest.get_range(key, 0, pack::PACK_HEADER as u64) {
            Ok(h) if pack::check_header(&h) => {}
            Ok(_) => problems.push(format!("backup {id}: pack {key} has a damaged header")),
            Err(e) => problems.push(format!("backup {id}: pack {key}: {e}")),
        },
        Ok(Some(s)) => problems.push(format!(
            "backup {id}: pack {key} is {s} bytes, {size} expected"
        )),
        Ok(None) => problems.push(format!("backup {id}: pack {key} is missing")),
        Err(e) => problems.push(format!("backup {id}: pack {key}: {e}")),
    }
}

/// The commit marker against the catalog record and the objects it lists.
fn check_commit(
    dest: &dyn Destination,
    rec: &BackupRecord,
    c: &repo::CommitMarker,
    problems: &mut Vec<String>,
) {
    let ckey = repo::commit_key(&rec.id);
    if c.format > repo::SEALED_FORMAT {
        problems.push(format!(
            "backup {}: commit marker {ckey} has format {}, newer than this build reads ({})",
            rec.id,
            c.format,
            repo::SEALED_FORMAT
        ));
    }
    if c.backup.id != rec.id {
        problems.push(format!(
            "backup {}: commit marker {ckey} describes backup {}",
            rec.id, c.backup.id
        ));
    }
    if c.manifest_hash != rec.manifest_hash {
        problems.push(format!(
            "backup {}: commit marker {ckey} names manifest {} but the catalog recorded {}",
            rec.id,
            &c.manifest_hash[..c.manifest_hash.len().min(16)],
            &rec.manifest_hash[..rec.manifest_hash.len().min(16)]
        ));
    }
    let mut numbers = BTreeSet::new();
    for p in &c.packs {
        if !numbers.insert(p.number) {
            problems.push(format!(
                "backup {}: commit marker {ckey} lists pack {} twice",
                rec.id, p.number
            ));
            continue;
        }
        check_pack(
            dest,
            &rec.id,
            &repo::pack_key(&rec.id, p.number),
            p.size,
            problems,
        );
    }
}

/// The packs the manifest says this backup wrote must be the ones its commit
/// marker lists, with the same sizes.
fn check_own_packs(
    rec: &BackupRecord,
    c: &repo::CommitMarker,
    m: &Manifest,
    problems: &mut Vec<String>,
) {
    let committed: BTreeMap<u32, u64> = c.packs.iter().map(|p| (p.number, p.size)).collect();
    for p in m.packs.iter().filter(|p| p.backup == rec.id) {
        match committed.get(&p.number) {
            Some(&s) if s == p.size => {}
            Some(&s) => problems.push(format!(
                "backup {}: pack {} is {} bytes in the manifest but {s} in the commit marker",
                rec.id,
                repo::pack_key(&rec.id, p.number),
                p.size
            )),
            None => problems.push(format!(
                "backup {}: manifest refers to pack {} that its commit marker does not list",
                rec.id,
                repo::pack_key(&rec.id, p.number)
            )),
        }
    }
}

/// Whether an error is "object missing" (for callers that treat absence specially).
pub fn is_missing(e: &DestError) -> bool {
    matches!(e, DestError::NotFound { .. })
}
