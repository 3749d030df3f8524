//! Events the core publishes: front ends subscribe and re-read the read models
//! they show when something changed, instead of polling the catalog.

use serde::Serialize;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Something that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A mutating action finished (see the audit log for details).
    Changed {
        /// Action, e.g. `backup delete`.
        action: String,
        /// What it acted on.
        target: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// A backup job was queued.
    JobQueued {
        /// Task.
        task: String,
    },
    /// A backup job ended (committed, failed or cancelled).
    JobFinished {
        /// Task.
        task: String,
        /// The committed backup, if any.
        backup: Option<String>,
        /// `complete`, `partial`, `failed` or `interrupted`.
        status: String,
    },
}

/// Subscribers per bus; each gets a bounded queue so a slow front end can
/// never stall the core: when its queue is full it misses events (and should
/// re-read everything on its next tick), it never blocks the sender.
const QUEUE: usize = 256;

/// A broadcast of events to any number of subscribers.
#[derive(Default)]
pub struct Bus {
    subscribers: Mutex<Vec<SyncSender<Event>>>,
}

impl Bus {
    /// A new subscription.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = sync_channel(QUEUE);
        match self.subscribers.lock() {
            Ok(mut s) => s.push(tx),
            Err(p) => p.into_inner().push(tx),
        }
        rx
    }

    /// Sends `e` to every live subscriber; gone ones are dropped.
    pub(crate) fn publish(&self, e: Event) {
        let mut subs = match self.subscribers.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        subs.retain(|s| !matches!(s.try_send(e.clone()), Err(TrySendError::Disconnected(_))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_events_and_slow_ones_never_block() {
        let bus = Bus::default();
        let a = bus.subscribe();
        let b = bus.subscribe();
        bus.publish(Event::JobQueued { task: "t".into() });
        assert_eq!(a.try_recv().unwrap(), Event::JobQueued { task: "t".into() });
        assert_eq!(b.try_recv().unwrap(), Event::JobQueued { task: "t".into() });
        drop(a);
        for _ in 0..(QUEUE * 2) {
            bus.publish(Event::JobQueued { task: "t".into() });
        }
        assert_eq!(
            b.try_iter().count(),
            QUEUE,
            "a full queue drops, never blocks"
        );
        assert_eq!(
            bus.subscribers.lock().unwrap().len(),
            1,
            "a dropped subscriber is forgotten"
        );
    }

    #[test]
    fn a_subscriber_sees_jobs_and_changes() {
        use crate::core::Core;
        use crate::core::access::{Caller, Role};
        use crate::core::home::Home;
        use crate::model::{BackupKind, DestinationConfig, DestinationKind, TaskConfig};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/f"), "x").unwrap();
        let core = Core::open(Home::at(dir.path().join("home")), "test").unwrap();
        let rx = core.events.subscribe();
        let admin = Caller {
            name: "ops".into(),
            role: Role::Admin,
            origin: "local".into(),
        };
        let core = std::sync::Arc::new(core);
        core.perform(
            &admin,
            crate::core::Action::AddDestination {
                config: Box::new(DestinationConfig {
                    name: "d".into(),
                    kind: DestinationKind::Local {
                        path: dir.path().join("repo"),
                    },
                    repo_id: None,
                    rate_limit: None,
                    encryption: None,
                    parallel_uploads: None,
                }),
                accept_new_host_key: false,
                key_of: None,
            },
        )
        .unwrap();
        core.add_task(TaskConfig::dir_to("t", dir.path().join("src"), "d"))
            .unwrap();
        let o = core
            .run_backup_job("t", BackupKind::Full, false, Default::default())
            .unwrap();
        let got: Vec<Event> = rx.try_iter().collect();
        assert_eq!(
            got,
            vec![
                Event::Changed {
                    action: "dest add".into(),
                    target: "d".into(),
                    ok: true
                },
                Event::JobQueued { task: "t".into() },
                Event::JobFinished {
                    task: "t".into(),
                    backup: Some(o.backup.id.clone()),
                    status: "complete".into()
                },
            ]
        );
    }
}
