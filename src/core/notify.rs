//! Alerts: when a task's status turns `failed`, `degraded` or `stale`, or
//! back to healthy (`recovered`), the task's notify settings (its own, else
//! `[notify]` of `strata.toml`) are used once for that change — not once per
//! retry: the command gets the event in its environment and as JSON on
//! stdin, the webhook the same JSON by HTTP POST. What was last sent per task
//! is kept in `notify-state.json`, so a restart neither repeats nor loses an
//! alert. Each delivery is audited as the `notifier`'s action.

use super::rows::{TaskRow, TaskStatus};
use super::service::Core;
use crate::model::{NotifySettings, webhook_origin};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long a notify command may run.
const TIMEOUT: Duration = Duration::from_secs(60);

/// One alert, as the command receives it on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `failed`, `degraded`, `stale` or `recovered`.
    pub event: String,
    /// Task name.
    pub task: String,
    /// The task's status now.
    pub status: TaskStatus,
    /// Its status when the last alert (or none) was sent.
    pub previous: TaskStatus,
    /// The newest run's status and message.
    pub message: Option<String>,
    /// When its newest complete backup finished.
    pub last_success: Option<DateTime<Utc>>,
    /// When the change was seen.
    pub at: DateTime<Utc>,
}

/// The statuses last alerted, per task.
#[derive(Debug, Default)]
pub(crate) struct Alerts {
    sent: Option<HashMap<String, TaskStatus>>,
}

fn troubled(s: TaskStatus) -> bool {
    matches!(
        s,
        TaskStatus::Failed | TaskStatus::Degraded | TaskStatus::Stale
    )
}

/// The alert a change from `before` to `now` calls for, if any. Running,
/// paused and missed change nothing: they are not an answer yet.
fn event_of(before: TaskStatus, now: TaskStatus) -> Option<&'static str> {
    match now {
        TaskStatus::Failed if before != now => Some("failed"),
        TaskStatus::Degraded if before != now => Some("degraded"),
        TaskStatus::Stale if before != now => Some("stale"),
        TaskStatus::Active if troubled(before) => Some("recovered"),
        _ => None,
    }
}

/// A task's own notify settings: known events, a command, and a webhook URL
/// only by way of a private file (the catalog and exports hold the path,
/// never the URL and its token).
pub(crate) fn check_task_settings(
    n: &crate::model::NotifySettings,
) -> Result<(), (&'static str, String)> {
    if n.webhook.is_some() {
        return Err((
            "notify.webhook",
            "would keep the URL and its token in the catalog; write the URL into a private \
             file (chmod 600) and name it with webhook_file (--notify-webhook-file)"
                .into(),
        ));
    }
    n.check().map_err(|(key, why)| {
        let key = match key {
            "on" => "notify.on",
            "command" => "notify.command",
            _ => "notify.webhook_file",
        };
        (key, why)
    })?;
    if let Some(f) = &n.webhook_file {
        if !f.is_absolute() {
            return Err((
                "notify.webhook_file",
                format!(
                    "{} is not an absolute path; give the full path",
                    f.display()
                ),
            ));
        }
        super::webhook::read_file(f).map_err(|e| ("notify.webhook_file", e.to_string()))?;
    }
    Ok(())
}

impl Core {
    fn alert_state_path(&self) -> PathBuf {
        self.home.root().join("notify-state.json")
    }

