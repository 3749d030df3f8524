//! The arguments of `strata dest add`: one place, and the settings of its kind.

use std::path::PathBuf;

/// `strata dest add`: where the repository goes and how to reach it.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("place").required(true).args(["local", "s3", "azure", "sftp"])))]
pub struct DestAddArgs {
    /// Name used by tasks.
    pub name: String,
    /// A local directory (created if missing).
    #[arg(long, value_name = "PATH")]
    pub local: Option<PathBuf>,
    /// An S3 or S3-compatible bucket: s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "URL")]
    pub s3: Option<String>,
    /// An Azure Blob container: azblob://CONTAINER[/PREFIX].
    #[arg(long, value_name = "URL")]
    pub azure: Option<String>,
    /// A directory on an SFTP server: sftp://USER@HOST[:PORT]/PATH.
    #[arg(long, value_name = "URL")]
    pub sftp: Option<String>,
    /// Service endpoint (S3-compatible stores, Azurite).
    #[arg(long, value_name = "URL", conflicts_with_all = ["local", "sftp"])]
    pub endpoint: Option<String>,
    /// S3 region (default us-east-1).
    #[arg(long, value_name = "REGION", requires = "s3")]
    pub region: Option<String>,
    /// S3 storage class of new objects, e.g. STANDARD_IA.
    #[arg(long, value_name = "CLASS", requires = "s3")]
    pub storage_class: Option<String>,
    /// Azure storage account (default: AZURE_STORAGE_ACCOUNT).
    #[arg(long, value_name = "NAME", requires = "azure")]
    pub account: Option<String>,
    /// A private (0600) file with the access key (S3) or account key (Azure).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["local", "sftp"])]
    pub credentials: Option<PathBuf>,
    /// SFTP private key file (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
    #[arg(long, value_name = "FILE", requires = "sftp")]
    pub identity: Option<PathBuf>,
    /// OpenSSH known_hosts file for the SFTP server (default HOME/known_hosts).
    #[arg(long, value_name = "FILE", requires = "sftp")]
    pub known_hosts: Option<PathBuf>,
    /// Record the SFTP server's host key if it is not known yet (a changed key is always refused).
    #[arg(long, requires = "sftp")]
    pub accept_new_host_key: bool,
    /// Most bytes per second written to this destination, e.g. 20MiB/s (shared by every job writing there).
    #[arg(long, value_name = "RATE")]
    pub rate_limit: Option<String>,
    /// Create an encrypted repository (XChaCha20-Poly1305, keys wrapped by
    /// an Argon2id passphrase key slot). The passphrase comes from
    /// --passphrase-file, --passphrase-command or STRATA_PASSPHRASE.
    #[arg(long)]
    pub encrypt: bool,
    /// A private (0600) file holding the passphrase of the encrypted repository.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_command")]
    pub passphrase_file: Option<PathBuf>,
    /// A command whose standard output is the passphrase (e.g. a secrets manager's CLI).
    #[arg(long, value_name = "CMD")]
    pub passphrase_command: Option<String>,
    /// Share the master key of this encrypted destination, so a task can
    /// write copies of one backup to both (needs --encrypt).
    #[arg(long, value_name = "DEST", requires = "encrypt")]
    pub key_of: Option<String>,
    /// How many uploads run at once there (1 to 16; default 1 for a local disk, 4 for remote kinds).
    #[arg(long, value_name = "N")]
    pub parallel_uploads: Option<u32>,
}

impl DestAddArgs {
    /// Where the passphrase comes from, when the destination is (or may be)
    /// encrypted: a flag names its source, `--encrypt` alone means
    /// `STRATA_PASSPHRASE`.
    pub fn encryption(&self) -> Option<crate::model::EncryptionConfig> {
        if !self.encrypt && self.passphrase_file.is_none() && self.passphrase_command.is_none() {
            return None;
        }
        Some(crate::model::EncryptionConfig {
            passphrase_file: self.passphrase_file.clone(),
            passphrase_command: self.passphrase_command.clone(),
            passphrase_env: None,
        })
    }
}
