//! Little binary primitives (LEB128 varints, length-prefixed bytes) shared by
//! the manifest encoder and decoder. The decoder never trusts a length.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Input ended inside a value.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A varint longer than 10 bytes or overflowing 64 bits.
    #[error("malformed varint at byte {0}")]
    BadVarint(usize),
    /// A length or count larger than the remaining input allows.
    #[error("length {len} at byte {at} exceeds the remaining {remaining} bytes")]
    BadLength {
        /// Offset of the length.
        at: usize,
        /// Claimed length.
        len: u64,
        /// Bytes left.
        remaining: usize,
    },
    /// A field holds a value the format does not define.
    #[error("invalid {what} at byte {at}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// Offset.
        at: usize,
    },
}

/// Appends values to a byte buffer.
#[derive(Default)]
pub struct Writer {
    /// Encoded bytes so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// Unsigned LEB128.
    pub fn uvar(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    /// Signed value, zig-zag encoded so small negatives stay short.
    pub fn ivar(&mut self, v: i64) {
        self.uvar(((v << 1) ^ (v >> 63)) as u64);
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.uvar(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// Raw fixed-size bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
}

/// Reads values from a byte slice with bounds checks on every step.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Unsigned LEB128.
    pub fn uvar(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(DecodeError::Truncated(self.pos));
            };
            self.pos += 1;
            let part = u64::from(b & 0x7f);
            if i == 9 && part > 1 {
                return Err(DecodeError::BadVarint(start));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::BadVarint(start))
    }

    /// Zig-zag signed varint.
    pub fn ivar(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvar()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint that must fit in u32.
    pub fn u32var(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let at = self.pos;
        let v = self.uvar()?;
        u32::try_from(v).map_err(|_| DecodeError::Invalid { what, at })
    }

    /// A count of items each at least `min_item_bytes` long; rejects counts the
    /// remaining input cannot hold, so garbage never triggers a huge allocation.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.uvar()?;
        let remaining = self.remaining();
        if n.saturating_mul(min_item_bytes.max(1) as u64) > remaining as u64 {
            return Err(DecodeError::BadLength {
                at,
                len: n,
                remaining,
            });
        }
        Ok(n as usize)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let len = self.uvar()?;
        let remaining = self.remaining();
        if len > remaining as u64 {
            return Err(DecodeError::BadLength { at, len, remaining });
        }
        let s = &self.data[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(s)
    }

    /// Length-prefixed UTF-8.
    pub fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let at = self.pos;
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Invalid { what, at })
    }

    /// Exactly `N` raw bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self
            .pos
            .checked_add(N)
            .ok_or(DecodeError::Truncated(self.pos))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(self.pos))?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        self.pos = end;
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(DecodeError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>(), b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut w = Writer::default();
            w.uvar(u);
            w.ivar(i);
            w.bytes(&b);
            let mut r = Reader::new(&w.buf);
            prop_assert_eq!(r.uvar().unwrap(), u);
            prop_assert_eq!(r.ivar().unwrap(), i);
            prop_assert_eq!(r.bytes().unwrap(), &b[..]);
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&data);
            let _ = r.uvar();
            let _ = r.bytes();
            let _ = r.count(8);
            let _ = r.array::<32>();
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let data = [0xffu8; 11];
        assert!(matches!(
            Reader::new(&data).uvar(),
            Err(DecodeError::BadVarint(0))
        ));
    }
}
