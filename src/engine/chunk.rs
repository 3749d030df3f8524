//! Content-defined chunking parameters and chunk identity.

use super::manifest::ChunkId;
use serde::{Deserialize, Serialize};

/// FastCDC sizes; fixed per repository so chunks of one chain deduplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// Minimum chunk size.
    pub min: u32,
    /// Average chunk size.
    pub avg: u32,
    /// Maximum chunk size.
    pub max: u32,
}

impl Default for ChunkerParams {
    /// 64 KiB / 256 KiB / 1 MiB: a 4 KiB page rewrite costs about one 256 KiB
    /// chunk, while 1 GiB of data stays around 4,000 chunk records.
    fn default() -> Self {
        ChunkerParams {
            min: 64 * 1024,
            avg: 256 * 1024,
            max: 1024 * 1024,
        }
    }
}

impl ChunkerParams {
    /// Whether FastCDC accepts these sizes.
    pub fn is_valid(&self) -> bool {
        use fastcdc::v2020::*;
        (MINIMUM_MIN..=MINIMUM_MAX).contains(&self.min)
            && (AVERAGE_MIN..=AVERAGE_MAX).contains(&self.avg)
            && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&self.max)
            && self.min <= self.avg
            && self.avg <= self.max
    }

    /// What is wrong with these sizes, in words, when FastCDC would refuse them.
    pub fn problem(&self) -> Option<String> {
        use fastcdc::v2020::*;
        let ChunkerParams { min, avg, max } = *self;
        if min > max {
            return Some(format!(
                "chunker min {min} is larger than max {max}; min must be at most avg, and avg at most max"
            ));
        }
        if min > avg || avg > max {
            return Some(format!(
                "chunker sizes min {min}, avg {avg}, max {max} are out of order; min must be at most avg, and avg at most max"
            ));
        }
        for (key, v, lo, hi) in [
            ("min", min, MINIMUM_MIN, MINIMUM_MAX),
            ("avg", avg, AVERAGE_MIN, AVERAGE_MAX),
            ("max", max, MAXIMUM_MIN, MAXIMUM_MAX),
        ] {
            if !(lo..=hi).contains(&v) {
                return Some(format!(
                    "chunker {key} {v} is out of range; use {lo} to {hi}"
                ));
            }
        }
        None
    }

    /// Fixed-size chunks of `block` bytes (min = avg = max), aligned to the
    /// start of the data: for files that change in place block by block.
    pub fn fixed(block: u32) -> ChunkerParams {
        let b = block.clamp(1024, 1 << 20);
        ChunkerParams {
            min: b,
            avg: b,
            max: b,
        }
    }

    /// Whether these are fixed-size chunks ([`ChunkerParams::fixed`]).
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }

    /// Cuts `data` (a whole small file) into chunk slices.
    pub fn cut<'a>(&self, data: &'a [u8]) -> Vec<&'a [u8]> {
        if data.len() <= self.min as usize {
            return vec![data];
        }
        if self.is_fixed() {
            return data.chunks(self.min as usize).collect();
        }
        fastcdc::v2020::FastCDC::new(data, self.min, self.avg, self.max)
            .map(|c| &data[c.offset..c.offset + c.length])
            .collect()
    }
}

/// The id of a chunk: BLAKE3 of its bytes.
pub fn chunk_id(data: &[u8]) -> ChunkId {
    *blake3::hash(data).as_bytes()
}

/// Lower-case hex of an id (for messages).
pub fn hex(id: &ChunkId) -> String {
    blake3::Hash::from_bytes(*id).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_cover_input_and_are_deterministic(data in proptest::collection::vec(any::<u8>(), 0..300_000), seed in any::<u8>()) {
            let p = ChunkerParams { min: 4096, avg: 16384, max: 65536 };
            let data: Vec<u8> = data.iter().map(|b| b.wrapping_add(seed)).collect();
            let a = p.cut(&data);
            let joined: Vec<u8> = a.concat();
            prop_assert_eq!(&joined, &data);
            for c in &a[..a.len().saturating_sub(1)] {
                prop_assert!(c.len() >= 4096 && c.len() <= 65536);
            }
            prop_assert_eq!(a, p.cut(&data));
        }
    }

    #[test]
    fn local_edit_changes_few_chunks() {
        let mut x: u64 = 7;
        let data: Vec<u8> = (0..4_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let p = ChunkerParams::default();
        let before: std::collections::HashSet<_> = p.cut(&data).into_iter().map(chunk_id).collect();
        let mut edited = data.clone();
        edited[2_000_000..2_004_096].fill(0xAB);
        let new = p
            .cut(&edited)
            .into_iter()
            .filter(|c| !before.contains(&chunk_id(c)))
            .count();
        assert!(new <= 2, "{new} chunks changed for one 4 KiB write");
    }
}

