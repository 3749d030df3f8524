//! Running jobs: at most one backup (and one verification) per task, a
//! global limit on parallel jobs, live progress for `strata jobs`, and
//! cancellation.

use super::error::CoreError;
use crate::model::{BackupKind, RunPurpose};
use crate::progress::{Phase, Progress};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};

/// Default number of jobs that may run at once.
pub const DEFAULT_MAX_PARALLEL: usize = 2;

struct Job {
    task: String,
    purpose: RunPurpose,
    kind: BackupKind,
    manual: bool,
    started: DateTime<Utc>,
    running: bool,
    running_since: Option<std::time::Instant>,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    jobs: BTreeMap<u64, Job>,
}

/// Registry of jobs in this process.
pub struct Registry {
    state: Mutex<State>,
    slots: Condvar,
    max_parallel: usize,
    /// Backups the running jobs read from (see [`super::holds`]).
    pub holds: super::holds::Holds,
}

/// A job as front ends see it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct JobView {
    /// Job id (per process).
    pub id: u64,
    /// Task.
    pub task: String,
    /// What the job does: a backup or a verification.
    #[serde(default)]
    pub purpose: RunPurpose,
    /// Kind requested.
    pub kind: BackupKind,
    /// Started by a person rather than the scheduler.
    pub manual: bool,
    /// `queued`, `scan`, `store`, `commit`, …
    pub phase: String,
    /// When it was requested.
    pub started: DateTime<Utc>,
    /// Files processed / to process.
    pub files_done: u64,
    /// Files to process.
    pub files_total: u64,
    /// Bytes read / to read.
    pub bytes_done: u64,
    /// Bytes to read.
    pub bytes_total: u64,
    /// Average read rate since the job started running, bytes per second.
    pub rate_bytes_per_sec: u64,
    /// Estimated seconds left at that rate (unknown while scanning).
    pub eta_secs: Option<u64>,
    /// Each destination's copy of a backup being written, in write order.
    #[serde(default)]
    pub uploads: Vec<UploadView>,
}

/// One destination's upload within a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UploadView {
    /// Destination name.
    pub destination: String,
    /// Pack bytes written there so far.
    pub bytes: u64,
    /// Pack bytes it will have to write, as far as the backup can tell yet.
    pub bytes_expected: u64,
    /// Average write rate since the job started running.
    pub rate_bytes_per_sec: u64,
    /// Estimated seconds until this copy has everything; unknown while scanning.
    pub eta_secs: Option<u64>,
    /// `writing`, `failed` or `written`.
    pub state: String,
}

impl JobView {
    /// The kind column: the backup kind for backups, else the purpose.
    pub fn kind_label(&self) -> &'static str {
        match self.purpose {
            RunPurpose::Backup => self.kind.as_str(),
            p => p.as_str(),
        }
    }
}

/// Holds a job's place; dropping it frees the slot and the task.
pub struct JobGuard<'a> {
    registry: &'a Registry,
    id: u64,
}

impl JobGuard<'_> {
    /// The job's id, as `strata jobs` shows it.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        let mut st = match self.registry.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        st.jobs.remove(&self.id);
        self.registry.slots.notify_all();
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(DEFAULT_MAX_PARALLEL)
    }
}

impl Registry {
    /// A registry allowing `max_parallel` running jobs.
    pub fn new(max_parallel: usize) -> Registry {
        Registry {
            state: Mutex::new(State::default()),
            slots: Condvar::new(),
            max_parallel: max_parallel.max(1),
            holds: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Registers a backup job of `task`, refusing a second one for the same
    /// task, then waits (queued) until a slot is free.
    pub fn start(
        &self,
        task: &str,
        kind: BackupKind,
        manual: bool,
        progress: Arc<Progress>,
    ) -> Result<JobGuard<'_>, CoreError> {
        self.start_with(task, kind, manual, progress, |_| Ok(()))
    }

    /// [`Registry::start`], calling `on_registered` with the job id once the
    /// job is accepted and before it waits for a slot (so the caller can
    /// record it durably first); its error withdraws the job.
    pub fn start_with(
        &self,
        task: &str,
        kind: BackupKind,
        manual: bool,
        progress: Arc<Progress>,
        on_registered: impl FnOnce(u64) -> Result<(), CoreError>,
    ) -> Result<JobGuard<'_>, CoreError> {
        self.start_job(
            task,
            RunPurpose::Backup,
            kind,
            manual,
            progress,
            on_registered,
        )
    }

