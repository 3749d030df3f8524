//! Where alerts go: the `[notify]` table of `strata.toml` and a task's own
//! `notify = { … }`, and the checks of their event names and webhook URLs.
//! A webhook URL often carries a token in its path or query (Slack, Teams),
//! so only its origin (`scheme://host[:port]`) is ever shown.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The events `on` may name.
pub const NOTIFY_EVENTS: [&str; 4] = ["failed", "degraded", "stale", "recovered"];

/// Alert settings: global in `strata.toml`, or a task's own, which replaces
/// the global ones for that task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// Events to send (default all: `failed`, `degraded`, `stale`, `recovered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<Vec<String>>,
    /// Command run with `sh -c`: the event in `STRATA_EVENT`, `STRATA_TASK`,
    /// `STRATA_STATUS`, `STRATA_MESSAGE`, and as JSON on stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// URL the alert JSON is POSTed to. Only in `strata.toml` (a private
    /// file): a task keeps its URL in `webhook_file`, so no token reaches the
    /// catalog or an export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// A private file whose content is the webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_file: Option<PathBuf>,
}

impl NotifySettings {
    /// Whether any channel (command or webhook) is set.
    pub fn has_channel(&self) -> bool {
        self.command.is_some() || self.webhook.is_some() || self.webhook_file.is_some()
    }

    /// Whether `event` is one to send.
    pub fn wants(&self, event: &str) -> bool {
        self.on
            .as_ref()
            .is_none_or(|on| on.iter().any(|e| e == event))
    }

    /// Checks event names, the command and the inline webhook URL; errors
    /// carry the key (`on`, `command`, `webhook`) and never the URL itself.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for e in self.on.iter().flatten() {
            if !NOTIFY_EVENTS.contains(&e.as_str()) {
                return Err((
                    "on",
                    format!("{e:?} is not an event; use {}", NOTIFY_EVENTS.join(", ")),
                ));
            }
        }
        if self.command.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(("command", "is empty; give a command or leave it out".into()));
        }
        if let Some(u) = &self.webhook {
            check_webhook_url(u).map_err(|why| ("webhook", why))?;
        }
        if self.webhook.is_some() && self.webhook_file.is_some() {
            return Err(("webhook_file", "and webhook are both set; keep one".into()));
        }
        Ok(())
    }
}

/// A webhook URL must be `http://` or `https://` with a host. The error names
/// what is wrong, never the URL (it may hold a token).
pub fn check_webhook_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("is not a URL ({e}); use https://HOST/PATH"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme {:?}; use http:// or https://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host; use https://HOST/PATH".into());
    }
    Ok(())
}

/// What may be shown of a webhook URL: `scheme://host[:port]`, never its
/// user, path or query (where tokens live).
pub fn webhook_origin(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            (None, _) => "(a webhook without a host)".into(),
        },
        Err(_) => "(an unparsable webhook URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn urls_are_checked_and_shown_without_their_token() {
        assert!(check_webhook_url("https://hooks.slack.com/services/T0/B0/XYZ").is_ok());
        assert!(check_webhook_url("http://127.0.0.1:8080/a?token=s").is_ok());
        for bad in [
            "",
            "hooks.slack.com/x",
            "ftp://h/x",
            "file:///etc/passwd",
            "https://",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
        let err = check_webhook_url("ftp://h/secret-token").unwrap_err();
        assert!(!err.contains("secret-token"), "{err}");
        assert_eq!(
            webhook_origin("https://u:pw@hooks.slack.com/services/T0/B0/XYZ?x=1"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            webhook_origin("http://127.0.0.1:8080/a?token=s"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn settings_name_the_bad_key() {
        let s = NotifySettings {
            on: Some(vec!["fialed".into()]),
            ..Default::default()
        };
        assert_eq!(s.check().unwrap_err().0, "on");
        let s = NotifySettings {
            webhook: Some("mailto:ops@example.com".into()),
            ..Default::default()
        };
        assert_eq!(s.check().unwrap_err().0, "webhook");
        assert!(NotifySettings::default().check().is_ok());
    }

    proptest! {
        #[test]
        fn url_checks_never_panic(s in "\\PC{0,80}") {
            let _ = check_webhook_url(&s);
            let _ = webhook_origin(&s);
            let _ = check_webhook_url(&format!("https://{s}"));
            let origin = webhook_origin(&format!("http://{s}"));
            prop_assert!(!origin.contains('?'));
        }
    }
}
