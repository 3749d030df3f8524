//! How a repository's layout changes when it is encrypted (format 2): chunk
//! ids keyed by the repository's id subkey, packs whose frames are sealed
//! one by one at their stored offsets, and the rule that every copy of one
//! backup shares its manifest, so the repositories of one run must agree.

use super::crypto::{Keys, OVERHEAD};
use super::error::EngineError;
use super::manifest::ChunkId;
use super::pack::PACK_MAGIC;
use super::repository::Repository;
use std::sync::Arc;

/// Pack version of a pack whose frames are sealed (format 2).
pub const SEALED_PACK_VERSION: u32 = 2;

/// How chunk ids are made: BLAKE3 (format 1) or BLAKE3 keyed by the
/// repository's chunk id subkey (format 2).
#[derive(Clone, Debug)]
pub enum Ids {
    /// Plain BLAKE3.
    Plain,
    /// Keyed BLAKE3.
    Keyed(Arc<Keys>),
}

impl Ids {
    /// The id of a chunk.
    pub fn of(&self, data: &[u8]) -> ChunkId {
        match self {
            Ids::Plain => super::chunk::chunk_id(data),
            Ids::Keyed(k) => k.chunk_id(data),
        }
    }
}

/// A pack as the pack writer built it: the plaintext pack (header and
/// frames back to back) and where each frame lies in it. A sealed
/// repository stores each frame `OVERHEAD` bytes longer.
#[derive(Debug, Default)]
pub struct PackData {
    /// Header and plaintext frames.
    pub bytes: Vec<u8>,
    /// (start, length) of each frame in `bytes`.
    pub frames: Vec<(usize, usize)>,
}

impl PackData {
    /// The bytes stored for this pack: as is, or with every frame sealed at
    /// the offset it lands on (so `offset` in the associated data is the
    /// offset a reader asks for).
    pub fn stored(&self, keys: Option<&Keys>, pack_key: &str) -> Result<Vec<u8>, EngineError> {
        let Some(k) = keys else {
            return Ok(self.bytes.clone());
        };
        let mut out = Vec::with_capacity(self.bytes.len() + self.frames.len() * OVERHEAD);
        out.extend_from_slice(PACK_MAGIC);
        out.extend_from_slice(&SEALED_PACK_VERSION.to_le_bytes());
        for &(start, len) in &self.frames {
            let plain = self.bytes.get(start..start + len).unwrap_or_default();
            k.seal_frame_into(pack_key, out.len() as u64, plain, &mut out)
                .map_err(|e| EngineError::Repo {
                    dest: pack_key.to_string(),
                    detail: format!("could not seal a frame: {e}"),
                })?;
        }
        Ok(out)
    }
}

/// What all repositories of one run share: how chunk ids are made and how
/// much sealing adds to each frame.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Chunk ids.
    pub ids: Ids,
    /// Bytes added to every frame and whole object (0 or `OVERHEAD`).
    pub overhead: usize,
    /// Repository format of the backups written.
    pub format: u32,
}

impl Layout {
    /// The layout of format 1.
    pub fn plain() -> Layout {
        Layout {
            ids: Ids::Plain,
            overhead: 0,
            format: super::repo::REPO_FORMAT,
        }
    }
}

/// The layout every repository in `repos` shares, or why they cannot take
/// copies of one backup: one manifest serves every copy, so either none is
/// encrypted or all are, under one master key.
pub fn common_layout(repos: &[Repository]) -> Result<Layout, EngineError> {
    let Some(first) = repos.first() else {
        return Ok(Layout::plain());
    };
    let layout = first.layout()?;
    for r in &repos[1..] {
        let other = r.layout()?;
        let same = match (&layout.ids, &other.ids) {
            (Ids::Plain, Ids::Plain) => true,
            (Ids::Keyed(a), Ids::Keyed(b)) => a.same_master(b),
            _ => false,
        };
        if !same {
            let what = |l: &Layout| match l.ids {
                Ids::Plain => "unencrypted",
                Ids::Keyed(_) => "encrypted",
            };
            return Err(EngineError::Repo {
                dest: r.describe(),
                detail: format!(
                    "destinations {} ({}) and {} ({}) cannot hold copies of one backup: all copies share one manifest, so they must be all unencrypted or all encrypted with one master key (add the second with 'strata dest add … --encrypt --key-of {}')",
                    first.name(),
                    what(&layout),
                    r.name(),
                    what(&other),
                    first.name()
                ),
            });
        }
    }
    Ok(layout)
}

/// Re-seals the frames at `frames` (stored offset, stored length) of pack
/// `key` read from a repository sealed by `from` for one sealed by `to`
/// (same master key, another repository id). Bytes between frames that no
/// chunk references are copied as they are: nobody reads them.
pub fn reseal_pack(
    from: &Keys,
    to: &Keys,
    key: &str,
    bytes: &[u8],
    frames: &[(u64, u32)],
) -> Result<Vec<u8>, String> {
    let mut out = bytes.to_vec();
    for &(off, len) in frames {
        let (o, l) = (off as usize, len as usize);
        let sealed = bytes
            .get(o..o + l)
            .ok_or_else(|| format!("{key}: frame at offset {off} lies outside the pack"))?;
        let plain = from
            .open_frame(key, off, sealed)
            .map_err(|e| format!("{key} at offset {off}: frame {e}"))?;
        let again = to
            .seal_frame(key, off, &plain)
            .map_err(|e| format!("{key}: {e}"))?;
        out.get_mut(o..o + l)
            .ok_or_else(|| format!("{key}: frame at offset {off} lies outside the pack"))?
            .copy_from_slice(&again);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "sealed_tests.rs"]
mod tests;
