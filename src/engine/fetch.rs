//! Fetching chunk bytes: read a frame from its pack, decode it, and check each
//! chunk's hash. Shared by restore and verify. A restore reads each chunk
//! from the preferred copy and falls back, per chunk, to the next copy that
//! holds it intact.

use super::chunk::hex;
use super::frame;
use super::manifest::{ChunkRef, Manifest};
use super::repo;
use super::repository::Repository;
use super::sealed::Ids;
use super::shared_frames::{Fallback, FrameKey, Lookup, SharedFrames};
use crate::source::display_path;
use std::sync::Arc;

/// Fallback lines kept in a report; the count goes on beyond them.
pub(super) const FALLBACK_LINES: usize = 100;

/// Small per-worker cache of decoded frames: neighbouring small files share
/// frames. Behind it, when given, the frames the other workers decoded.
pub(super) struct FrameCache<'r> {
    slots: Vec<(FrameKey, Fallback, Arc<Vec<u8>>)>,
    dctx: Option<zstd::bulk::Decompressor<'static>>,
    shared: Option<&'r SharedFrames>,
}

/// One chunk's bytes, inside the decoded frame that holds them.
pub(super) struct Chunk {
    frame: Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl Chunk {
    /// The chunk's bytes, already checked against its BLAKE3.
    pub(super) fn bytes(&self) -> &[u8] {
        self.frame.get(self.range.clone()).unwrap_or_default()
    }
}

/// One restore worker's reader of chunks from the copies of a backup,
/// preferred first, with the fallbacks it had to take.
pub(super) struct CopyReader<'r> {
    cache: FrameCache<'r>,
    repos: &'r [Repository],
    /// One line per fallback, at most [`FALLBACK_LINES`].
    pub(super) fallbacks: Vec<String>,
    /// Every fallback, listed or not.
    pub(super) fallback_count: u64,
}

impl<'r> CopyReader<'r> {
    /// A reader over `repos`, the preferred copy first.
    pub(super) fn new(repos: &'r [Repository]) -> CopyReader<'r> {
        CopyReader::sharing(repos, None)
    }

    /// A reader over `repos` that reads each frame once with the other
    /// readers of `shared`.
    pub(super) fn sharing(
        repos: &'r [Repository],
        shared: Option<&'r SharedFrames>,
    ) -> CopyReader<'r> {
        CopyReader {
            cache: FrameCache::new(shared),
            repos,
            fallbacks: Vec::new(),
            fallback_count: 0,
        }
    }

    /// The frames this reader shares with others, for a prefetching
    /// thread's reader to share them too.
    pub(super) fn shared(&self) -> Option<&'r SharedFrames> {
        self.cache.shared
    }

    /// Takes over another reader's fallbacks (a prefetching thread's), keeping the list bounded.
    pub(super) fn absorb(&mut self, other: CopyReader<'_>) {
        let room = FALLBACK_LINES.saturating_sub(self.fallbacks.len());
        self.fallbacks
            .extend(other.fallbacks.into_iter().take(room));
        self.fallback_count += other.fallback_count;
    }

    /// Chunk `c` of the file at `path`, from the first copy that holds it
    /// intact; an error only when no copy does.
    pub(super) fn chunk(
        &mut self,
        m: &Manifest,
        c: &ChunkRef,
        path: &[u8],
    ) -> Result<Chunk, String> {
        let (chunk, fallback) = self.cache.chunk(m, self.repos, c)?;
        if let Some((i, why)) = fallback {
            self.fallback_count += 1;
            if self.fallbacks.len() < FALLBACK_LINES {
                let from = self.repos.get(i).map_or("?", |r| r.name());
                self.fallbacks.push(format!(
                    "chunk {} of {} read from {from}: {why}",
                    &hex(&c.id)[..16],
                    display_path(path)
                ));
            }
        }
        Ok(chunk)
    }
}