/// Chunks a stream without holding more than `buf_cap` bytes: cut points are
/// the same as chunking the whole input at once, because FastCDC restarts its
/// search at every chunk start. Returns the number of bytes read.
pub fn stream_chunks<R: std::io::Read>(
    params: &ChunkerParams,
    mut reader: R,
    buf: &mut Vec<u8>,
    mut on_chunk: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let cap = (params.max as usize * 4).max(4 << 20);
    // Reuse the caller's buffer as is: zeroing megabytes per small file would
    // cost more than reading it.
    if buf.len() < cap {
        buf.resize(cap, 0);
    }
    let mut filled = 0usize;
    let mut total = 0u64;
    let mut eof = false;
    loop {
        while !eof && filled < cap {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => eof = true,
                Ok(n) => {
                    filled += n;
                    total += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut consumed = 0usize;
        {
            let data = &buf[..filled];
            if eof && data.len() <= params.min as usize {
                if !data.is_empty() {
                    on_chunk(data)?;
                }
                return Ok(total);
            }
            let cuts: Vec<(usize, usize)> = if params.is_fixed() {
                let b = params.min as usize;
                (0..data.len())
                    .step_by(b)
                    .map(|o| (o, b.min(data.len() - o)))
                    .collect()
            } else {
                fastcdc::v2020::FastCDC::new(data, params.min, params.avg, params.max)
                    .map(|c| (c.offset, c.length))
                    .collect()
            };
            let usable = if eof {
                cuts.len()
            } else {
                cuts.len().saturating_sub(1)
            };
            for &(off, len) in &cuts[..usable] {
                on_chunk(&data[off..off + len])?;
                consumed = off + len;
            }
        }
        if eof && consumed == filled {
            return Ok(total);
        }
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn streaming_matches_whole_input(len in 0usize..3_000_000, seed in any::<u64>()) {
            let mut x = seed | 1;
            let data: Vec<u8> = (0..len).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; (x >> 3) as u8 }).collect();
            let p = ChunkerParams { min: 4096, avg: 16384, max: 65536 };
            let p = if len % 2 == 0 { p } else { ChunkerParams::fixed(8192) };
            let whole: Vec<Vec<u8>> = p.cut(&data).into_iter().map(|c| c.to_vec()).collect();
            let mut streamed = Vec::new();
            let mut buf = Vec::new();
            // A reader that returns short reads, like a pipe would.
            struct Short<'a>(&'a [u8]);
            impl std::io::Read for Short<'_> {
                fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                    let n = self.0.len().min(out.len()).min(70_001);
                    out[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let n = stream_chunks(&p, Short(&data), &mut buf, |c| { streamed.push(c.to_vec()); Ok(()) }).unwrap();
            prop_assert_eq!(n as usize, data.len());
            let whole = if data.is_empty() { vec![] } else { whole };
            prop_assert_eq!(streamed, whole);
        }
    }
}

#[cfg(test)]
mod problem_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn min_above_max_says_so() {
        let p = ChunkerParams {
            min: 1 << 20,
            avg: 1 << 18,
            max: 1 << 16,
        };
        assert!(
            p.problem()
                .unwrap()
                .contains("min 1048576 is larger than max 65536")
        );
        assert_eq!(ChunkerParams::default().problem(), None);
    }

    proptest! {
        #[test]
        fn problem_agrees_with_is_valid(min in any::<u32>(), avg in any::<u32>(), max in any::<u32>()) {
            let p = ChunkerParams { min, avg, max };
            prop_assert_eq!(p.problem().is_none(), p.is_valid());
        }
    }
}
