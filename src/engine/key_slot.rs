//! Key slots of an encrypted repository: the master key wrapped by a key
//! that Argon2id derives from one passphrase, with the parameters recorded
//! in the slot (docs/format.md, "Key slots"). Composes `argon2` with the
//! sealing of `crypto.rs`; nothing here is new cryptography.

use super::crypto::{
    AAD_SLOT, CryptoError, KEYS, Keys, MASTER_LEN, MAX_M_KIB, MAX_P, MAX_T, MasterKey, NONCE_LEN,
    Passphrase, TAG_LEN, aad, cipher_of, open_with, random, seal_with,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Argon2id parameters of one key slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// What new key slots use: 128 MiB, 2 passes, 2 lanes computed on two
    /// threads — the same memory and passes, so the same work per guess, as
    /// one lane, in half the wait (docs/format.md).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 128 * 1024,
        t: 2,
        p: 2,
    };

    /// Small parameters for tests of the engine (never for real slots).
    pub const TEST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    /// What is wrong with these parameters for a reader, if anything.
    fn problem(&self) -> Option<String> {
        if self.m_kib > MAX_M_KIB || self.t > MAX_T || self.p > MAX_P {
            return Some(format!(
                "Argon2 parameters m_kib {} t {} p {} exceed what this build accepts (m_kib {MAX_M_KIB}, t {MAX_T}, p {MAX_P})",
                self.m_kib, self.t, self.p
            ));
        }
        None
    }

    fn derive(
        &self,
        pass: &Passphrase,
        salt: &[u8],
        slot: &str,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let bad = |why: String| CryptoError::Slot {
            slot: slot.to_string(),
            why,
        };
        if let Some(why) = self.problem() {
            return Err(bad(why));
        }
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| bad(format!("Argon2 parameters are invalid ({e})")))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        a.hash_password_into(pass.expose(), salt, out.as_mut())
            .map_err(|e| bad(format!("Argon2 refused its inputs ({e})")))?;
        Ok(out)
    }
}

/// The KDF record of a key slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    /// Always `argon2id`.
    pub alg: String,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, hex (32 bytes when written by Strata).
    pub salt: String,
}

/// One key slot, the object `keys/<id>`: the master key sealed under a key
/// derived from one passphrase. Not secret; the JSON is stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlot {
    /// Random slot id, 16 hex characters.
    pub id: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// Host that made it.
    pub host: String,
    /// Free label (`dest key add --label`).
    #[serde(default)]
    pub label: String,
    /// How the wrapping key is derived.
    pub kdf: Kdf,
    /// Nonce, hex (24 bytes).
    pub nonce: String,
    /// Sealed master key, hex (64 bytes + tag).
    pub sealed: String,
}

/// The object key of slot `id`.
pub fn slot_key(id: &str) -> String {
    format!("{KEYS}/{id}")
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes lower- or upper-case hex; `None` for anything else.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn slot_aad(repo_id: &str, slot_id: &str) -> Vec<u8> {
    aad(AAD_SLOT, &[repo_id.as_bytes(), slot_id.as_bytes()])
}

impl KeySlot {
    /// Wraps `keys`' master key under `pass` in a new slot.
    pub fn create(
        keys: &Keys,
        pass: &Passphrase,
        params: KdfParams,
        host: &str,
        label: &str,
    ) -> Result<KeySlot, CryptoError> {
        let mut id = [0u8; 8];
        random(&mut id)?;
        let id = to_hex(&id);
        let mut salt = [0u8; 32];
        random(&mut salt)?;
        let wrap = params.derive(pass, &salt, &id)?;
        let sealed = seal_with(
            &cipher_of(&wrap),
            &slot_aad(keys.repo_id(), &id),
            &keys.master().0,
        )?;
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        Ok(KeySlot {
            created: Utc::now(),
            host: host.to_string(),
            label: label.to_string(),
            kdf: Kdf {
                alg: "argon2id".into(),
                m_kib: params.m_kib,
                t: params.t,
                p: params.p,
                salt: to_hex(&salt),
            },
            nonce: to_hex(nonce),
            sealed: to_hex(ct),
            id,
        })
    }

    /// The Argon2 parameters recorded in the slot.
    pub fn params(&self) -> KdfParams {
        KdfParams {
            m_kib: self.kdf.m_kib,
            t: self.kdf.t,
            p: self.kdf.p,
        }
    }

    /// Opens the slot with `pass`: the repository's keys, or why not. The
    /// slot's parameters are bounded before any memory is taken.
    pub fn open(&self, pass: &Passphrase, repo_id: &str) -> Result<Keys, CryptoError> {
        let bad = |why: &str| CryptoError::Slot {
            slot: self.id.clone(),
            why: why.to_string(),
        };
        if self.kdf.alg != "argon2id" {
            return Err(bad("its KDF is not argon2id"));
        }
        let salt = from_hex(&self.kdf.salt).ok_or_else(|| bad("its salt is not hex"))?;
        if !(16..=64).contains(&salt.len()) {
            return Err(bad("its salt is not 16 to 64 bytes"));
        }
        let nonce = from_hex(&self.nonce).ok_or_else(|| bad("its nonce is not hex"))?;
        let ct = from_hex(&self.sealed).ok_or_else(|| bad("its sealed key is not hex"))?;
        if nonce.len() != NONCE_LEN || ct.len() != MASTER_LEN + TAG_LEN {
            return Err(bad("its nonce or sealed key has the wrong length"));
        }
        let wrap = self.params().derive(pass, &salt, &self.id)?;
        let mut sealed = nonce;
        sealed.extend_from_slice(&ct);
        let plain = Zeroizing::new(
            open_with(&cipher_of(&wrap), &slot_aad(repo_id, &self.id), &sealed)
                .map_err(|_| CryptoError::WrongPassphrase(self.id.clone()))?,
        );
        let mut master = MasterKey([0; MASTER_LEN]);
        master.0.copy_from_slice(&plain);
        Ok(Keys::new(master, repo_id))
    }
}
