//! A repository under a key prefix of an object store (S3 and compatibles,
//! Azure Blob), over the `object_store` crate. Every call runs on the
//! destinations' runtime ([`super::runtime::run`]) and the calling thread
//! waits; the client's own retries are off (see [`client_options`]) because
//! [`super::retry::Retry`] retries with backoff and jitter around us.
//!
//! Puts are single requests with `If-None-Match: *` ([`PutMode::Create`]):
//! the object appears whole or not at all, and an existing key is never
//! replaced. Packs are not uploaded in parts: `object_store`'s multipart
//! upload has no create-only mode (S3's `CompleteMultipartUpload` takes
//! `If-None-Match` only on some servers), so a multipart pack could replace
//! an object another writer made. A pack is bounded in size, so one request
//! per pack is what we do.

use super::{DestError, Destination, Failure, check_key, runtime};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig,
};
use std::future::Future;
use std::io::ErrorKind as IoKind;
use std::sync::Arc;
use std::time::Duration;

/// The error of opening an object-store destination: `denied` for
/// credentials that cannot be used, else permanent (a bad URL or setting).
pub(super) fn refuse_open(dest: &str, at: &str, why: String, denied: bool) -> DestError {
    let failure = Failure {
        dest: dest.to_string(),
        op: "open",
        at: at.to_string(),
        source: std::io::Error::other(why),
    };
    if denied {
        DestError::Denied(failure)
    } else {
        DestError::Permanent(failure)
    }
}

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take, its body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Objects deleted at once by [`Destination::delete_prefix`].
const DELETE_CONCURRENCY: usize = 8;

/// The HTTP client settings of every object store destination.
pub fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
        .with_allow_http(allow_http)
}

/// No retries inside the client: our [`super::retry::Retry`] does them.
pub fn retry_config() -> RetryConfig {
    RetryConfig {
        max_retries: 0,
        retry_timeout: REQUEST_TIMEOUT,
        ..RetryConfig::default()
    }
}

/// Repository under `prefix` of an object store.
pub struct ObjectDest {
    store: Arc<dyn ObjectStore>,
    /// Key prefix without leading or trailing `/`; empty for the whole bucket.
    prefix: String,
    describe: String,
    /// Sent with every put (the S3 storage class).
    attributes: Attributes,
}

impl ObjectDest {
    /// Keys of `store` below `prefix`, described as `describe` in messages.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, describe: String) -> ObjectDest {
        ObjectDest {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            describe,
            attributes: Attributes::new(),
        }
    }

    /// Sends `class` as the storage class of every object written.
    pub fn with_storage_class(mut self, class: Option<&str>) -> ObjectDest {
        if let Some(c) = class {
            self.attributes
                .insert(Attribute::StorageClass, c.to_string().into());
        }
        self
    }

    fn full(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// The store path of `key`.
    fn path(&self, key: &str) -> Result<Path, DestError> {
        check_key(&self.describe, key)?;
        Path::parse(self.full(key)).map_err(|_| DestError::BadKey {
            dest: self.describe.clone(),
            key: key.to_string(),
        })
    }

    /// The store path of "directory" `prefix`; `None` for the bucket's root.
    fn dir(&self, prefix: &str) -> Result<Option<Path>, DestError> {
        match prefix.trim_end_matches('/') {
            "" if self.prefix.is_empty() => Ok(None),
            "" => Ok(Some(Path::from(self.prefix.as_str()))),
            p => self.path(p).map(Some),
        }
    }

    /// Runs `fut` on the destinations' runtime; its error is classified as
    /// a failure of `op` on `key`.
    fn call<T, Fut>(&self, op: &'static str, key: &str, fut: Fut) -> Result<T, DestError>
    where
        T: Send + 'static,
        Fut: Future<Output = object_store::Result<T>> + Send + 'static,
    {
        match runtime::run(op, fut) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&self.describe, op, key, &e)),
            Err(e) => Err(DestError::io(self.describe.clone(), op, key.to_string(), e)),
        }
    }

    fn eof(&self, key: &str, offset: u64, len: u64, got: usize) -> DestError {
        DestError::Permanent(Failure {
            dest: self.describe.clone(),
            op: "read",
            at: key.to_string(),
            source: std::io::Error::new(
                IoKind::UnexpectedEof,
                format!("wanted {len} bytes at offset {offset}, got {got}: the object is shorter"),
            ),
        })
    }
}

