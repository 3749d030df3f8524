//! Encryption at rest (repository format 2, docs/format.md "Format 2"): a
//! random 64-byte master key per repository, wrapped by one key slot per
//! passphrase (Argon2id), and the subkeys derived from it with BLAKE3's
//! `derive_key`: one for XChaCha20-Poly1305 sealing, one for keyed chunk ids.
//!
//! Nothing here is new cryptography: it composes `chacha20poly1305`,
//! `argon2` and `blake3`. Every sealed thing is `nonce (24) ‖ ciphertext ‖
//! tag (16)` with a fresh random nonce, and its associated data names its
//! place (repository id, object key, frame offset), so an object or frame
//! moved elsewhere fails to authenticate like a damaged one.

use chacha20poly1305::aead::{Aead, AeadInOut, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The `encryption` value of `strata-repo.toml` for format 2.
pub const ENCRYPTION: &str = "xchacha20poly1305";
/// Bytes of a nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes of an authentication tag.
pub const TAG_LEN: usize = 16;
/// What sealing adds to a plaintext: nonce and tag.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Bytes of the master key.
pub const MASTER_LEN: usize = 64;
/// Prefix of key slot objects: `keys/<keyid>`.
pub const KEYS: &str = "keys";

/// Contexts of `blake3::derive_key` (never change them: they are the format).
const DATA_CONTEXT: &str = "strata 2026 data key";
const ID_CONTEXT: &str = "strata 2026 chunk id key";
const CHECK_CONTEXT: &str = "strata 2026 key check";
/// First bytes of every associated data: the format and what is sealed.
const AAD_OBJECT: &[u8] = b"strata/2 object\0";
const AAD_FRAME: &[u8] = b"strata/2 frame\0";
pub(super) const AAD_SLOT: &[u8] = b"strata/2 key slot\0";

/// Largest Argon2 memory a reader accepts from a slot (1 GiB), so a hostile
/// slot cannot make us allocate without bound.
pub const MAX_M_KIB: u32 = 1 << 20;
/// Largest Argon2 pass count a reader accepts.
pub const MAX_T: u32 = 32;
/// Largest Argon2 parallelism a reader accepts.
pub const MAX_P: u32 = 16;

/// Why a sealed thing or a key slot could not be opened.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Shorter than a nonce and a tag.
    #[error("sealed data is {0} bytes, shorter than a nonce and a tag")]
    Short(usize),
    /// Authentication failed: damaged, truncated, moved from another place, or another key.
    #[error("does not authenticate (damaged, truncated, or moved from another place)")]
    Auth,
    /// The passphrase does not open this key slot.
    #[error("the passphrase does not open key slot {0}")]
    WrongPassphrase(String),
    /// The key slot itself is malformed or asks for out-of-bounds parameters.
    #[error("key slot {slot} is unusable: {why}")]
    Slot {
        /// Slot id (or object key).
        slot: String,
        /// What is wrong.
        why: String,
    },
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
}

/// Fills `buf` from the operating system's random generator.
pub fn random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// A passphrase in memory: wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(Vec<u8>);

impl Passphrase {
    /// Takes ownership of the bytes (the caller's copy is this one).
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(bytes)
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(redacted)")
    }
}

/// The repository's master key: random, wrapped by every key slot.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey(pub(super) [u8; MASTER_LEN]);

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Result<MasterKey, CryptoError> {
        let mut k = MasterKey([0; MASTER_LEN]);
        random(&mut k.0)?;
        Ok(k)
    }

    fn subkey(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, &self.0))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

/// The keys of one unlocked repository: what seals and opens its objects
/// and frames and makes its chunk ids. Bound to the repository id.
pub struct Keys {
    master: MasterKey,
    cipher: XChaCha20Poly1305,
    id_key: Zeroizing<[u8; 32]>,
    check: [u8; 32],
    repo_id: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(repository {}, redacted)", self.repo_id)
    }
}

