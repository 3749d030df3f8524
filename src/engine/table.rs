//! Building a backup's chunk table: one entry per chunk its files use, whether
//! written by this backup or inherited from the parent. Inherited chunks are
//! mapped by index, so an unchanged file costs array lookups, not hashing.

use super::error::EngineError;
use super::manifest::{ChunkId, ChunkRef, Manifest, PackRef};
use super::repo::PackInfo;
use super::store::NewLoc;
use rustc_hash::FxHashMap;

const NONE: u32 = u32::MAX;

/// Accumulates the pack and chunk tables of a new manifest.
pub(super) struct TableBuilder<'a> {
    backup_id: &'a str,
    parent: &'a Manifest,
    parent_ids: &'a FxHashMap<ChunkId, usize>,
    new_locs: &'a FxHashMap<ChunkId, NewLoc>,
    own_sizes: FxHashMap<u32, u64>,
    parent_map: Vec<u32>,
    parent_pack_map: Vec<u32>,
    own_pack_map: FxHashMap<u32, u32>,
    new_index: FxHashMap<ChunkId, u32>,
    /// Packs referenced, in first-use order.
    pub(super) packs: Vec<PackRef>,
    /// Chunk table, in first-use order.
    pub(super) table: Vec<ChunkRef>,
}

impl<'a> TableBuilder<'a> {
    /// Starts an empty table for `backup_id`.
    pub(super) fn new(
        backup_id: &'a str,
        parent: &'a Manifest,
        parent_ids: &'a FxHashMap<ChunkId, usize>,
        new_locs: &'a FxHashMap<ChunkId, NewLoc>,
        written: &[PackInfo],
    ) -> Self {
        TableBuilder {
            backup_id,
            parent,
            parent_ids,
            new_locs,
            own_sizes: written.iter().map(|p| (p.number, p.size)).collect(),
            parent_map: vec![NONE; parent.chunks.len()],
            parent_pack_map: vec![NONE; parent.packs.len()],
            own_pack_map: FxHashMap::default(),
            new_index: FxHashMap::default(),
            packs: Vec::new(),
            table: Vec::new(),
        }
    }

    /// Index of the parent's chunk `pc` in the new table.
    pub(super) fn inherited(&mut self, pc: usize) -> Result<u32, EngineError> {
        if let Some(&i) = self.parent_map.get(pc)
            && i != NONE
        {
            return Ok(i);
        }
        let Some(c) = self.parent.chunks.get(pc).copied() else {
            return Err(self.internal("parent chunk index out of range"));
        };
        let pp = c.pack as usize;
        let pack = match self.parent_pack_map.get(pp) {
            Some(&p) if p != NONE => p,
            Some(_) => {
                let p = self.packs.len() as u32;
                self.packs.push(self.parent.packs[pp].clone());
                self.parent_pack_map[pp] = p;
                p
            }
            None => return Err(self.internal("parent pack index out of range")),
        };
        let i = self.table.len() as u32;
        self.table.push(ChunkRef { pack, ..c });
        self.parent_map[pc] = i;
        Ok(i)
    }

    /// Index of the chunk `id` (read from a changed file) in the new table.
    pub(super) fn by_id(&mut self, id: ChunkId) -> Result<u32, EngineError> {
        if let Some(&i) = self.new_index.get(&id) {
            return Ok(i);
        }
        if let Some(l) = self.new_locs.get(&id).copied() {
            let pack = match self.own_pack_map.get(&l.pack) {
                Some(&p) => p,
                None => {
                    let p = self.packs.len() as u32;
                    self.packs.push(PackRef {
                        backup: self.backup_id.to_string(),
                        number: l.pack,
                        size: self.own_sizes.get(&l.pack).copied().unwrap_or(0),
                    });
                    self.own_pack_map.insert(l.pack, p);
                    p
                }
            };
            let i = self.table.len() as u32;
            self.table.push(ChunkRef {
                id,
                pack,
                frame_offset: l.frame_offset,
                frame_len: l.frame_len,
                offset: l.offset,
                len: l.len,
            });
            self.new_index.insert(id, i);
            return Ok(i);
        }
        match self.parent_ids.get(&id).copied() {
            Some(pc) => self.inherited(pc),
            None => Err(self.internal(&format!(
                "chunk {} has no stored copy",
                super::chunk::hex(&id)
            ))),
        }
    }

    fn internal(&self, what: &str) -> EngineError {
        EngineError::Damaged {
            backup: self.backup_id.to_string(),
            what: format!("internal error while building the chunk table: {what}"),
        }
    }
}
