//! A repository in a directory of an SFTP server, over our own SSH client
//! (russh + russh-sftp, in-process). One connection per destination, opened
//! on first use and again after it drops; every call runs on the
//! destinations' runtime ([`super::runtime::run`]) and the calling thread waits.

use super::sftp_session::{self, ConnectError, Connection, Endpoint};
use super::{DestError, Destination, Failure, OpenOptions, check_key, runtime};
use crate::model::SftpSpec;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

#[path = "sftp_ops.rs"]
mod ops;

/// How long one operation may take, on top of the time its data needs at a
/// slow 1 MiB/s (a pack upload is many SFTP requests).
const OP_TIMEOUT: Duration = Duration::from_secs(60);

/// Repository rooted at a directory of an SFTP server.
pub struct SftpDest {
    inner: Arc<Inner>,
}

/// What an operation needs, shared with the tasks that run it.
pub(crate) struct Inner {
    describe: String,
    /// Absolute directory of the repository on the server, no trailing `/`.
    root: String,
    endpoint: Endpoint,
    conn: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

impl SftpDest {
    /// A destination for `spec`, described as `describe` in messages. Nothing
    /// is contacted until the first operation.
    pub fn open(
        spec: &SftpSpec,
        describe: String,
        opts: OpenOptions,
    ) -> Result<SftpDest, DestError> {
        let permanent = |why: String| {
            DestError::Permanent(Failure {
                dest: describe.clone(),
                op: "open",
                at: spec.url.clone(),
                source: std::io::Error::other(why),
            })
        };
        let target = spec.target().map_err(permanent)?;
        let known_hosts = spec.known_hosts.clone().ok_or_else(|| {
            permanent(
                "no known_hosts file is set for this destination; set known_hosts = \"/path\""
                    .into(),
            )
        })?;
        let root = match target.path.trim_end_matches('/') {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        Ok(SftpDest {
            inner: Arc::new(Inner {
                describe,
                root,
                endpoint: Endpoint {
                    user: target.user,
                    host: target.host,
                    port: target.port,
                    identity: spec.identity.clone(),
                    known_hosts,
                    accept_new_host_key: opts.accept_new_host_key,
                },
                conn: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// Runs `f` with a live connection on the destinations' runtime, within
    /// the operation timeout for `bytes` of data. A transient failure drops
    /// the connection, so the retry that follows opens a fresh one.
    fn call<T, F, Fut>(
        &self,
        op: &'static str,
        at: String,
        bytes: u64,
        f: F,
    ) -> Result<T, DestError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>, Arc<Connection>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, DestError>> + Send + 'static,
    {
        let inner = self.inner.clone();
        let limit = OP_TIMEOUT + Duration::from_secs(bytes >> 20);
        let at2 = at.clone();
        let ran = runtime::run(op, async move {
            let conn = inner.connection().await?;
            let result = match tokio::time::timeout(limit, f(inner.clone(), conn.clone())).await {
                Ok(r) => r,
                Err(_) => Err(inner.fail(
                    op,
                    &at2,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {} s", limit.as_secs()),
                    ),
                )),
            };
            if result.as_ref().is_err_and(DestError::is_transient) {
                inner.forget(&conn).await;
            }
            result
        });
        ran.unwrap_or_else(|e| Err(self.inner.fail(op, &at, e)))
    }

    fn path(&self, key: &str) -> Result<String, DestError> {
        check_key(&self.inner.describe, key)?;
        Ok(self.inner.join(key))
    }
}

impl Inner {
    /// `root/key`.
    fn join(&self, key: &str) -> String {
        if self.root == "/" {
            format!("/{key}")
        } else {
            format!("{}/{key}", self.root)
        }
    }

    /// The live connection, opened (once, for all waiting callers) when there
    /// is none or the last one dropped.
    async fn connection(&self) -> Result<Arc<Connection>, DestError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref()
            && !c.is_closed()
        {
            return Ok(c.clone());
        }
        *slot = None;
        let conn = sftp_session::connect(self.endpoint.clone())
            .await
            .map_err(|e| self.connect_error(e))?;
        let conn = Arc::new(conn);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets `conn` if it is still the current connection.
    async fn forget(&self, conn: &Arc<Connection>) {
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *slot = None;
        }
    }

    fn connect_error(&self, e: ConnectError) -> DestError {
        let failure = Failure {
            dest: self.describe.clone(),
            op: "connect",
            at: format!("{}:{}", self.endpoint.host, self.endpoint.port),
            source: std::io::Error::new(
                e.io_kind().unwrap_or(std::io::ErrorKind::Other),
                e.to_string(),
            ),
        };
        if e.is_transient() {
            DestError::Transient(failure)
        } else if e.is_denied() {
            DestError::Denied(failure)
        } else {
            DestError::Permanent(failure)
        }
    }

    /// A failure of `op` at server path `at`, classified by its I/O kind.
    fn fail(&self, op: &'static str, at: &str, source: std::io::Error) -> DestError {
        DestError::io(self.describe.clone(), op, at.to_string(), source)
    }

    fn not_found(&self, path: &str) -> DestError {
        DestError::NotFound {
            dest: self.describe.clone(),
            key: path
                .strip_prefix(&self.root)
                .map(|k| k.trim_start_matches('/'))
                .unwrap_or(path)
                .to_string(),
        }
    }
}

impl Destination for SftpDest {
    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    // What the server's file system still has for unprivileged writers, when
    // it offers the statvfs@openssh.com extension.
    fn free_bytes(&self) -> Option<u64> {
        let root = self.inner.root.clone();
        self.call("statvfs", root.clone(), 0, move |_, c| async move {
            Ok(c.sftp.fs_info(root).await.ok().flatten())
        })
        .ok()
        .flatten()
        .and_then(|st| st.blocks_avail.checked_mul(st.fragment_size))
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        let path = self.path(key)?;
        let data = data.to_vec();
        let (k, len) = (key.to_string(), data.len() as u64);
        self.call("put", path.clone(), len, move |i, c| async move {
            ops::put(&i, &c, &k, &path, data).await
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        self.call("read", path.clone(), 0, move |i, c| async move {
            ops::read(&i, &c, &path, 0, None).await
        })
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        self.call("read", path.clone(), len, move |i, c| async move {
            ops::read_range(&i, &c, &path, offset, len).await
        })
    }

    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        let path = self.path(key)?;
        self.call("stat", path.clone(), 0, move |i, c| async move {
            ops::size(&i, &c, &path).await
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        let dir = match prefix.trim_end_matches('/') {
            "" => self.inner.root.clone(),
            p => self.path(p)?,
        };
        self.call("list", dir.clone(), 0, move |i, c| async move {
            ops::list(&i, &c, &dir).await
        })
    }

    fn delete(&self, key: &str) -> Result<(), DestError> {
        let path = self.path(key)?;
        self.call("delete", path.clone(), 0, move |i, c| async move {
            ops::remove_file(&i, &c, &path).await
        })
    }

    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        self.call("delete", dir.clone(), 0, move |i, c| async move {
            ops::remove_tree(&i, &c, &dir).await
        })
    }
}
