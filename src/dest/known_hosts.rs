//! Checking an SFTP server's host key against an OpenSSH `known_hosts` file,
//! as `ssh` does: a known key passes, an unknown host is refused unless the
//! user asked to record it, and a changed key is always refused.

use russh::keys::{HashAlg, PublicKey};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a server's host key was not accepted.
#[derive(Debug, Error)]
pub enum HostKeyError {
    /// No key for this host is recorded.
    #[error(
        "the host key of {host} is not known ({key_type} key {fingerprint}); if that is the server's key, \
         re-run `strata dest add … --accept-new-host-key` to record it in {file}"
    )]
    Unknown {
        /// `host` or `[host]:port`.
        host: String,
        /// Algorithm of the offered key, e.g. `ssh-ed25519`.
        key_type: String,
        /// `SHA256:…` fingerprint of the offered key.
        fingerprint: String,
        /// The known_hosts file.
        file: PathBuf,
    },
    /// A different key of the same type is recorded.
    #[error(
        "the host key for {host} changed (now {key_type} key {fingerprint}, {file} line {line} holds another): \
         this is a possible man-in-the-middle attack, or the server was reinstalled; Strata refuses to connect. \
         Check the key with the server's administrator, then remove line {line} from {file}"
    )]
    Changed {
        /// `host` or `[host]:port`.
        host: String,
        /// Algorithm of the offered key.
        key_type: String,
        /// `SHA256:…` fingerprint of the offered key.
        fingerprint: String,
        /// The known_hosts file.
        file: PathBuf,
        /// Line of the recorded key.
        line: usize,
    },
    /// The file could not be read or written.
    #[error(
        "cannot use the known_hosts file {file}: {cause}; check that it is readable OpenSSH known_hosts"
    )]
    File {
        /// The known_hosts file.
        file: PathBuf,
        /// Cause.
        cause: String,
    },
}

/// How `ssh` names a host in known_hosts: the bare host on port 22,
/// `[host]:port` otherwise.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Accepts `key` for `host:port` if `file` records it; records it when the
/// host is unknown and `accept_new` is set; refuses otherwise.
pub fn verify(
    file: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
    accept_new: bool,
) -> Result<(), HostKeyError> {
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let key_type = key.algorithm().as_str().to_string();
    match russh::keys::check_known_hosts_path(host, port, key, file) {
        Ok(true) => Ok(()),
        Ok(false) if accept_new => {
            russh::keys::known_hosts::learn_known_hosts_path(host, port, key, file).map_err(|e| {
                HostKeyError::File {
                    file: file.to_path_buf(),
                    cause: e.to_string(),
                }
            })
        }
        Ok(false) => Err(HostKeyError::Unknown {
            host: host_entry(host, port),
            key_type,
            fingerprint,
            file: file.to_path_buf(),
        }),
        Err(russh::keys::Error::KeyChanged { line }) => Err(HostKeyError::Changed {
            host: host_entry(host, port),
            key_type,
            fingerprint,
            file: file.to_path_buf(),
            line,
        }),
        Err(e) => Err(HostKeyError::File {
            file: file.to_path_buf(),
            cause: e.to_string(),
        }),
    }
}

#[cfg(test)]
#[path = "known_hosts_tests.rs"]
mod tests;