pub(super) fn cipher_of(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

/// Length-prefixed fields after a context tag: no two places share an AAD.
pub(super) fn aad(tag: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    out.extend_from_slice(tag);
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

pub(super) fn seal_with(
    cipher: &XChaCha20Poly1305,
    aad: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let nonce = XNonce::from(nonce);
    let ct = cipher
        .encrypt(&nonce, Payload { msg: plain, aad })
        .map_err(|_| CryptoError::Auth)?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(super) fn open_with(
    cipher: &XChaCha20Poly1305,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < OVERHEAD {
        return Err(CryptoError::Short(sealed.len()));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    cipher
        .decrypt(&XNonce::from(n), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::Auth)
}

impl Keys {
    /// The keys of repository `repo_id` under `master`.
    pub fn new(master: MasterKey, repo_id: &str) -> Keys {
        let data = master.subkey(DATA_CONTEXT);
        let id_key = master.subkey(ID_CONTEXT);
        let check = *master.subkey(CHECK_CONTEXT);
        Keys {
            cipher: cipher_of(&data),
            master,
            id_key,
            check,
            repo_id: repo_id.to_string(),
        }
    }

    /// The repository these keys belong to.
    pub fn repo_id(&self) -> &str {
        &self.repo_id
    }

    /// Whether `other` has the same master key (whatever repository): then
    /// chunk ids and manifests are the same for both.
    pub fn same_master(&self, other: &Keys) -> bool {
        // Compares derived check values, never the keys themselves.
        self.check == other.check
    }

    /// The same master key bound to another repository (a second
    /// destination sharing this one's key).
    pub fn for_repository(&self, repo_id: &str) -> Keys {
        Keys::new(self.master.clone(), repo_id)
    }

    /// The master key, to wrap it in a new key slot.
    pub(super) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// A chunk's id: BLAKE3 keyed by the chunk id subkey.
    pub fn chunk_id(&self, data: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.id_key, data).as_bytes()
    }

    /// Seals a whole object stored under `key` (manifest, commit marker, claim).
    pub fn seal_object(&self, key: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let aad = aad(AAD_OBJECT, &[self.repo_id.as_bytes(), key.as_bytes()]);
        seal_with(&self.cipher, &aad, plain)
    }

    /// Opens an object sealed by [`Keys::seal_object`] under `key`.
    pub fn open_object(&self, key: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let aad = aad(AAD_OBJECT, &[self.repo_id.as_bytes(), key.as_bytes()]);
        open_with(&self.cipher, &aad, sealed)
    }

    /// Seals one frame that will lie at `offset` of pack `pack_key`.
    pub fn seal_frame(
        &self,
        pack_key: &str,
        offset: u64,
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::with_capacity(plain.len() + OVERHEAD);
        self.seal_frame_into(pack_key, offset, plain, &mut out)?;
        Ok(out)
    }

    /// Appends [`Keys::seal_frame`]'s result to `out`, encrypting in place
    /// there: a pack's frames are copied once on their way out, not thrice.
    pub fn seal_frame_into(
        &self,
        pack_key: &str,
        offset: u64,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let aad = self.frame_aad(pack_key, offset);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let start = out.len();
        out.reserve(plain.len() + OVERHEAD);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        // The nonce and the plaintext were just appended: the body is there.
        let body = &mut out[start + NONCE_LEN..];
        match self
            .cipher
            .encrypt_inout_detached(&XNonce::from(nonce), &aad, body.into())
        {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(CryptoError::Auth)
            }
        }
    }

    /// Opens the frame read at `offset` of pack `pack_key`.
    pub fn open_frame(
        &self,
        pack_key: &str,
        offset: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut buf = sealed.to_vec();
        let plain = self.open_frame_in_place(pack_key, offset, &mut buf)?;
        Ok(buf.get(plain).unwrap_or_default().to_vec())
    }

    /// Opens the frame read at `offset` of pack `pack_key` where it lies:
    /// `sealed` then holds the plaintext at the returned range. A restore
    /// reads every frame once, so sparing a copy of each is ~5 % of its CPU.
    pub fn open_frame_in_place(
        &self,
        pack_key: &str,
        offset: u64,
        sealed: &mut [u8],
    ) -> Result<std::ops::Range<usize>, CryptoError> {
        let len = sealed.len();
        if len < OVERHEAD {
            return Err(CryptoError::Short(len));
        }
        let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag);
        self.cipher
            .decrypt_inout_detached(
                &XNonce::from(n),
                &self.frame_aad(pack_key, offset),
                body.into(),
                &t.into(),
            )
            .map_err(|_| CryptoError::Auth)?;
        Ok(NONCE_LEN..len - TAG_LEN)
    }

    /// What a frame is bound to: this repository, its pack and its offset
    /// there, so a frame moved to another pack or place fails to open.
    fn frame_aad(&self, pack_key: &str, offset: u64) -> Vec<u8> {
        aad(
            AAD_FRAME,
            &[
                self.repo_id.as_bytes(),
                pack_key.as_bytes(),
                &offset.to_le_bytes(),
            ],
        )
    }
}

pub use super::key_slot::{Kdf, KdfParams, KeySlot, from_hex, slot_key, to_hex};

#[cfg(test)]
#[path = "crypto_tests.rs"]
mod tests;
