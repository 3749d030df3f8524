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

/// Encodes `raw` (the concatenated chunks) as a frame, compressing when it pays.
pub fn encode(raw: &[u8], level: i32, out: &mut Vec<u8>) -> std::io::Result<()> {
    let compressed = zstd::bulk::compress(raw, level)?;
    // Incompressible data (media, archives, random) is stored raw so restore
    // does not pay for a decompression that saves nothing.
    let (codec, payload): (u8, &[u8]) = if compressed.len() + compressed.len() / 64 < raw.len() {
        (CODEC_ZSTD, &compressed)
    } else {
        (CODEC_RAW, raw)
    };
    out.push(codec);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Decodes a whole frame (header and payload) into its raw bytes.
pub fn decode(frame: &[u8]) -> Result<Vec<u8>, FrameError> {
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
            let out = zstd::bulk::decompress(payload, raw_len as usize)
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
