//! The manifest: every entry of one backup and where each chunk of its files lives.
//! Format (see docs/format.md): magic, version, zstd-compressed body of varints.

use super::codec::{DecodeError, Reader, Writer};
use crate::model::BackupKind;

/// BLAKE3 hash of a chunk's uncompressed bytes.
pub type ChunkId = [u8; 32];

/// First bytes of every manifest file.
pub const MANIFEST_MAGIC: &[u8; 8] = b"STRATAMF";
/// Manifest format version written by this build.
pub const MANIFEST_VERSION: u16 = 1;

/// A pack file some chunk of this backup lives in (possibly owned by an ancestor).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackRef {
    /// Backup that wrote (and owns) the pack.
    pub backup: String,
    /// Pack number inside that backup.
    pub number: u32,
    /// Size of the pack file in bytes.
    pub size: u64,
}

/// Where one chunk's bytes are: a frame in a pack, and a slice of the decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// BLAKE3 of the chunk bytes.
    pub id: ChunkId,
    /// Index into `Manifest::packs`.
    pub pack: u32,
    /// Offset of the frame header in the pack.
    pub frame_offset: u64,
    /// Length of header plus payload.
    pub frame_len: u32,
    /// Offset of the chunk inside the decoded frame.
    pub offset: u32,
    /// Length of the chunk.
    pub len: u32,
}

/// Type-specific part of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file: indexes into `Manifest::chunks`, in order.
    File {
        /// Chunk table indexes.
        chunks: Vec<u32>,
    },
    /// A symbolic link, stored as its target (never followed).
    Symlink {
        /// Raw target bytes.
        target: Vec<u8>,
    },
    /// A second name of a file listed earlier in this manifest.
    HardLink {
        /// Path (relative) of the first name.
        target: Vec<u8>,
    },
}

/// One entry of the source tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the source root, `/`-separated, raw bytes (names need not be UTF-8).
    pub path: Vec<u8>,
    /// Type and type-specific data.
    pub kind: EntryKind,
    /// Permission and special bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds (change detection only).
    pub ctime_ns: i64,
    /// Inode number at backup time (change detection only).
    pub inode: u64,
    /// Size in bytes (regular files; 0 otherwise).
    pub size: u64,
}

/// Everything needed to restore one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// This backup's id.
    pub backup_id: String,
    /// Task that made it.
    pub task: String,
    /// Kind.
    pub kind: BackupKind,
    /// Direct parent, if any.
    pub parent: Option<String>,
    /// The chain's full.
    pub chain: String,
    /// Creation time, seconds since the epoch.
    pub created: i64,
    /// Source root at backup time (informational).
    pub source: String,
    /// Packs referenced by `chunks`.
    pub packs: Vec<PackRef>,
    /// Chunk table.
    pub chunks: Vec<ChunkRef>,
    /// Entries sorted by path bytes.
    pub entries: Vec<Entry>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not a manifest at all.
    #[error("not a Strata manifest (bad magic)")]
    BadMagic,
    /// Written by a newer format.
    #[error(
        "manifest format {0} is newer than this build reads ({MANIFEST_VERSION}); upgrade strata"
    )]
    NewerVersion(u16),
    /// Compressed body is damaged.
    #[error("manifest body does not decompress: {0}")]
    Decompress(String),
    /// Body is malformed.
    #[error("manifest body is malformed: {0}")]
    Decode(#[from] DecodeError),
}

const TAG_DIR: u8 = 0;
const TAG_FILE: u8 = 1;
const TAG_SYMLINK: u8 = 2;
const TAG_HARDLINK: u8 = 3;

fn kind_code(k: BackupKind) -> u8 {
    match k {
        BackupKind::Full => 0,
        BackupKind::Incremental => 1,
        BackupKind::Differential => 2,
    }
}

impl Manifest {
    /// Serialises and compresses the manifest.
    pub fn encode(&self, level: i32) -> std::io::Result<Vec<u8>> {
        let raw = self.encode_body();
        let body = zstd::bulk::compress(&raw, level)?;
        let mut out = Vec::with_capacity(body.len() + 18);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The uncompressed body.
    fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(self.backup_id.as_bytes());
        w.bytes(self.task.as_bytes());
        w.u8(kind_code(self.kind));
        w.bytes(self.parent.as_deref().unwrap_or("").as_bytes());
        w.bytes(self.chain.as_bytes());
        w.ivar(self.created);
        w.bytes(self.source.as_bytes());
        w.uvar(self.packs.len() as u64);
        for p in &self.packs {
            w.bytes(p.backup.as_bytes());
            w.uvar(u64::from(p.number));
            w.uvar(p.size);
        }
        w.uvar(self.chunks.len() as u64);
        for c in &self.chunks {
            w.raw(&c.id);
            w.uvar(u64::from(c.pack));
            w.uvar(c.frame_offset);
            w.uvar(u64::from(c.frame_len));
            w.uvar(u64::from(c.offset));
            w.uvar(u64::from(c.len));
        }
        w.uvar(self.entries.len() as u64);
        for e in &self.entries {
            w.bytes(&e.path);
            match &e.kind {
                EntryKind::Dir => w.u8(TAG_DIR),
                EntryKind::File { chunks } => {
                    w.u8(TAG_FILE);
                    w.uvar(chunks.len() as u64);
                    for c in chunks {
                        w.uvar(u64::from(*c));
                    }
                }
                EntryKind::Symlink { target } => {
                    w.u8(TAG_SYMLINK);
                    w.bytes(target);
                }
                EntryKind::HardLink { target } => {
                    w.u8(TAG_HARDLINK);
                    w.bytes(target);
                }
            }
            w.uvar(u64::from(e.mode));
            w.uvar(u64::from(e.uid));
            w.uvar(u64::from(e.gid));
            w.ivar(e.mtime_ns);
            w.ivar(e.ctime_ns);
            w.uvar(e.inode);
            w.uvar(e.size);
        }
        w.buf
    }

