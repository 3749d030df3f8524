//! Alerts: when a task's status turns `failed`, `degraded` or `stale`, or
//! back to healthy (`recovered`), the `[notify]` command of `strata.toml` is
//! run once for that change — not once per retry — with the event in its
//! environment and as JSON on stdin. What was last sent per task is kept in
//! `notify-state.json`, so a restart neither repeats nor loses an alert.
//! Each attempt is audited as the `notifier`'s action.

use super::rows::{TaskRow, TaskStatus};
use super::service::Core;
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

impl Core {
    fn alert_state_path(&self) -> PathBuf {
        self.home.root().join("notify-state.json")
    }

    /// Looks at every task's status and sends the alerts its changes call
    /// for. Sending runs on threads of its own: a slow command never holds up
    /// the scheduler.
    pub(crate) fn send_alerts(self: &std::sync::Arc<Self>, alerts: &mut Alerts) {
        let settings = self.settings.notify.clone();
        let Some(command) = settings.command.clone() else {
            return;
        };
        let rows: Vec<TaskRow> = match self.task_rows() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("alerts: cannot read the tasks: {e}");
                return;
            }
        };
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
            let wanted = settings
                .on
                .as_ref()
                .is_none_or(|on| on.iter().any(|e| e == event));
            if !wanted {
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
            let (core, cmd) = (self.clone(), command.clone());
            std::thread::spawn(move || core.run_alert(&cmd, &alert));
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
