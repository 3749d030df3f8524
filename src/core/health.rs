//! Destination health checks that never block a caller: each check (open the
//! repository, ask for free space) runs on its own thread, at most one per
//! destination at a time, and callers read the newest result from a cache.
//! A hung mount or a slow store then shows as `timed out` instead of freezing
//! the console that asked.

use super::rows::HealthState;
use super::service::probe_repository;
use crate::model::DestinationConfig;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a check may take before its destination shows as timed out.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// How old a result may be before a reader starts a new check.
const REFRESH: Duration = Duration::from_secs(5);

/// What one finished check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Why the repository cannot be used, `None` when it opened.
    pub problem: Option<String>,
    /// Free bytes, when the destination can tell.
    pub free_bytes: Option<u64>,
    /// When the check finished.
    pub at: DateTime<Utc>,
    /// How long opening the repository took: a slow link shows before it fails.
    pub took_ms: u64,
    /// The repository is encrypted and no passphrase is available here.
    pub locked: bool,
}

/// A destination's health as a reader sees it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Ok, unreachable, checking or timed out.
    pub state: HealthState,
    /// The newest finished check (possibly older than a check in flight).
    pub last: Option<Probe>,
}

#[derive(Default)]
struct Entry {
    /// The definition checked: a changed one (re-added elsewhere) starts over.
    config: Option<DestinationConfig>,
    last: Option<Probe>,
    /// When the check in flight started.
    started: Option<Instant>,
    /// Bumped per started check, so a stale thread cannot overwrite a newer
    /// definition's result.
    generation: u64,
}

#[derive(Default)]
struct Shared {
    entries: Mutex<HashMap<String, Entry>>,
    done: Condvar,
}

/// How a destination is checked (replaceable in tests by a slow one).
type ProbeFn = dyn Fn(&DestinationConfig) -> Probe + Send + Sync;

/// The cache of destination checks a core keeps.
#[derive(Clone)]
pub struct Health {
    shared: Arc<Shared>,
    probe: Arc<ProbeFn>,
    timeout: Duration,
}

