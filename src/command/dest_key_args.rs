//! The arguments of `strata dest key …`: the key slots of an encrypted
//! destination, and where a new passphrase comes from.

use clap::Subcommand;
use std::path::PathBuf;

/// Where a new passphrase comes from (`dest key add|passwd`).
#[derive(Debug, Clone, clap::Args)]
pub struct NewPassphrase {
    /// A private (0600) file holding the new passphrase.
    #[arg(long, value_name = "FILE", conflicts_with = "new_passphrase_command")]
    pub new_passphrase_file: Option<PathBuf>,
    /// A command whose standard output is the new passphrase.
    #[arg(long, value_name = "CMD")]
    pub new_passphrase_command: Option<String>,
}

impl NewPassphrase {
    /// The source: a flag, else the `STRATA_NEW_PASSPHRASE` variable.
    pub fn source(&self) -> crate::model::EncryptionConfig {
        crate::model::EncryptionConfig {
            passphrase_file: self.new_passphrase_file.clone(),
            passphrase_command: self.new_passphrase_command.clone(),
            passphrase_env: (self.new_passphrase_file.is_none()
                && self.new_passphrase_command.is_none())
            .then(|| "STRATA_NEW_PASSPHRASE".to_string()),
        }
    }
}

/// `strata dest key …`: the current passphrase is the destination's own
/// (its passphrase_file/command/env, else STRATA_PASSPHRASE); a new one comes
/// from --new-passphrase-file, --new-passphrase-command or STRATA_NEW_PASSPHRASE.
#[derive(Debug, Subcommand)]
pub enum DestKeyCmd {
    /// List the key slots (id, created, host, label, KDF parameters; * = the one the passphrase opens).
    List {
        /// Destination.
        name: String,
    },
    /// Add a key slot: a second passphrase for the same repository.
    Add {
        /// Destination.
        name: String,
        /// A label for the slot, e.g. "break-glass".
        #[arg(long, default_value = "")]
        label: String,
        /// Where the new passphrase comes from.
        #[command(flatten)]
        new: NewPassphrase,
    },
    /// Remove a key slot (the last one is refused).
    Remove {
        /// Destination.
        name: String,
        /// Slot id (from 'strata dest key list').
        keyid: String,
    },
    /// Change the passphrase: a new slot is written, then the current one removed.
    Passwd {
        /// Destination.
        name: String,
        /// Where the new passphrase comes from.
        #[command(flatten)]
        new: NewPassphrase,
    },
}
