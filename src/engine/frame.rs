//! Frames: the unit of compression inside a pack. One frame holds one or more
//! consecutive chunks, so small files share a compression context.

use thiserror::Error;

/// Bytes of a frame header: codec (1), reserved (3), stored length (4), raw length (4).
pub const FRAME_HEADER: usize = 12;
/// Codec: payload stored as is.
pub const CODEC_RAW: u8 = 0;
/// Codec: payload is one zstd frame.
pub const CODEC_ZSTD: u8 = 1;
/// Largest decoded frame this build accepts (a frame holds at most a few chunks).
pub const MAX_RAW_FRAME: u32 = 64 << 20;

/// Why a frame could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// Header is short or inconsistent with the bytes given.
    #[error("frame header is damaged ({0})")]
    Header(String),
    /// Unknown codec byte.
    #[error("frame uses unknown codec {0}")]
    Codec(u8),
    /// zstd refused the payload.
    #[error("frame does not decompress ({0})")]
    Decompress(String),
}

/// Reusable compression state of one worker: a zstd context allocates
/// megabytes of tables, which must not happen again for every frame.
pub struct Encoder {
    main: zstd::bulk::Compressor<'static>,
    probe: zstd::bulk::Compressor<'static>,
}

impl Encoder {
    /// Contexts for `level` (and level 1 for the compressibility probe).
    pub fn new(level: i32) -> std::io::Result<Encoder> {
        Ok(Encoder {
            main: zstd::bulk::Compressor::new(level)?,
            probe: zstd::bulk::Compressor::new(1)?,
        })
    }

    /// Encodes `raw` (the concatenated chunks) as a frame, compressing when it pays.
    pub fn encode(&mut self, raw: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        // Incompressible data (media, archives, random) is stored raw so neither
        // backup nor restore pays for a compression that saves nothing. A fast
        // probe of a sample from the middle decides for large frames.
        let compressed = if self.looks_incompressible(raw)? {
            None
        } else {
            Some(self.main.compress(raw)?)
        };
        write_frame(raw, compressed.as_deref(), out);
        Ok(())
    }

    /// Whether a level-1 probe of 32 KiB from the middle saves less than 3 %.
    fn looks_incompressible(&mut self, raw: &[u8]) -> std::io::Result<bool> {
        const PROBE: usize = 32 * 1024;
        if raw.len() < 4 * PROBE {
            return Ok(false);
        }
        let mid = raw.len() / 2;
        let sample = &raw[mid - PROBE / 2..mid + PROBE / 2];
        let c = self.probe.compress(sample)?;
        Ok(c.len() * 100 >= sample.len() * 97)
    }
}

/// Encodes with a one-off context (tests and small callers).
pub fn encode(raw: &[u8], level: i32, out: &mut Vec<u8>) -> std::io::Result<()> {
    Encoder::new(level)?.encode(raw, out)
}

fn write_frame(raw: &[u8], compressed: Option<&[u8]>, out: &mut Vec<u8>) {
    let (codec, payload): (u8, &[u8]) = match compressed {
        Some(c) if c.len() + c.len() / 64 < raw.len() => (CODEC_ZSTD, c),
        _ => (CODEC_RAW, raw),
    };
    out.push(codec);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Decodes a whole frame (header and payload) into its raw bytes.
pub fn decode(frame: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut d =
        zstd::bulk::Decompressor::new().map_err(|e| FrameError::Decompress(e.to_string()))?;
    decode_with(&mut d, frame)
}

/// Like [`decode`], reusing a decompression context.
pub fn decode_with(
    dctx: &mut zstd::bulk::Decompressor<'static>,
    frame: &[u8],
) -> Result<Vec<u8>, FrameError> {
    if frame.len() < FRAME_HEADER {
        return Err(FrameError::Header(format!("{} bytes", frame.len())));
    }
    let codec = frame[0];
    if frame[1..4] != [0, 0, 0] {
        return Err(FrameError::Header("reserved bytes are not zero".into()));
    }
    let stored = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
    let raw_len = u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]]);
    if stored != frame.len() - FRAME_HEADER {
        return Err(FrameError::Header(format!(
            "payload length {stored} but {} bytes present",
            frame.len() - FRAME_HEADER
        )));
    }
    if raw_len > MAX_RAW_FRAME {
        return Err(FrameError::Header(format!(
            "raw length {raw_len} too large"
        )));
    }
    let payload = &frame[FRAME_HEADER..];
    match codec {
        CODEC_RAW if payload.len() == raw_len as usize => Ok(payload.to_vec()),
        CODEC_RAW => Err(FrameError::Header("raw frame length mismatch".into())),
        CODEC_ZSTD => {
            let out = dctx
                .decompress(payload, raw_len as usize)
                .map_err(|e| FrameError::Decompress(e.to_string()))?;
            if out.len() != raw_len as usize {
                return Err(FrameError::Decompress(format!(
                    "{} bytes instead of {raw_len}",
                    out.len()
                )));
            }
            Ok(out)
        }
        c => Err(FrameError::Codec(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_round_trip(raw in proptest::collection::vec(any::<u8>(), 0..5000), rep in 1usize..4) {
            let raw = raw.repeat(rep);
            let mut f = Vec::new();
            encode(&raw, 3, &mut f).unwrap();
            prop_assert_eq!(decode(&f).unwrap(), raw);
        }

        #[test]
        fn damaged_frames_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2000), pos in any::<usize>(), val in any::<u8>()) {
            let mut f = Vec::new();
            encode(&raw.repeat(3), 3, &mut f).unwrap();
            let i = pos % f.len();
            f[i] = val;
            let _ = decode(&f);
            let _ = decode(&f[..i]);
        }
    }
}