    /// Parses a manifest file; never panics on damaged input.
    pub fn decode(data: &[u8]) -> Result<Manifest, ManifestError> {
        if data.len() < 18 || &data[..8] != MANIFEST_MAGIC {
            return Err(ManifestError::BadMagic);
        }
        let version = u16::from_le_bytes([data[8], data[9]]);
        if version != MANIFEST_VERSION {
            return Err(ManifestError::NewerVersion(version));
        }
        let mut raw_len = [0u8; 8];
        raw_len.copy_from_slice(&data[10..18]);
        let raw_len = u64::from_le_bytes(raw_len);
        // zstd output is bounded by the declared size, and the declared size by a
        // sane ratio, so a forged header cannot make us allocate gigabytes.
        let cap = (data.len() as u64 - 18).saturating_mul(1024).min(1 << 34);
        if raw_len > cap {
            return Err(ManifestError::Decompress(format!(
                "declared size {raw_len} is implausible"
            )));
        }
        let body = zstd::bulk::decompress(&data[18..], raw_len as usize)
            .map_err(|e| ManifestError::Decompress(e.to_string()))?;
        if body.len() as u64 != raw_len {
            return Err(ManifestError::Decompress("size mismatch".into()));
        }
        Ok(Self::decode_body(&body)?)
    }

    fn decode_body(body: &[u8]) -> Result<Manifest, DecodeError> {
        let mut r = Reader::new(body);
        let backup_id = r.string("backup id")?;
        let task = r.string("task")?;
        let at = r.pos();
        let kind = match r.u8()? {
            0 => BackupKind::Full,
            1 => BackupKind::Incremental,
            2 => BackupKind::Differential,
            _ => return Err(DecodeError::Invalid { what: "kind", at }),
        };
        let parent = r.string("parent")?;
        let parent = (!parent.is_empty()).then_some(parent);
        let chain = r.string("chain")?;
        let created = r.ivar()?;
        let source = r.string("source")?;
        let n = r.count(3)?;
        let mut packs = Vec::with_capacity(n);
        for _ in 0..n {
            packs.push(PackRef {
                backup: r.string("pack owner")?,
                number: r.u32var("pack number")?,
                size: r.uvar()?,
            });
        }
        let n = r.count(37)?;
        let mut chunks = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.array::<32>()?;
            let at = r.pos();
            let pack = r.u32var("pack index")?;
            if pack as usize >= packs.len() {
                return Err(DecodeError::Invalid {
                    what: "pack index",
                    at,
                });
            }
            chunks.push(ChunkRef {
                id,
                pack,
                frame_offset: r.uvar()?,
                frame_len: r.u32var("frame length")?,
                offset: r.u32var("chunk offset")?,
                len: r.u32var("chunk length")?,
            });
        }
        let n = r.count(9)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let path = r.bytes()?.to_vec();
            let at = r.pos();
            let kind = match r.u8()? {
                TAG_DIR => EntryKind::Dir,
                TAG_FILE => {
                    let k = r.count(1)?;
                    let mut list = Vec::with_capacity(k);
                    for _ in 0..k {
                        let at = r.pos();
                        let c = r.u32var("chunk index")?;
                        if c as usize >= chunks.len() {
                            return Err(DecodeError::Invalid {
                                what: "chunk index",
                                at,
                            });
                        }
                        list.push(c);
                    }
                    EntryKind::File { chunks: list }
                }
                TAG_SYMLINK => EntryKind::Symlink {
                    target: r.bytes()?.to_vec(),
                },
                TAG_HARDLINK => EntryKind::HardLink {
                    target: r.bytes()?.to_vec(),
                },
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "entry type",
                        at,
                    });
                }
            };
            entries.push(Entry {
                path,
                kind,
                mode: r.u32var("mode")?,
                uid: r.u32var("uid")?,
                gid: r.u32var("gid")?,
                mtime_ns: r.ivar()?,
                ctime_ns: r.ivar()?,
                inode: r.uvar()?,
                size: r.uvar()?,
            });
        }
        if r.remaining() != 0 {
            return Err(DecodeError::Invalid {
                what: "trailing bytes",
                at: r.pos(),
            });
        }
        Ok(Manifest {
            backup_id,
            task,
            kind,
            parent,
            chain,
            created,
            source,
            packs,
            chunks,
            entries,
        })
    }

    /// The uncompressed body (for tests that mutate it).
    #[cfg(test)]
    pub(crate) fn encode_body_for_tests(&self) -> Vec<u8> {
        self.encode_body()
    }

    /// Decodes an uncompressed body (for tests that mutate it).
    #[cfg(test)]
    pub(crate) fn decode_body_for_tests(body: &[u8]) -> Result<Manifest, DecodeError> {
        Self::decode_body(body)
    }

    /// Sum of regular file sizes: what a restore writes.
    pub fn logical_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .map(|e| e.size)
            .sum()
    }
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