    /// Registers a job of `purpose` (a backup or a verification): one of
    /// each per task at a time, so a long verification never makes a
    /// scheduled backup miss.
    pub fn start_job(
        &self,
        task: &str,
        purpose: RunPurpose,
        kind: BackupKind,
        manual: bool,
        progress: Arc<Progress>,
        on_registered: impl FnOnce(u64) -> Result<(), CoreError>,
    ) -> Result<JobGuard<'_>, CoreError> {
        let mut st = self.lock();
        if let Some((id, _)) = st
            .jobs
            .iter()
            .find(|(_, j)| j.task == task && j.purpose == purpose)
        {
            return Err(CoreError::Busy(format!(
                "task {task} already has a {} job (job {id}); wait for it to finish or cancel it with 'strata jobs cancel {id}'",
                purpose.as_str()
            )));
        }
        st.next_id += 1;
        let id = st.next_id;
        st.jobs.insert(
            id,
            Job {
                task: task.to_string(),
                purpose,
                kind,
                manual,
                started: Utc::now(),
                running: false,
                running_since: None,
                progress,
            },
        );
        let guard = JobGuard { registry: self, id };
        // Recorded without the lock held: `strata jobs` must not wait on the catalog.
        drop(st);
        on_registered(id)?;
        st = self.lock();
        loop {
            let running = st.jobs.values().filter(|j| j.running).count();
            let cancelled = st.jobs.get(&id).is_some_and(|j| j.progress.cancelled());
            if cancelled {
                drop(st);
                return Err(CoreError::Failed(format!(
                    "job {id} of task {task} was cancelled while queued"
                )));
            }
            if running < self.max_parallel {
                if let Some(j) = st.jobs.get_mut(&id) {
                    j.running = true;
                    j.running_since = Some(std::time::Instant::now());
                }
                break;
            }
            st = match self.slots.wait(st) {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
        }
        Ok(guard)
    }

    /// Whether `task` has a backup job queued or running.
    pub fn is_busy(&self, task: &str) -> bool {
        self.is_doing(task, RunPurpose::Backup)
    }

    /// Whether `task` has a job of `purpose` queued or running.
    pub fn is_doing(&self, task: &str, purpose: RunPurpose) -> bool {
        self.lock()
            .jobs
            .values()
            .any(|j| j.task == task && j.purpose == purpose)
    }

    /// Asks a job to stop; a running backup stops at its next safe point and
    /// leaves nothing partial behind.
    pub fn cancel(&self, id: u64) -> Result<String, CoreError> {
        let st = self.lock();
        let Some(j) = st.jobs.get(&id) else {
            return Err(CoreError::NotFound {
                what: "job",
                name: id.to_string(),
                hint: "list them with 'strata jobs'".into(),
            });
        };
        j.progress.cancel.store(true, Ordering::Relaxed);
        self.slots.notify_all();
        Ok(j.task.clone())
    }

    /// Cancels every job (shutdown).
    pub fn cancel_all(&self) {
        for j in self.lock().jobs.values() {
            j.progress.cancel.store(true, Ordering::Relaxed);
        }
        self.slots.notify_all();
    }

