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
    /// How many uploads run at once there (1 to 16; default 1 for a local disk, 4 for remote kinds).
    #[arg(long, value_name = "N")]
    pub parallel_uploads: Option<u32>,
}
