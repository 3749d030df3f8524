//! One SSH connection and SFTP session to a destination's server: the
//! identity file, the host key check and public-key authentication.

use super::known_hosts::{self, HostKeyError};
use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::{RawSftpSession, SftpSession};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// How long connecting, key exchange and authentication may take together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one SFTP request may wait for its answer.
pub const REQUEST_TIMEOUT_SECS: u64 = 60;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// SSH user.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Private key file; `None` picks the first of `~/.ssh/id_ed25519`,
    /// `id_ecdsa`, `id_rsa`.
    pub identity: Option<PathBuf>,
    /// OpenSSH known_hosts file.
    pub known_hosts: PathBuf,
    /// Record an unknown host's key.
    pub accept_new_host_key: bool,
}

/// Why a connection could not be made. Secret key material never appears in
/// these messages, only file names.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// The SSH transport failed (refused, reset, timed out, protocol).
    #[error("SSH to {host}:{port}: {cause}")]
    Ssh {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Cause.
        cause: russh::Error,
    },
    /// Connecting took longer than [`CONNECT_TIMEOUT`].
    #[error("SSH to {host}:{port}: no session within {secs} s (connect, key exchange and login)")]
    Timeout {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Seconds waited.
        secs: u64,
    },
    /// The server's host key was refused.
    #[error(transparent)]
    HostKey(#[from] HostKeyError),
    /// No usable private key.
    #[error("{0}")]
    Identity(String),
    /// The server refused the key.
    #[error(
        "the server {host}:{port} refused public-key login as {user} with {key}; add {key}.pub to ~{user}/.ssh/authorized_keys there"
    )]
    Refused {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// User.
        user: String,
        /// Identity file.
        key: String,
    },
    /// The SFTP subsystem could not be started.
    #[error(
        "the server {host}:{port} did not start SFTP: {cause}; check `Subsystem sftp` in its sshd_config"
    )]
    Subsystem {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Cause.
        cause: String,
    },
}

impl ConnectError {
    /// Whether trying again later may help (the server was down or slow).
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::Timeout { .. } => true,
            ConnectError::Ssh { cause, .. } => matches!(
                cause,
                russh::Error::IO(_)
                    | russh::Error::Disconnect
                    | russh::Error::HUP
                    | russh::Error::ConnectionTimeout
                    | russh::Error::KeepaliveTimeout
                    | russh::Error::InactivityTimeout
                    | russh::Error::SendError
                    | russh::Error::Elapsed(_)
            ),
            ConnectError::Subsystem { .. } => true,
            _ => false,
        }
    }

    /// Whether the failure is a refusal of our credentials.
    pub fn is_denied(&self) -> bool {
        matches!(self, ConnectError::Refused { .. })
    }

    /// The I/O kind of the underlying failure, for classification.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            ConnectError::Ssh {
                cause: russh::Error::IO(e),
                ..
            } => Some(e.kind()),
            _ => None,
        }
    }
}

/// A live connection: the SSH handle (kept so the session lives) and SFTP.
pub struct Connection {
    /// The SSH connection.
    pub handle: Handle<Client>,
    /// The SFTP session on one channel of it.
    pub sftp: SftpSession,
    /// A second SFTP channel for range reads: the session's file reader
    /// prefetches 16 requests ahead, megabytes for a frame of a few hundred KiB.
    pub raw: Arc<RawSftpSession>,
}

