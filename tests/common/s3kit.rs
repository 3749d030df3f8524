//! The S3 side of `tests/remote_s3.rs`: the server (`s3server.rs`), a
//! credentials file and a remote destination on it.

use crate::common::Strata;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

#[path = "s3server.rs"]
mod s3server;
pub use s3server::*;

/// Writes an S3 credentials file (mode `mode`) for `secret`; returns its path.
pub fn credentials_file(s: &Strata, name: &str, secret: &str, mode: u32) -> PathBuf {
    let p = s.path(name);
    std::fs::write(
        &p,
        format!("access_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{secret}\"\n"),
    )
    .expect("write the credentials file");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

/// A home, a running server and a private credentials file with the right keys.
pub struct Remote {
    /// The home and scratch directory.
    pub s: Strata,
    /// The server, its root at `<scratch>/s3`.
    pub server: S3Server,
    /// The credentials file (0600).
    pub creds: PathBuf,
}

pub fn remote() -> Remote {
    let s = Strata::new();
    let server = S3Server::start(&s.path("s3"));
    let creds = credentials_file(&s, "s3.creds", SECRET_KEY, 0o600);
    Remote { s, server, creds }
}

impl Remote {
    /// `s3://backups/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// `dest add NAME --s3 URL --endpoint E --credentials FILE`, at `endpoint`.
    pub fn add_at(
        &self,
        s: &Strata,
        name: &str,
        prefix: &str,
        endpoint: &str,
    ) -> (i32, String, String) {
        let creds = self.creds.to_str().unwrap().to_string();
        let url = self.url(prefix);
        s.run(&[
            "dest",
            "add",
            name,
            "--s3",
            &url,
            "--endpoint",
            endpoint,
            "--credentials",
            &creds,
        ])
    }

    /// [`Remote::add_at`] on this home and the server's own endpoint.
    pub fn add(&self, name: &str, prefix: &str) -> (i32, String, String) {
        self.add_at(&self.s, name, prefix, &self.server.endpoint())
    }

    /// The repository directory of `prefix` in the bucket.
    pub fn repo(&self, prefix: &str) -> PathBuf {
        self.server.object(prefix)
    }
}