/// Packs in flight per object-store destination: each put waits on round
/// trips, so a few at once fill a link that one would not.
const PARALLEL_PUTS: usize = 4;

impl Destination for ObjectDest {
    fn describe(&self) -> String {
        self.describe.clone()
    }
    fn parallel_writes(&self) -> usize {
        PARALLEL_PUTS
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes: self.attributes.clone(),
            ..PutOptions::default()
        };
        let payload = PutPayload::from(Bytes::copy_from_slice(data));
        self.call("put", key, async move {
            store.put_opts(&path, payload, opts).await.map(|_| ())
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        self.call("read", key, async move {
            let got = store.get(&path).await?;
            Ok(got.bytes().await?.to_vec())
        })
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        let end = offset.saturating_add(len);
        if len == 0 {
            // No empty range in HTTP: look the object up instead.
            return match self.size(key)? {
                Some(size) if size >= offset => Ok(Vec::new()),
                Some(_) => Err(self.eof(key, offset, len, 0)),
                None => Err(DestError::NotFound {
                    dest: self.describe.clone(),
                    key: key.to_string(),
                }),
            };
        }
        let got = self.call("read", key, async move {
            store.get_range(&path, offset..end).await
        });
        let got = match got {
            Ok(b) => b,
            // A range past the end: what a short local file gives too.
            Err(DestError::Permanent(f)) if f.source.to_string().contains("416") => {
                return Err(self.eof(key, offset, len, 0));
            }
            Err(e) => return Err(e),
        };
        if (got.len() as u64) < len {
            return Err(self.eof(key, offset, len, got.len()));
        }
        Ok(got.to_vec())
    }

    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        match self.call("stat", key, async move { store.head(&path).await }) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(DestError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        let dir = self.dir(prefix)?;
        let store = self.store.clone();
        let listed = self.call("list", prefix, async move {
            store.list_with_delimiter(dir.as_ref()).await
        });
        let listed = match listed {
            Ok(l) => l,
            Err(DestError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<String> = listed
            .common_prefixes
            .iter()
            .chain(listed.objects.iter().map(|m| &m.location))
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn delete(&self, key: &str) -> Result<(), DestError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        match self.call("delete", key, async move { store.delete(&path).await }) {
            Ok(()) | Err(DestError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        let store = self.store.clone();
        self.call("delete", prefix, async move {
            let keys: Vec<Path> = store
                .list(Some(&dir))
                .map_ok(|m| m.location)
                .try_collect()
                .await?;
            futures_util::stream::iter(keys)
                .map(|p| {
                    let store = store.clone();
                    async move {
                        match store.delete(&p).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                })
                .buffer_unordered(DELETE_CONCURRENCY)
                .try_collect::<Vec<()>>()
                .await
                .map(|_| ())
        })
    }
}

/// Classifies an `object_store` error of `op` on `key` (see [`DestError`]):
/// missing, exists, denied (401/403), transient (timeouts, connection
/// failures, 408, 429, 5xx) or permanent. The message names the destination,
/// the operation and the key, and of the server's answer only its status and
/// error code, never a request's headers or signature.
pub fn classify(dest: &str, op: &'static str, key: &str, e: &object_store::Error) -> DestError {
    use object_store::Error as E;
    let failure = |kind: IoKind, why: String| Failure {
        dest: dest.to_string(),
        op,
        at: key.to_string(),
        source: std::io::Error::new(kind, why),
    };
    match e {
        E::NotFound { .. } => DestError::NotFound {
            dest: dest.to_string(),
            key: key.to_string(),
        },
        E::AlreadyExists { .. } | E::Precondition { .. } => DestError::Exists {
            dest: dest.to_string(),
            key: key.to_string(),
        },
        E::PermissionDenied { source, .. } | E::Unauthenticated { source, .. } => {
            DestError::Denied(failure(
                IoKind::PermissionDenied,
                format!(
                    "{}; check the credentials and that they may use this bucket or container",
                    answer(source.as_ref())
                ),
            ))
        }
        E::Generic { source, .. } => {
            let why = answer(source.as_ref());
            match status_of(source.as_ref()) {
                Some(401 | 403) => DestError::Denied(failure(
                    IoKind::PermissionDenied,
                    format!(
                        "{why}; check the credentials and that they may use this bucket or container"
                    ),
                )),
                Some(404) => DestError::NotFound {
                    dest: dest.to_string(),
                    key: key.to_string(),
                },
                Some(409 | 412) if op == "put" => DestError::Exists {
                    dest: dest.to_string(),
                    key: key.to_string(),
                },
                Some(408 | 429 | 500..=599) => DestError::Transient(failure(IoKind::Other, why)),
                Some(_) => DestError::Permanent(failure(IoKind::Other, why)),
                None => match transport_kind(source.as_ref()) {
                    Some(kind) => DestError::Transient(failure(kind, why)),
                    None => DestError::Permanent(failure(IoKind::Other, why)),
                },
            }
        }
        other => DestError::Permanent(failure(IoKind::Other, other.to_string())),
    }
}

type StdError = dyn std::error::Error + Send + Sync + 'static;

/// The HTTP status the server answered, from the client's message
/// (`… status code: 503 Service Unavailable …`): the error type that holds
/// it is private to `object_store`.
fn status_of(e: &StdError) -> Option<u16> {
    let text = e.to_string();
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// For a request that got no answer: the I/O kind of what went wrong
/// (timeout, refused, reset, a body cut short), `None` when it is not a
/// transport failure worth retrying.
fn transport_kind(e: &StdError) -> Option<IoKind> {
    use object_store::client::{HttpError, HttpErrorKind as H};
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut found = None;
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            let k = io.kind();
            if DestError::io(String::new(), "", String::new(), std::io::Error::from(k))
                .is_transient()
            {
                return Some(k);
            }
        }
        if let Some(h) = err.downcast_ref::<HttpError>() {
            found = match h.kind() {
                H::Timeout => Some(IoKind::TimedOut),
                H::Connect => Some(IoKind::ConnectionRefused),
                H::Request | H::Interrupted => Some(IoKind::ConnectionReset),
                // A response body that ends early decodes badly.
                H::Decode => Some(IoKind::UnexpectedEof),
                _ => found,
            };
        }
        cur = err.source();
    }
    found
}

/// What the server said, short: its status and error code (`<Code>` of
/// S3's and Azure's XML answers); for a request without an answer, the
/// innermost cause (`Connection refused`, `operation timed out`).
fn answer(e: &StdError) -> String {
    let text = e.to_string();
    if let Some(at) = text.find("status code: ") {
        let rest = &text[at + "status code: ".len()..];
        let status = rest.split(':').next().unwrap_or(rest).trim();
        let code = text
            .split_once("<Code>")
            .and_then(|(_, r)| r.split_once("</Code>"))
            .map(|(c, _)| c)
            .filter(|c| c.len() < 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric()));
        return match code {
            Some(c) => format!("the server answered {status} ({c})"),
            None => format!("the server answered {status}"),
        };
    }
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let inner = cur.to_string();
    if inner.is_empty() || std::ptr::addr_eq(cur, e as &(dyn std::error::Error + 'static)) {
        text
    } else {
        format!("no answer from the server: {inner}")
    }
}

#[cfg(test)]
#[path = "object_tests.rs"]
mod tests;