impl Default for Health {
    fn default() -> Self {
        Health::with(Arc::new(probe), CHECK_TIMEOUT)
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

impl Health {
    /// A cache whose checks are `probe`, reported timed out after `timeout`.
    fn with(probe: Arc<ProbeFn>, timeout: Duration) -> Health {
        Health {
            shared: Arc::default(),
            probe,
            timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panicking check thread cannot leave the map half-written: every
        // update is a plain field assignment.
        self.shared
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The health of each destination from the cache, starting a check for
    /// those never checked or checked more than a few seconds ago. Never waits.
    pub fn peek(&self, configs: &[DestinationConfig]) -> Vec<Seen> {
        let mut map = self.lock();
        // Forget removed destinations (a check still in flight for one then
        // finds no entry and drops its result).
        map.retain(|name, _| configs.iter().any(|c| &c.name == name));
        configs
            .iter()
            .map(|cfg| {
                let e = self.entry(&mut map, cfg);
                let stale = e
                    .last
                    .as_ref()
                    .is_none_or(|p| (Utc::now() - p.at).to_std().unwrap_or_default() >= REFRESH);
                if stale {
                    self.start(e, cfg);
                }
                self.seen(e)
            })
            .collect()
    }

    /// Checks every destination afresh (joining a check already in flight)
    /// and waits until they finish or `timeout` passes, for commands that
    /// report a definitive state (`dest list`).
    pub fn check(&self, configs: &[DestinationConfig], timeout: Duration) -> Vec<Seen> {
        let mut map = self.lock();
        for cfg in configs {
            let e = self.entry(&mut map, cfg);
            self.start(e, cfg);
        }
        // Counted from after the checks started: a deadline taken before
        // could pass while a check is a hair short of its timeout, and the
        // caller would be told `checking` instead of `timed out`.
        let deadline = Instant::now() + timeout.min(self.timeout);
        loop {
            // A check stuck past its timeout is not waited for again.
            let pending = configs.iter().any(|cfg| {
                map.get(&cfg.name)
                    .and_then(|e| e.started)
                    .is_some_and(|s| s.elapsed() < self.timeout)
            });
            let now = Instant::now();
            if !pending || now >= deadline {
                break;
            }
            map = match self.shared.done.wait_timeout(map, deadline - now) {
                Ok((m, _)) => m,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        configs
            .iter()
            .map(|cfg| map.get(&cfg.name).map(|e| self.seen(e)).unwrap_or(UNKNOWN))
            .collect()
    }

    fn entry<'m>(
        &self,
        map: &'m mut HashMap<String, Entry>,
        cfg: &DestinationConfig,
    ) -> &'m mut Entry {
        let e = map.entry(cfg.name.clone()).or_default();
        if e.config.as_ref() != Some(cfg) {
            // Another definition under this name: the old result says nothing
            // about it, and a check in flight is for the old one.
            let generation = e.generation + 1;
            *e = Entry {
                config: Some(cfg.clone()),
                generation,
                ..Entry::default()
            };
        }
        e
    }

    /// Starts a check unless one is in flight (even a timed-out one: its
    /// thread is stuck in I/O, and a second would only pile up).
    fn start(&self, e: &mut Entry, cfg: &DestinationConfig) {
        if e.started.is_some() {
            return;
        }
        e.generation += 1;
        e.started = Some(Instant::now());
        let generation = e.generation;
        let cfg = cfg.clone();
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("check {}", cfg.name))
            .spawn(move || {
                let probe = (me.probe)(&cfg);
                let mut map = me.lock();
                if let Some(e) = map.get_mut(&cfg.name)
                    && e.generation == generation
                {
                    e.last = Some(probe);
                    e.started = None;
                }
                drop(map);
                me.shared.done.notify_all();
            });
        if let Err(err) = spawned {
            e.started = None;
            e.last = Some(Probe {
                problem: Some(format!("could not start the check: {err}")),
                free_bytes: None,
                at: Utc::now(),
                took_ms: 0,
                locked: false,
            });
        }
    }
}

const UNKNOWN: Seen = Seen {
    state: HealthState::Checking,
    last: None,
};

impl Health {
    fn seen(&self, e: &Entry) -> Seen {
        let timed_out = e.started.is_some_and(|s| s.elapsed() >= self.timeout);
        let state = match &e.last {
            _ if timed_out => HealthState::TimedOut,
            None => HealthState::Checking,
            Some(p) if p.problem.is_none() => HealthState::Ok,
            Some(p) if p.locked => HealthState::Locked,
            Some(_) => HealthState::Unreachable,
        };
        Seen {
            state,
            last: e.last.clone(),
        }
    }
}

/// The check itself: the same repository open a backup makes first.
fn probe(cfg: &DestinationConfig) -> Probe {
    let t0 = Instant::now();
    let (problem, free_bytes, locked) = match probe_repository(cfg) {
        Ok(repo) => (None, repo.free_bytes(), false),
        Err(e) => {
            let locked = matches!(
                e,
                super::error::CoreError::Engine(crate::engine::EngineError::Locked { .. })
            );
            (Some(e.to_string()), None, locked)
        }
    };
    Probe {
        locked,
        problem,
        free_bytes,
        at: Utc::now(),
        took_ms: u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DestinationKind;

    fn missing(dir: &std::path::Path) -> DestinationConfig {
        DestinationConfig {
            name: "d".into(),
            kind: DestinationKind::Local {
                path: dir.join("gone"),
            },
            repo_id: None,
            rate_limit: None,
            encryption: None,
            parallel_uploads: None,
        }
    }

    #[test]
    fn check_waits_for_the_result_and_peek_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = missing(dir.path());
        let h = Health::default();
        let got = h.check(std::slice::from_ref(&cfg), CHECK_TIMEOUT);
        assert_eq!(got[0].state, HealthState::Unreachable);
        let problem = got[0].last.as_ref().unwrap().problem.clone().unwrap();
        assert!(problem.contains("holds no Strata repository"), "{problem}");
        let again = h.peek(std::slice::from_ref(&cfg));
        assert_eq!(again[0].state, HealthState::Unreachable);
    }

    #[test]
    fn a_hung_check_times_out_and_is_not_started_twice() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = missing(dir.path());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Mutex::new(hold);
        let count = started.clone();
        let h = Health::with(
            Arc::new(move |_: &DestinationConfig| {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Hangs like a stale mount until the test lets it go.
                let _ = hold.lock().unwrap().recv();
                Probe {
                    problem: None,
                    free_bytes: Some(1),
                    at: Utc::now(),
                    took_ms: 0,
                    locked: false,
                }
            }),
            Duration::from_millis(200),
        );
        let t0 = Instant::now();
        let first = h.check(std::slice::from_ref(&cfg), Duration::from_secs(60));
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "waited past the timeout"
        );
        assert_eq!(first[0].state, HealthState::TimedOut);
        let t1 = Instant::now();
        assert_eq!(
            h.peek(std::slice::from_ref(&cfg))[0].state,
            HealthState::TimedOut
        );
        let again = h.check(std::slice::from_ref(&cfg), Duration::from_secs(60));
        assert!(
            t1.elapsed() < Duration::from_millis(100),
            "a stuck check is not waited for again"
        );
        assert_eq!(again[0].state, HealthState::TimedOut);
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Once it answers, its result shows.
        release.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while h.peek(std::slice::from_ref(&cfg))[0].state != HealthState::Ok {
            assert!(Instant::now() < deadline, "the answer never landed");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn peek_never_waits_and_says_checking_first() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = missing(dir.path());
        let h = Health::default();
        let first = h.peek(std::slice::from_ref(&cfg));
        // Either the thread already answered or the row says so.
        assert!(matches!(
            first[0].state,
            HealthState::Checking | HealthState::Unreachable
        ));
    }
}
