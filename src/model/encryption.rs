//! Where an encrypted destination's passphrase comes from. Only the source
//! is ever stored (catalog, `export`): never the passphrase itself.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The environment variable read when a destination names no other source.
pub const PASSPHRASE_ENV: &str = "STRATA_PASSPHRASE";

/// `encryption = { … }` of a destination: present when its repository is
/// encrypted. With no field set the passphrase is read from
/// `STRATA_PASSPHRASE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// A private (0600) file holding the passphrase (trailing newline trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
    /// A command whose standard output is the passphrase (run without a shell
    /// when it has no shell syntax; trailing newline trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_command: Option<String>,
    /// An environment variable of the process that opens the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_env: Option<String>,
}

impl EncryptionConfig {
    /// Where the passphrase is read from, in words (for messages and lists).
    pub fn source(&self) -> String {
        if let Some(f) = &self.passphrase_file {
            format!("passphrase file {}", f.display())
        } else if let Some(c) = &self.passphrase_command {
            format!("passphrase command {c:?}")
        } else {
            format!(
                "environment variable {}",
                self.passphrase_env.as_deref().unwrap_or(PASSPHRASE_ENV)
            )
        }
    }

    /// Whether more than one source is set (a configuration error).
    pub fn sources_set(&self) -> usize {
        usize::from(self.passphrase_file.is_some())
            + usize::from(self.passphrase_command.is_some())
            + usize::from(self.passphrase_env.is_some())
    }
}