    /// Looks at every task's status and sends the alerts its changes call
    /// for. Sending runs on threads of its own: a slow command never holds up
    /// the scheduler.
    pub(crate) fn send_alerts(self: &std::sync::Arc<Self>, alerts: &mut Alerts) {
        let global = self.settings.notify.clone();
        let rows: Vec<TaskRow> = match self.task_rows() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("alerts: cannot read the tasks: {e}");
                return;
            }
        };
        if !global.has_channel() && rows.iter().all(|r| r.task.notify.is_none()) {
            return;
        }
        let path = self.alert_state_path();
        let sent = alerts.sent.get_or_insert_with(|| {
            std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default()
        });
        let mut changed = false;
        for r in rows {
            let before = sent
                .get(&r.task.name)
                .copied()
                .unwrap_or(TaskStatus::Active);
            let now = r.status;
            let Some(event) = event_of(before, now) else {
                if matches!(now, TaskStatus::Active) && before != now {
                    sent.insert(r.task.name.clone(), now);
                    changed = true;
                }
                continue;
            };
            sent.insert(r.task.name.clone(), now);
            changed = true;
            // A task's own settings replace the global ones, whole.
            let settings = r.task.notify.clone().unwrap_or_else(|| global.clone());
            if !settings.wants(event) || !settings.has_channel() {
                continue;
            }
            let alert = Alert {
                event: event.to_string(),
                task: r.task.name.clone(),
                status: now,
                previous: before,
                message: r.last_result.clone(),
                last_success: r.last_success,
                at: Utc::now(),
            };
            self.deliver(&settings, alert);
        }
        if changed {
            let ok = serde_json::to_vec_pretty(sent)
                .ok()
                .and_then(|b| super::private::write(&path, &b).ok());
            if ok.is_none() {
                tracing::warn!("alerts: could not save {}", path.display());
            }
        }
    }

    /// Starts one thread per channel: a webhook that never answers delays
    /// neither the command nor the scheduler.
    fn deliver(self: &std::sync::Arc<Self>, settings: &NotifySettings, alert: Alert) {
        let alert = std::sync::Arc::new(alert);
        if let Some(cmd) = settings.command.clone() {
            let (core, alert) = (self.clone(), alert.clone());
            std::thread::spawn(move || core.run_alert(&cmd, &alert));
        }
        let hook = match (&settings.webhook, &settings.webhook_file) {
            (Some(url), _) => Some(Ok(url.clone())),
            (None, Some(file)) => Some(super::webhook::read_file(file)),
            (None, None) => None,
        };
        if let Some(url) = hook {
            let (core, alert) = (self.clone(), alert.clone());
            std::thread::spawn(move || core.post_alert(url, &alert));
        }
    }

    fn post_alert(&self, url: Result<String, super::webhook::WebhookError>, alert: &Alert) {
        let json = serde_json::to_vec(alert).unwrap_or_default();
        let outcome = match url {
            Err(e) => {
                tracing::error!(task = %alert.task, "alert not sent: {e}");
                format!("failed: {e}")
            }
            Ok(url) => {
                let origin = webhook_origin(&url);
                match super::webhook::post(&url, &json) {
                    Ok(_) => format!("sent to webhook {origin}"),
                    Err(e) => {
                        tracing::error!(task = %alert.task, "alert not sent to webhook {origin}: {e}");
                        format!("failed: webhook {origin}: {e}")
                    }
                }
            }
        };
        self.record_unknown_access(
            "notifier",
            None,
            "notify",
            &format!("notify {}", alert.event),
            &alert.task,
            &outcome,
        );
    }

    fn run_alert(&self, cmd: &str, alert: &Alert) {
        let status = serde_json::to_value(alert.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let env = vec![
            ("STRATA_EVENT", alert.event.clone()),
            ("STRATA_TASK", alert.task.clone()),
            ("STRATA_STATUS", status),
            ("STRATA_MESSAGE", alert.message.clone().unwrap_or_default()),
        ];
        let json = serde_json::to_vec(alert).unwrap_or_default();
        let outcome = match super::hooks::run_with_input("notify", cmd, &env, Some(json), TIMEOUT) {
            Ok(()) => "sent to the notify command".to_string(),
            Err(f) => {
                tracing::error!(task = %alert.task, "alert not sent: {}", f.message);
                format!("failed: {}", f.message)
            }
        };
        self.record_unknown_access(
            "notifier",
            None,
            "notify",
            &format!("notify {}", alert.event),
            &alert.task,
            &outcome,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    #[test]
    fn one_alert_per_change_and_one_when_it_is_over() {
        assert_eq!(event_of(Active, Failed), Some("failed"));
        assert_eq!(
            event_of(Failed, Failed),
            None,
            "a retry that fails again is no news"
        );
        assert_eq!(event_of(Failed, Running), None);
        assert_eq!(event_of(Failed, Active), Some("recovered"));
        assert_eq!(event_of(Active, Active), None);
        assert_eq!(event_of(Failed, Degraded), Some("degraded"));
        assert_eq!(event_of(Degraded, Stale), Some("stale"));
        assert_eq!(event_of(Active, Paused), None);
        assert_eq!(event_of(Paused, Active), None);
    }
}
