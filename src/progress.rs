//! Live counters a running job updates and front ends read without locks
//! (the per-destination upload gauges take a short lock once per pack).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

/// How one destination's copy of a running backup is getting on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadGauge {
    /// The destination's name.
    pub destination: String,
    /// Pack bytes written there so far.
    pub bytes: u64,
    /// The copy failed: nothing more is written there in this run.
    pub failed: bool,
}

/// Phase of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Walking the source tree.
    Scan,
    /// Reading, chunking, compressing and storing.
    Store,
    /// Writing the manifest and commit marker.
    Commit,
    /// Restoring files.
    Restore,
    /// Checking stored data.
    Verify,
    /// Finished.
    Done,
}

impl Phase {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scan => "scan",
            Phase::Store => "store",
            Phase::Commit => "commit",
            Phase::Restore => "restore",
            Phase::Verify => "verify",
            Phase::Done => "done",
        }
    }
}

/// Shared progress of one job.
#[derive(Default)]
pub struct Progress {
    phase: AtomicU8,
    /// Files to process.
    pub files_total: AtomicU64,
    /// Files processed.
    pub files_done: AtomicU64,
    /// Bytes to read (backup) or write (restore).
    pub bytes_total: AtomicU64,
    /// Bytes read or written so far.
    pub bytes_done: AtomicU64,
    /// Bytes written to the destination so far.
    pub stored: AtomicU64,
    /// Set to ask the job to stop at the next safe point.
    pub cancel: AtomicBool,
    /// Pack bytes handed to the uploaders (what each copy must write so far).
    pub produced: AtomicU64,
    uploads: Mutex<Vec<UploadGauge>>,
}

impl Progress {
    /// Sets the phase.
    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Scan,
            1 => Phase::Store,
            2 => Phase::Commit,
            3 => Phase::Restore,
            4 => Phase::Verify,
            _ => Phase::Done,
        }
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Starts one upload gauge per destination, in plan order.
    pub fn begin_uploads(&self, destinations: impl IntoIterator<Item = String>) {
        *self.gauges() = destinations
            .into_iter()
            .map(|destination| UploadGauge {
                destination,
                ..Default::default()
            })
            .collect();
    }

    /// Counts `bytes` written to destination `i`.
    pub fn uploaded(&self, i: usize, bytes: u64) {
        if let Some(g) = self.gauges().get_mut(i) {
            g.bytes += bytes;
        }
    }

    /// Marks destination `i`'s copy failed.
    pub fn upload_failed(&self, i: usize) {
        if let Some(g) = self.gauges().get_mut(i) {
            g.failed = true;
        }
    }

    /// The upload gauges, in plan order (empty outside a backup's store phase).
    pub fn uploads(&self) -> Vec<UploadGauge> {
        self.gauges().clone()
    }

    fn gauges(&self) -> std::sync::MutexGuard<'_, Vec<UploadGauge>> {
        // Plain counters: a panic elsewhere leaves them usable.
        self.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether cancellation was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
