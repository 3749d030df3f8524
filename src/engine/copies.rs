//! The copies of one backup, one per destination, each with its own fate: an
//! uploader per destination takes packs from a short queue of its own, a
//! destination that fails is dropped from the rest of the run, and the run
//! goes on while at least `required` copies are healthy.

use super::error::EngineError;
use super::repo::CommitMarker;
use super::repository::Repository;
use super::stop;
use crate::progress::Progress;
use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};

/// Packs waiting per destination besides the one being written: a slow
/// destination holds the pack writer back instead of growing a queue.
pub(super) const QUEUE: usize = 1;

/// Most uploaders per destination, whatever it asks for: each may hold a
/// pack in memory.
pub(super) const MAX_PARALLEL_WRITES: usize = crate::dest::MAX_PARALLEL_WRITES;

/// A pack handed to the uploaders; the plaintext is shared, not copied per
/// destination (an encrypted one seals its own copy of the frames).
pub(super) type PackMsg = (u32, Arc<super::sealed::PackData>);

/// How one copy of a backup ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CopyResult {
    /// The destination's name in the catalog.
    pub destination: String,
    /// Why the copy failed; `None` when it is complete (committed).
    pub error: Option<String>,
}

/// A backup that met its required number of copies.
#[derive(Debug, Clone)]
pub struct BackupDone {
    /// The commit marker written on every complete copy.
    pub marker: CommitMarker,
    /// One result per repository of the plan, in plan order.
    pub copies: Vec<CopyResult>,
}

/// The fate of each copy during a run, shared by the uploaders and the run.
pub(super) struct Copies<'a> {
    repos: &'a [Repository],
    required: usize,
    failed: Mutex<Vec<Option<String>>>,
}

impl<'a> Copies<'a> {
    /// Every copy healthy; at least one is always required.
    pub(super) fn new(repos: &'a [Repository], required: usize) -> Copies<'a> {
        Copies {
            repos,
            required: required.max(1),
            failed: Mutex::new(vec![None; repos.len()]),
        }
    }

    fn state(&self) -> MutexGuard<'_, Vec<Option<String>>> {
        // A panicking uploader is already reported as that copy's failure.
        self.failed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks copy `i` failed with `e`; the first error of a copy is kept.
    pub(super) fn fail(&self, i: usize, e: &EngineError) {
        if let Some(slot) = self.state().get_mut(i)
            && slot.is_none()
        {
            *slot = Some(e.to_string());
        }
    }

    /// Whether copy `i` is still healthy.
    pub(super) fn healthy(&self, i: usize) -> bool {
        self.state().get(i).is_some_and(Option::is_none)
    }

    /// Whether too few copies are left for the run to be worth going on.
    pub(super) fn short(&self) -> bool {
        self.state().iter().filter(|f| f.is_none()).count() < self.required
    }

    /// `Err(Copies)` when too few copies are left.
    pub(super) fn check(&self) -> Result<(), EngineError> {
        if !self.short() {
            return Ok(());
        }
        let failed = self
            .repos
            .iter()
            .zip(self.state().iter())
            .filter_map(|(r, f)| f.as_ref().map(|e| (r.name().to_string(), e.clone())))
            .collect();
        Err(EngineError::Copies {
            required: self.required,
            total: self.repos.len(),
            failed,
        })
    }

    /// Runs `put` on every healthy copy at once, so a slow destination does
    /// not delay the others, and fails the copies where it fails.
    pub(super) fn each(&self, put: impl Fn(&Repository) -> Result<(), EngineError> + Sync) {
        std::thread::scope(|s| {
            for (i, r) in self.repos.iter().enumerate() {
                if !self.healthy(i) {
                    continue;
                }
                let put = &put;
                s.spawn(move || {
                    if let Err(e) = put(r) {
                        self.fail(i, &e);
                    }
                });
            }
        });
    }

    /// One result per repository, in plan order.
    pub(super) fn results(&self) -> Vec<CopyResult> {
        self.repos
            .iter()
            .zip(self.state().iter())
            .map(|(r, f)| CopyResult {
                destination: r.name().to_string(),
                error: f.clone(),
            })
            .collect()
    }

    /// One uploader of copy `i` (a destination may have several, sharing
    /// `rx`): writes each pack it takes, and stops at its copy's first failure
    /// (after `Retry` gave up) or when the run is no longer worth finishing.
    /// `counted` counts each pack into `progress.stored` once, when its first
    /// copy holds it.
    pub(super) fn upload(
        &self,
        i: usize,
        backup_id: &str,
        rx: &Mutex<Receiver<PackMsg>>,
        progress: &Progress,
        counted: &Mutex<HashSet<u32>>,
    ) {
        let Some(repo) = self.repos.get(i) else {
            return;
        };
        loop {
            // The lock is held only while waiting for the next pack, never
            // while writing one.
            let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
            let Ok((number, bytes)) = next else {
                return;
            };
            if self.short() || progress.cancelled() || !self.healthy(i) {
                return;
            }
            let stored = match repo.put_pack(backup_id, number, &bytes) {
                Ok(n) => n,
                Err(e) => {
                    self.fail(i, &e);
                    progress.upload_failed(i);
                    return;
                }
            };
            progress.uploaded(i, stored);
            if counted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(number)
            {
                Progress::add(&progress.stored, stored);
            }
            stop::point("after-pack");
        }
    }
}

/// The message of [`EngineError::Copies`]: each failed destination with its error.
pub(super) fn describe_failures(
    required: usize,
    total: usize,
    failed: &[(String, String)],
) -> String {
    let list: Vec<String> = failed.iter().map(|(d, e)| format!("{d}: {e}")).collect();
    format!(
        "{} of {total} copies failed but {required} {} required ({}); nothing was committed and the partial data was removed",
        failed.len(),
        if required == 1 { "is" } else { "are" },
        if list.is_empty() {
            "too few destinations".to_string()
        } else {
            list.join("; ")
        }
    )
}

#[cfg(test)]
#[path = "copies_tests.rs"]
mod tests;
