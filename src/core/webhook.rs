//! Webhook delivery of alerts: the alert JSON by HTTP POST, with a timeout
//! and retries (exponential backoff with jitter) on connection errors,
//! timeouts, 429 and 5xx. Runs on the caller's thread; the notifier gives
//! each alert a thread of its own, so nothing here can hold up a backup.
//! Errors never carry the URL: its path or query often holds a token.

use std::path::Path;
use std::time::Duration;

/// Attempts per alert (the first try and three retries).
pub const ATTEMPTS: u32 = 4;

/// Seconds one attempt may take.
const TIMEOUT_SECS: u64 = 10;

/// Why an alert did not reach its webhook, or its URL could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The webhook file could not be read.
    #[error("webhook file {path} cannot be read ({why}); check the path")]
    Unreadable {
        /// The file.
        path: String,
        /// The OS error.
        why: String,
    },
    /// The webhook file is readable by others.
    #[error("webhook file {path} is readable by others (mode {mode:04o}); run 'chmod go= {path}'")]
    NotPrivate {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The URL is not a usable webhook URL.
    #[error("the webhook URL {0}")]
    BadUrl(String),
    /// The server answered with a status other than 2xx.
    #[error("HTTP {status} after {attempts} attempt(s)")]
    Status {
        /// The last status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer within the timeout.
    #[error("timed out after {secs} s, {attempts} attempt(s)")]
    Timeout {
        /// The timeout of one attempt.
        secs: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, DNS, TLS).
    #[error("connection failed ({detail}), {attempts} attempt(s)")]
    Connect {
        /// The innermost cause, without the URL.
        detail: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request failed otherwise.
    #[error("request failed ({0})")]
    Request(String),
}

/// Reads a webhook URL from a private file (0600) and checks it.
pub fn read_file(path: &Path) -> Result<String, WebhookError> {
    let shown = path.display().to_string();
    use std::os::unix::fs::PermissionsExt;
    // Followed through symlinks: mounted secrets are often links.
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777);
    if let Ok(mode) = mode
        && !super::private::is_private(mode)
    {
        return Err(WebhookError::NotPrivate { path: shown, mode });
    }
    let text = std::fs::read_to_string(path).map_err(|e| WebhookError::Unreadable {
        path: shown.clone(),
        why: e.kind().to_string(),
    })?;
    let url = text.trim().to_string();
    crate::model::check_webhook_url(&url)
        .map_err(|why| WebhookError::BadUrl(format!("in {shown} {why}")))?;
    Ok(url)
}

fn timeout() -> Duration {
    let secs = std::env::var("STRATA_TEST_WEBHOOK_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// The pause before retry `n` (1-based): 1 s, 2 s, 4 s, plus up to half of
/// it at random, so many Strata hosts alerting at once do not retry in step.
fn backoff(n: u32) -> Duration {
    let base_ms: u64 = std::env::var("STRATA_TEST_WEBHOOK_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let ms = base_ms.saturating_mul(1 << n.saturating_sub(1).min(10));
    let jitter = rand::random_range(0..=ms / 2);
    Duration::from_millis(ms.saturating_add(jitter))
}

/// The innermost cause of a request error: names the failure (refused, DNS,
/// certificate), never the URL.
fn cause(e: &reqwest::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    let text = inner.to_string();
    if text.contains("://") {
        "see the log for the cause".into()
    } else {
        text
    }
}

/// POSTs `body` (JSON) to `url`. Returns the attempts it took.
pub fn post(url: &str, body: &[u8]) -> Result<u32, WebhookError> {
    let limit = timeout();
    let client = reqwest::blocking::Client::builder()
        .timeout(limit)
        .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
        // A redirect would send the alert to a place nobody configured.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| WebhookError::Request(cause(&e)))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send();
        let (retry, err) = match sent {
            Ok(r) if r.status().is_success() => return Ok(attempt),
            Ok(r) => {
                let s = r.status();
                let err = WebhookError::Status {
                    status: s.as_u16(),
                    attempts: attempt,
                };
                (s.is_server_error() || s.as_u16() == 429, err)
            }
            Err(e) if e.is_timeout() => (
                true,
                WebhookError::Timeout {
                    secs: limit.as_secs(),
                    attempts: attempt,
                },
            ),
            Err(e) if e.is_connect() => (
                true,
                WebhookError::Connect {
                    detail: cause(&e),
                    attempts: attempt,
                },
            ),
            Err(e) => (false, WebhookError::Request(cause(&e))),
        };
        if !retry || attempt >= ATTEMPTS {
            return Err(err);
        }
        std::thread::sleep(backoff(attempt));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for n in 1..=3 {
            let d = backoff(n).as_millis() as u64;
            let base = 1000 << (n - 1);
            assert!((base..=base + base / 2).contains(&d), "retry {n}: {d} ms");
        }
    }

    #[test]
    fn a_shared_webhook_file_is_refused_and_errors_hide_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hook");
        std::fs::write(&f, "https://hooks.example.com/T0/secret-token\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_file(&f).unwrap_err();
        assert!(matches!(e, WebhookError::NotPrivate { .. }), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_file(&f).unwrap(),
            "https://hooks.example.com/T0/secret-token"
        );
        std::fs::write(&f, "ftp://hooks.example.com/secret-token").unwrap();
        let e = read_file(&f).unwrap_err().to_string();
        assert!(!e.contains("secret-token"), "{e}");
    }
}
