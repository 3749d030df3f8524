//! Scheduled verification: when each task's `verify` schedule is next due.
//! Unlike backups, a verification missed while Strata was down is not caught
//! up: the next one checks the same backups, so running late adds nothing.

use super::scheduler::{next_fire, parse_tz};
use crate::model::TaskConfig;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

/// A verification that is due now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueVerify {
    /// Task whose backups are checked.
    pub task: String,
    /// Percent of packs whose data is read (0: structure only).
    pub sample: u8,
}

/// Next due time per task, kept in memory.
#[derive(Debug, Default)]
pub struct VerifyTimer {
    next: HashMap<String, (String, DateTime<Utc>)>,
}

/// When `task`'s verification is next due strictly after `after`, in the
/// task's zone; `None` without a (usable) schedule.
pub fn next_verify(task: &TaskConfig, host_tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let expr = task.verify.as_deref()?;
    let tz = match &task.timezone {
        Some(name) => parse_tz(name).ok()?,
        None => host_tz,
    };
    let schedule = super::schedule::parse_cron(expr).ok()?;
    next_fire(&schedule, tz, after)
}

impl VerifyTimer {
    /// The verifications due at `now` among `tasks`; paused tasks and tasks
    /// without a schedule are forgotten, a changed schedule starts afresh.
    pub fn due(&mut self, tasks: &[TaskConfig], host_tz: Tz, now: DateTime<Utc>) -> Vec<DueVerify> {
        let mut due = Vec::new();
        let mut seen = HashMap::new();
        for t in tasks.iter().filter(|t| !t.paused) {
            let Some(expr) = &t.verify else { continue };
            let key = format!("{expr}@{}", t.timezone.as_deref().unwrap_or(""));
            let next = match self.next.get(&t.name) {
                Some((k, at)) if *k == key => Some(*at),
                _ => next_verify(t, host_tz, now),
            };
            let Some(mut at) = next else { continue };
            if at <= now {
                due.push(DueVerify {
                    task: t.name.clone(),
                    sample: t.verify_read_data.unwrap_or(0),
                });
                match next_verify(t, host_tz, now) {
                    Some(n) => at = n,
                    None => continue,
                }
            }
            seen.insert(t.name.clone(), (key, at));
        }
        self.next = seen;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn task(verify: Option<&str>) -> TaskConfig {
        let mut t = TaskConfig::dir_to("t", "/srv".into(), "d");
        t.verify = verify.map(Into::into);
        t.verify_read_data = Some(10);
        t.timezone = Some("UTC".into());
        t
    }

    #[test]
    fn a_verification_fires_once_per_due_time_and_is_not_caught_up() {
        let mut timer = VerifyTimer::default();
        let tasks = vec![task(Some("0 4 * * *"))];
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        assert!(timer.due(&tasks, Tz::UTC, at(1, 3, 0)).is_empty());
        let due = timer.due(&tasks, Tz::UTC, at(1, 4, 0));
        assert_eq!(
            due,
            [DueVerify {
                task: "t".into(),
                sample: 10
            }]
        );
        assert!(timer.due(&tasks, Tz::UTC, at(1, 4, 1)).is_empty());
        // Three days of downtime: one verification, not three.
        assert_eq!(timer.due(&tasks, Tz::UTC, at(4, 5, 0)).len(), 1);
        assert!(timer.due(&tasks, Tz::UTC, at(4, 5, 1)).is_empty());
    }

    #[test]
    fn paused_or_unscheduled_tasks_never_verify() {
        let mut timer = VerifyTimer::default();
        let mut paused = task(Some("* * * * *"));
        paused.paused = true;
        let tasks = vec![paused, task(None)];
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        for m in 0..5 {
            assert!(
                timer
                    .due(&tasks, Tz::UTC, now + chrono::TimeDelta::minutes(m))
                    .is_empty()
            );
        }
    }
}