impl Connection {
    /// Whether the SSH connection is gone.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// The SSH client side: checks the host key; everything else is default.
pub struct Client {
    endpoint: Endpoint,
}

/// Errors the client handler can end a connection with.
#[derive(Debug)]
pub enum HandlerError {
    /// From the SSH library.
    Ssh(russh::Error),
    /// The host key was refused.
    HostKey(HostKeyError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let e = &self.endpoint;
        known_hosts::verify(
            &e.known_hosts,
            &e.host,
            e.port,
            &key.public_key(),
            e.accept_new_host_key,
        )
        .map(|()| true)
        .map_err(HandlerError::HostKey)
    }
}

/// Refuses a key file others may read, as `ssh` does, then loads it.
fn load_identity(path: &Path) -> Result<PrivateKey, ConnectError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        ConnectError::Identity(format!(
            "cannot read the identity file {}: {e}; pass an OpenSSH private key with --identity",
            path.display()
        ))
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConnectError::Identity(format!(
            "the identity file {} is readable by others (mode {mode:04o}); a private key must be private: run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    // The library's error never quotes the key, only what is wrong with it.
    russh::keys::load_secret_key(path, None).map_err(|e| {
        ConnectError::Identity(format!(
            "cannot use the identity file {} as an OpenSSH private key without passphrase: {e}",
            path.display()
        ))
    })
}

/// The key file to log in with: the given one, or the first default present.
pub fn identity_path(given: Option<&Path>) -> Result<PathBuf, ConnectError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let home = std::env::home_dir().ok_or_else(|| {
        ConnectError::Identity(
            "no identity file given and no home directory to look in; pass --identity FILE".into(),
        )
    })?;
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|n| home.join(".ssh").join(n))
        .find(|p| p.exists())
        .ok_or_else(|| {
            ConnectError::Identity(format!(
                "no identity file given and none of {0}/.ssh/id_ed25519, id_ecdsa, id_rsa exists; pass --identity FILE",
                home.display()
            ))
        })
}

/// Connects, checks the host key, logs in and starts SFTP, within
/// [`CONNECT_TIMEOUT`].
pub async fn connect(endpoint: Endpoint) -> Result<Connection, ConnectError> {
    let (host, port) = (endpoint.host.clone(), endpoint.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(endpoint)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout {
            host,
            port,
            secs: CONNECT_TIMEOUT.as_secs(),
        }),
    }
}

async fn connect_inner(endpoint: Endpoint) -> Result<Connection, ConnectError> {
    let (host, port, user) = (endpoint.host.clone(), endpoint.port, endpoint.user.clone());
    let ssh_err = |cause| ConnectError::Ssh {
        host: host.clone(),
        port,
        cause,
    };
    let key_path = identity_path(endpoint.identity.as_deref())?;
    let key = load_identity(&key_path)?;
    let config = Arc::new(client::Config {
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        ..Default::default()
    });
    let mut handle = client::connect(config, (host.as_str(), port), Client { endpoint })
        .await
        .map_err(|e| match e {
            HandlerError::HostKey(h) => ConnectError::HostKey(h),
            HandlerError::Ssh(s) => ssh_err(s),
        })?;
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(ssh_err)?
        .flatten();
    let auth = handle
        .authenticate_publickey(
            user.clone(),
            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
        )
        .await
        .map_err(ssh_err)?;
    if !auth.success() {
        return Err(ConnectError::Refused {
            host,
            port,
            user,
            key: key_path.display().to_string(),
        });
    }
    let subsystem = |cause: String| ConnectError::Subsystem {
        host: host.clone(),
        port,
        cause,
    };
    let mut streams = Vec::with_capacity(2);
    for _ in 0..2 {
        let channel = handle.channel_open_session().await.map_err(ssh_err)?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| subsystem(e.to_string()))?;
        streams.push(channel.into_stream());
    }
    let (Some(raw_stream), Some(stream)) = (streams.pop(), streams.pop()) else {
        return Err(subsystem("no SFTP channel".into()));
    };
    let sftp = SftpSession::new(stream)
        .await
        .map_err(|e| subsystem(e.to_string()))?;
    sftp.set_timeout(REQUEST_TIMEOUT_SECS);
    let raw = RawSftpSession::new(raw_stream);
    raw.init().await.map_err(|e| subsystem(e.to_string()))?;
    raw.set_timeout(REQUEST_TIMEOUT_SECS);
    Ok(Connection {
        handle,
        sftp,
        raw: Arc::new(raw),
    })
}
