//! Where off-site destinations live: the settings an operator writes for an
//! S3-compatible bucket, an Azure Blob container or an SFTP server, and the
//! parsing of their URLs. Secrets are never part of these: they come from the
//! environment or a private credentials file named here.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// An S3 or S3-compatible bucket (AWS, MinIO, Ceph RGW, B2, R2, Wasabi, GCS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Spec {
    /// `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// Service endpoint for stores other than AWS, e.g. `https://minio:9000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Storage class of new objects, e.g. `STANDARD_IA`, `GLACIER_IR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// A private (0600) file holding the access key, instead of the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
}

/// An Azure Blob Storage container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureSpec {
    /// `azblob://CONTAINER[/PREFIX]`.
    pub url: String,
    /// Storage account (default: `AZURE_STORAGE_ACCOUNT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Blob endpoint, e.g. Azurite's `http://127.0.0.1:10000/devstoreaccount1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A private (0600) file holding the account key, instead of the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
}

/// A directory on an SFTP server, reached with a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpSpec {
    /// `sftp://USER@HOST[:PORT]/PATH`.
    pub url: String,
    /// Private key file (default: `~/.ssh/id_ed25519`, then `id_ecdsa`, `id_rsa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// OpenSSH known_hosts file the server's key is checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

/// A bucket or container and the key prefix inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPath {
    /// Bucket or container name.
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
}

/// Where an SFTP destination's repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpTarget {
    /// Login name.
    pub user: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port (default 22).
    pub port: u16,
    /// Absolute directory path on the server.
    pub path: String,
}

/// Splits `SCHEME://BUCKET[/PREFIX]`, checking the bucket name's characters.
fn bucket_url(url: &str, scheme: &str, what: &str) -> Result<BucketPath, String> {
    let example = format!("{scheme}://{what}/optional/prefix");
    let rest = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| format!("{url:?} is not a {scheme}:// URL; write it as {example}"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = !bucket.is_empty()
        && bucket.len() <= 63
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'));
    if !valid {
        return Err(format!(
            "{url:?}: {what} name {bucket:?} must be 1-63 lowercase letters, digits, '-', '.' or '_'; write it as {example}"
        ));
    }
    let prefix = prefix.trim_matches('/');
    let bad_part = prefix
        .split('/')
        .any(|p| p == "." || p == ".." || (p.is_empty() && !prefix.is_empty()));
    if bad_part || prefix.chars().any(|c| c.is_control()) {
        return Err(format!(
            "{url:?}: the prefix {prefix:?} must be plain path parts (no '.', '..', '//' or control characters)"
        ));
    }
    Ok(BucketPath {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

impl S3Spec {
    /// The bucket and prefix of [`S3Spec::url`].
    pub fn location(&self) -> Result<BucketPath, String> {
        bucket_url(&self.url, "s3", "bucket")
    }
}

impl AzureSpec {
    /// The container and prefix of [`AzureSpec::url`].
    pub fn location(&self) -> Result<BucketPath, String> {
        bucket_url(&self.url, "azblob", "container")
    }
}

impl SftpSpec {
    /// User, host, port and path of [`SftpSpec::url`].
    pub fn target(&self) -> Result<SftpTarget, String> {
        let url = &self.url;
        let example = "sftp://USER@HOST[:PORT]/PATH";
        let rest = url
            .strip_prefix("sftp://")
            .ok_or_else(|| format!("{url:?} is not an sftp:// URL; write it as {example}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => {
                return Err(format!(
                    "{url:?} names no directory; write it as {example}, e.g. sftp://backup@host/srv/strata"
                ));
            }
        };
        let (user, hostport) = authority
            .rsplit_once('@')
            .ok_or_else(|| format!("{url:?} names no user; write it as {example}"))?;
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed '[' in the host"))?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port =
            match port {
                None => 22,
                Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("{url:?}: port {p:?} is not a number from 1 to 65535")
                })?,
            };
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
        };
        if !plain(user) || user.contains(':') {
            return Err(format!(
                "{url:?}: user {user:?} must be letters, digits, '-', '.' or '_' (keys only: no password in the URL)"
            ));
        }
        if !plain(host) {
            return Err(format!(
                "{url:?}: host {host:?} is not a host name or address"
            ));
        }
        if path.split('/').any(|p| p == "." || p == "..") || path.chars().any(|c| c.is_control()) {
            return Err(format!(
                "{url:?}: the path {path:?} must not contain '.', '..' or control characters"
            ));
        }
        let path = match path.trim_end_matches('/') {
            "" => "/",
            p => p,
        };
        Ok(SftpTarget {
            user: user.to_string(),
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s3(url: &str) -> S3Spec {
        S3Spec {
            url: url.into(),
            endpoint: None,
            region: None,
            storage_class: None,
            credentials: None,
        }
    }

    fn sftp(url: &str) -> Result<SftpTarget, String> {
        SftpSpec {
            url: url.into(),
            identity: None,
            known_hosts: None,
        }
        .target()
    }

    #[test]
    fn bucket_urls() {
        let l = s3("s3://backups/prod/db/").location().unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("backups", "prod/db")
        );
        assert_eq!(s3("s3://b").location().unwrap().prefix, "");
        for bad in [
            "backups",
            "s3://",
            "s3://Big",
            "s3://b/../x",
            "s3://b/a//c",
            "azblob://b",
        ] {
            assert!(s3(bad).location().is_err(), "{bad}");
        }
        let az = AzureSpec {
            url: "azblob://c1/p".into(),
            account: None,
            endpoint: None,
            credentials: None,
        };
        assert_eq!(az.location().unwrap().bucket, "c1");
    }

    #[test]
    fn sftp_urls() {
        let t = sftp("sftp://backup@host.example:2222/srv/strata/").unwrap();
        assert_eq!(t.user, "backup");
        assert_eq!(t.host, "host.example");
        assert_eq!(t.port, 2222);
        assert_eq!(t.path, "/srv/strata");
        assert_eq!(sftp("sftp://u@[::1]/r").unwrap().host, "::1");
        assert_eq!(sftp("sftp://u@h/r").unwrap().port, 22);
        for bad in [
            "sftp://h/r",
            "sftp://u@h",
            "sftp://u:pw@h/r",
            "sftp://u@h:0/r",
            "sftp://u@h:x/r",
            "sftp://u@h/../r",
            "ssh://u@h/r",
        ] {
            assert!(sftp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn definitions_round_trip_through_json() {
        use crate::model::{DestinationConfig, DestinationKind};
        let cfg = DestinationConfig {
            name: "off".into(),
            kind: DestinationKind::S3(S3Spec {
                region: Some("eu-west-1".into()),
                ..s3("s3://b/p")
            }),
            repo_id: Some("r1".into()),
            rate_limit: None,
            encryption: None,
            parallel_uploads: None,
        };
        let text = serde_json::to_string(&cfg).unwrap();
        assert!(text.contains("\"kind\":\"s3\""), "{text}");
        assert_eq!(
            serde_json::from_str::<DestinationConfig>(&text).unwrap(),
            cfg
        );
        let old = r#"{"name":"d","kind":"local","path":"/r"}"#;
        let local: DestinationConfig = serde_json::from_str(old).unwrap();
        assert_eq!(local.kind.local_path(), Some(std::path::Path::new("/r")));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(url in "\\PC{0,80}") {
            let _ = s3(&url).location();
            let _ = sftp(&url);
            let _ = sftp(&format!("sftp://{url}"));
            let _ = s3(&format!("s3://{url}")).location();
        }
    }
}
