//! The server's ed25519 host key: created once, kept owner-only in the home,
//! and never replaced silently (clients pin it in known_hosts).

use russh::keys::{Algorithm, HashAlg, PrivateKey};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why the host key is unusable.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// Reading or creating the file failed.
    #[error("cannot {what} the SSH host key {path}: {source}")]
    Io {
        /// `read`, `create`, …
        what: &'static str,
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Others may read it.
    #[error(
        "the SSH host key {0} is readable by other users (mode {1:o}); run 'chmod 600 {0}' and start again"
    )]
    Exposed(PathBuf, u32),
    /// It is not a key we can use.
    #[error(
        "the SSH host key {0} is not a usable OpenSSH private key ({1}); restore it from a backup, or move it away to create a new one (clients will then warn that the host key changed)"
    )]
    Invalid(PathBuf, String),
}

/// Where the host key lives in a home.
pub fn path(home: &Path) -> PathBuf {
    crate::core::home::Home::at(home.to_path_buf()).host_key()
}

/// Loads the host key, creating it on first start.
pub fn load_or_create(home: &Path) -> Result<PrivateKey, HostKeyError> {
    let p = path(home);
    let io = |what, source| HostKeyError::Io {
        what,
        path: p.clone(),
        source,
    };
    match std::fs::metadata(&p) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(HostKeyError::Exposed(p, mode));
            }
            let text = std::fs::read_to_string(&p).map_err(|e| io("read", e))?;
            PrivateKey::from_openssh(&text).map_err(|e| HostKeyError::Invalid(p, e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
                .map_err(|e| HostKeyError::Invalid(p.clone(), e.to_string()))?;
            let text = key
                .to_openssh(russh::keys::ssh_key::LineEnding::LF)
                .map_err(|e| HostKeyError::Invalid(p.clone(), e.to_string()))?;
            // create_new: two starts racing must not both write a key.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
                .map_err(|e| io("create", e))?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| io("write", e))?;
            let public = p.with_extension("pub");
            if let Ok(line) = key.public_key().to_openssh() {
                let _ = crate::core::private::write(&public, format!("{line}\n").as_bytes());
            }
            Ok(key)
        }
        Err(e) => Err(io("read", e)),
    }
}

/// `SHA256:…` of the host key, as `ssh` shows it on first connection.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// The fingerprint of the home's host key without creating one.
pub fn existing_fingerprint(home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path(home)).ok()?;
    PrivateKey::from_openssh(&text)
        .ok()
        .map(|k| fingerprint(&k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_reused() {
        let home = tempfile::tempdir().unwrap();
        let a = load_or_create(home.path()).unwrap();
        let mode = std::fs::metadata(path(home.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = load_or_create(home.path()).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(existing_fingerprint(home.path()), Some(fingerprint(&a)));
        std::fs::set_permissions(path(home.path()), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        assert!(matches!(
            load_or_create(home.path()),
            Err(HostKeyError::Exposed(..))
        ));
        std::fs::set_permissions(path(home.path()), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::fs::write(path(home.path()), "garbage").unwrap();
        assert!(matches!(
            load_or_create(home.path()),
            Err(HostKeyError::Invalid(..))
        ));
    }
}
