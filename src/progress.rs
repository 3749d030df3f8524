//! Live counters a running job updates and front ends read without locks.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

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

    /// Whether cancellation was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