impl<'r> FrameCache<'r> {
    fn new(shared: Option<&'r SharedFrames>) -> FrameCache<'r> {
        FrameCache {
            slots: Vec::new(),
            dctx: zstd::bulk::Decompressor::new().ok(),
            shared,
        }
    }

    fn cached(&mut self, key: FrameKey) -> Option<(Fallback, Arc<Vec<u8>>)> {
        let i = self.slots.iter().position(|(k, _, _)| *k == key)?;
        let slot = self.slots.remove(i);
        let found = (slot.1.clone(), slot.2.clone());
        self.slots.push(slot);
        Some(found)
    }

    fn keep(&mut self, key: FrameKey, from: Fallback, data: Arc<Vec<u8>>) {
        self.slots.retain(|(k, _, _)| *k != key);
        if self.slots.len() >= 8 {
            self.slots.remove(0);
        }
        self.slots.push((key, from, data));
    }

    /// Chunk `c` from the cached frame or the first of `repos` whose frame
    /// holds it intact, with the fallback taken when that was not the first.
    fn chunk(
        &mut self,
        m: &Manifest,
        repos: &[Repository],
        c: &ChunkRef,
    ) -> Result<(Chunk, Fallback), String> {
        let key = (c.pack, c.frame_offset);
        let mut why: Option<String> = None;
        let mut tried = None;
        // Every copy of one backup shares its manifest, so its chunk ids.
        let ids = repos.first().map_or(Ids::Plain, Repository::ids);
        let mut claim = None;
        let hit = match (self.cached(key), self.shared) {
            (Some(h), _) => Some(h),
            (None, Some(shared)) => match shared.get_or_claim(key) {
                Lookup::Hit(from, frame) => {
                    self.keep(key, from.clone(), frame.clone());
                    Some((from, frame))
                }
                Lookup::Claimed(c) => {
                    claim = Some(c);
                    None
                }
            },
            (None, None) => None,
        };
        if let Some((from, frame)) = hit {
            match locate(&frame, m, c, &ids) {
                Ok(range) => return Ok((Chunk { frame, range }, from)),
                Err(e) => {
                    why = Some(e);
                    tried = Some(from.map_or(0, |(i, _)| i));
                }
            }
        }
        let mut last = None;
        for (i, r) in repos.iter().enumerate() {
            if tried == Some(i) {
                continue;
            }
            let got = read_frame_with(self.dctx.as_mut(), m, r, c)
                .and_then(|f| locate(&f, m, c, &ids).map(|range| (f, range)));
            match got {
                Ok((frame, range)) => {
                    let frame = Arc::new(frame);
                    let from = (i > 0).then(|| (i, why.take().unwrap_or_default()));
                    self.keep(key, from.clone(), frame.clone());
                    if let Some(c) = claim.take() {
                        c.fill(from.clone(), frame.clone());
                    }
                    return Ok((Chunk { frame, range }, from));
                }
                Err(e) if why.is_none() => why = Some(e),
                Err(e) => last = Some(format!("{} on {}", e, r.name())),
            }
        }
        let why = why.unwrap_or_else(|| "no repository to read it from".into());
        Err(match last {
            Some(other) => format!("{why}; no other copy has it intact either ({other})"),
            None => why,
        })
    }
}

/// Reads (opens, in an encrypted repository) and decodes the frame holding
/// `c`; the error text names the pack.
pub fn read_frame(m: &Manifest, repo: &Repository, c: &ChunkRef) -> Result<Vec<u8>, String> {
    read_frame_with(None, m, repo, c)
}

fn read_frame_with(
    dctx: Option<&mut zstd::bulk::Decompressor<'static>>,
    m: &Manifest,
    repo: &Repository,
    c: &ChunkRef,
) -> Result<Vec<u8>, String> {
    let p = m
        .packs
        .get(c.pack as usize)
        .ok_or_else(|| format!("chunk refers to pack #{} which the manifest lacks", c.pack))?;
    let key = repo::pack_key(&p.backup, p.number);
    let bytes = repo.read_frame_bytes(&key, c.frame_offset, u64::from(c.frame_len))?;
    let decoded = match dctx {
        Some(d) => frame::decode_with(d, &bytes),
        None => frame::decode(&bytes),
    };
    decoded.map_err(|e| format!("{key} at offset {}: {e}", c.frame_offset))
}

/// Fetches one chunk and checks its id (made as `ids` makes them).
pub fn read_chunk<'f>(
    cache_frame: &'f [u8],
    m: &Manifest,
    c: &ChunkRef,
    ids: &Ids,
) -> Result<&'f [u8], String> {
    let range = locate(cache_frame, m, c, ids)?;
    cache_frame
        .get(range)
        .ok_or_else(|| "chunk lies outside its frame".to_string())
}

/// Where chunk `c` lies in its decoded frame, once its BLAKE3 is checked.
fn locate(
    frame: &[u8],
    m: &Manifest,
    c: &ChunkRef,
    ids: &Ids,
) -> Result<std::ops::Range<usize>, String> {
    let pack_name = || {
        m.packs.get(c.pack as usize).map_or_else(
            || format!("pack #{}", c.pack),
            |p| repo::pack_key(&p.backup, p.number),
        )
    };
    let range = c.offset as usize..c.offset as usize + c.len as usize;
    let data = frame.get(range.clone()).ok_or_else(|| {
        format!(
            "chunk {} lies outside its frame in {}",
            &hex(&c.id)[..16],
            pack_name()
        )
    })?;
    if ids.of(data) != c.id {
        return Err(format!(
            "chunk {} in {} is damaged (hash mismatch)",
            &hex(&c.id)[..16],
            pack_name()
        ));
    }
    Ok(range)
}
