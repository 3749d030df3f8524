//! Fetching chunk bytes: read a frame from its pack, decode it, and check each
//! chunk's hash. Shared by restore and verify.

use super::chunk::{chunk_id, hex};
use super::frame;
use super::manifest::{ChunkRef, Manifest};
use super::repo;
use crate::dest::Destination;
use std::sync::Arc;

/// (pack index, frame offset).
type FrameKey = (u32, u64);

/// Small per-worker cache of decoded frames: neighbouring small files share frames.
pub(super) struct FrameCache {
    slots: Vec<(FrameKey, Arc<Vec<u8>>)>,
    dctx: Option<zstd::bulk::Decompressor<'static>>,
}

impl FrameCache {
    pub(super) fn new() -> FrameCache {
        FrameCache {
            slots: Vec::new(),
            dctx: zstd::bulk::Decompressor::new().ok(),
        }
    }
}

impl FrameCache {
    pub(super) fn get(
        &mut self,
        m: &Manifest,
        dest: &dyn Destination,
        c: &ChunkRef,
    ) -> Result<Arc<Vec<u8>>, String> {
        let key = (c.pack, c.frame_offset);
        if let Some(i) = self.slots.iter().position(|(k, _)| *k == key) {
            let slot = self.slots.remove(i);
            let data = slot.1.clone();
            self.slots.push(slot);
            return Ok(data);
        }
        let data = Arc::new(read_frame_with(self.dctx.as_mut(), m, dest, c)?);
        if self.slots.len() >= 8 {
            self.slots.remove(0);
        }
        self.slots.push((key, data.clone()));
        Ok(data)
    }
}

/// Reads and decodes the frame holding `c`; the error text names the pack.
pub fn read_frame(m: &Manifest, dest: &dyn Destination, c: &ChunkRef) -> Result<Vec<u8>, String> {
    read_frame_with(None, m, dest, c)
}

fn read_frame_with(
    dctx: Option<&mut zstd::bulk::Decompressor<'static>>,
    m: &Manifest,
    dest: &dyn Destination,
    c: &ChunkRef,
) -> Result<Vec<u8>, String> {
    let p = m
        .packs
        .get(c.pack as usize)
        .ok_or_else(|| format!("chunk refers to pack #{} which the manifest lacks", c.pack))?;
    let key = repo::pack_key(&p.backup, p.number);
    let bytes = dest
        .get_range(&key, c.frame_offset, u64::from(c.frame_len))
        .map_err(|e| format!("{e}"))?;
    let decoded = match dctx {
        Some(d) => frame::decode_with(d, &bytes),
        None => frame::decode(&bytes),
    };
    decoded.map_err(|e| format!("{key} at offset {}: {e}", c.frame_offset))
}

/// Fetches one chunk and checks its hash.
pub fn read_chunk<'f>(
    cache_frame: &'f [u8],
    m: &Manifest,
    c: &ChunkRef,
) -> Result<&'f [u8], String> {
    let end = c.offset as usize + c.len as usize;
    let data = cache_frame.get(c.offset as usize..end).ok_or_else(|| {
        let p = &m.packs[c.pack as usize];
        format!(
            "chunk {} lies outside its frame in {}",
            &hex(&c.id)[..16],
            repo::pack_key(&p.backup, p.number)
        )
    })?;
    if chunk_id(data) != c.id {
        let p = &m.packs[c.pack as usize];
        return Err(format!(
            "chunk {} in {} is damaged (hash mismatch)",
            &hex(&c.id)[..16],
            repo::pack_key(&p.backup, p.number)
        ));
    }
    Ok(data)
}