    /// Number of jobs queued or running.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether no job exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every job with its live progress.
    pub fn list(&self) -> Vec<JobView> {
        self.lock()
            .jobs
            .iter()
            .map(|(id, j)| JobView {
                id: *id,
                task: j.task.clone(),
                purpose: j.purpose,
                kind: j.kind,
                manual: j.manual,
                phase: if j.running {
                    match j.progress.phase() {
                        Phase::Done => "finishing".into(),
                        p => p.as_str().into(),
                    }
                } else {
                    "queued".into()
                },
                started: j.started,
                files_done: Progress::get(&j.progress.files_done),
                files_total: Progress::get(&j.progress.files_total),
                bytes_done: Progress::get(&j.progress.bytes_done),
                bytes_total: Progress::get(&j.progress.bytes_total),
                rate_bytes_per_sec: rate(j),
                eta_secs: {
                    let (done, total, r) = (
                        Progress::get(&j.progress.bytes_done),
                        Progress::get(&j.progress.bytes_total),
                        rate(j),
                    );
                    (r > 0 && total >= done && j.progress.phase() != Phase::Scan)
                        .then(|| (total - done) / r)
                },
                uploads: uploads(j),
            })
            .collect()
    }
}

/// The upload gauges of a job, with rates and an estimate of what is left:
/// the packs written so far, scaled by how much of the source was read.
fn uploads(j: &Job) -> Vec<UploadView> {
    let p = &j.progress;
    let produced = Progress::get(&p.produced);
    let (done, total) = (Progress::get(&p.bytes_done), Progress::get(&p.bytes_total));
    let expected = if p.phase() == Phase::Store && done > 0 && total > done {
        (produced as u128 * total as u128 / done as u128).min(u64::MAX as u128) as u64
    } else {
        produced
    };
    let secs = j
        .running_since
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    p.uploads()
        .into_iter()
        .map(|g| {
            let rate = if secs < 0.1 {
                0
            } else {
                (g.bytes as f64 / secs) as u64
            };
            let left = expected.saturating_sub(g.bytes);
            let state = if g.failed {
                "failed"
            } else if p.phase() != Phase::Scan && p.phase() != Phase::Store && left == 0 {
                "written"
            } else {
                "writing"
            };
            UploadView {
                eta_secs: (rate > 0 && !g.failed && p.phase() != Phase::Scan).then(|| left / rate),
                destination: g.destination,
                bytes: g.bytes,
                bytes_expected: expected.max(g.bytes),
                rate_bytes_per_sec: rate,
                state: state.into(),
            }
        })
        .collect()
}

fn rate(j: &Job) -> u64 {
    let secs = j
        .running_since
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    if secs < 0.1 {
        return 0;
    }
    (Progress::get(&j.progress.bytes_done) as f64 / secs) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_per_task_and_a_parallel_limit() {
        let r = Arc::new(Registry::new(1));
        let a = r
            .start("a", BackupKind::Full, true, Arc::default())
            .unwrap();
        assert!(matches!(
            r.start("a", BackupKind::Full, true, Arc::default()),
            Err(CoreError::Busy(_))
        ));
        let r2 = r.clone();
        let waiter = std::thread::spawn(move || {
            r2.start("b", BackupKind::Full, true, Arc::default())
                .map(|_| ())
                .is_ok()
        });
        while r.len() < 2 {
            std::thread::yield_now();
        }
        assert_eq!(
            r.list().iter().filter(|j| j.phase == "queued").count(),
            1,
            "b waits for a slot"
        );
        drop(a);
        assert!(waiter.join().unwrap());
        assert!(r.is_empty());
    }

    #[test]
    fn a_queued_job_can_be_cancelled() {
        let r = Arc::new(Registry::new(1));
        let _a = r
            .start("a", BackupKind::Full, true, Arc::default())
            .unwrap();
        let r2 = r.clone();
        let waiter = std::thread::spawn(move || {
            r2.start("b", BackupKind::Full, true, Arc::default())
                .map(|_| ())
        });
        let id = loop {
            if let Some(j) = r.list().into_iter().find(|j| j.task == "b") {
                break j.id;
            }
            std::thread::yield_now();
        };
        r.cancel(id).unwrap();
        assert!(waiter.join().unwrap().is_err());
    }
}
