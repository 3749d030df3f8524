//! Pack files: a header and frames back to back, bounded in size, owned by the
//! backup that wrote them.

/// First bytes of every pack.
pub const PACK_MAGIC: &[u8; 8] = b"STRATAPK";
/// Pack format version.
pub const PACK_VERSION: u32 = 1;
/// Bytes before the first frame.
pub const PACK_HEADER: usize = 12;
/// A pack is closed once it reaches this size (a single frame may overshoot it).
pub const PACK_TARGET: usize = 16 << 20;

/// A pack being filled in memory (bounded by `PACK_TARGET` plus one frame).
/// It holds plaintext frames; `overhead` is what sealing adds to each
/// stored frame (0 in format 1), so offsets are those of the stored pack.
pub struct PackBuilder {
    buf: Vec<u8>,
    frames: Vec<(usize, usize)>,
    overhead: usize,
    stored: u64,
}

impl Default for PackBuilder {
    fn default() -> Self {
        PackBuilder::sealed(0)
    }
}

impl PackBuilder {
    /// An empty pack whose stored frames are each `overhead` bytes longer.
    pub fn sealed(overhead: usize) -> PackBuilder {
        let mut buf = Vec::with_capacity(PACK_TARGET + (1 << 20));
        buf.extend_from_slice(PACK_MAGIC);
        buf.extend_from_slice(&PACK_VERSION.to_le_bytes());
        PackBuilder {
            buf,
            frames: Vec::new(),
            overhead,
            stored: PACK_HEADER as u64,
        }
    }

    /// Appends an encoded frame; returns its offset in the stored pack.
    pub fn push(&mut self, frame: &[u8]) -> u64 {
        let off = self.stored;
        self.frames.push((self.buf.len(), frame.len()));
        self.buf.extend_from_slice(frame);
        self.stored += (frame.len() + self.overhead) as u64;
        off
    }

    /// Bytes the pack takes once stored.
    pub fn stored_len(&self) -> u64 {
        self.stored
    }

    /// The finished pack: plaintext bytes and where each frame lies.
    pub fn into_data(self) -> super::sealed::PackData {
        super::sealed::PackData {
            bytes: self.buf,
            frames: self.frames,
        }
    }

    /// Whether no frame has been added.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == PACK_HEADER
    }

    /// Whether the pack reached its target size.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= PACK_TARGET
    }

    /// The finished pack bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Whether `head` starts like a pack of a version this build reads (1, or
/// 2 for a pack of sealed frames).
pub fn check_header(head: &[u8]) -> bool {
    head.len() >= PACK_HEADER
        && &head[..8] == PACK_MAGIC
        && matches!(
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]),
            PACK_VERSION | super::sealed::SEALED_PACK_VERSION
        )
}
