//! Retrying transient destination failures, so a remote backend's dropped
//! connection or timeout costs a pause instead of a failed backup.

use super::{DestError, Destination};
use std::sync::Arc;
use std::time::Duration;

/// How often and how long to retry: exponential backoff with full jitter
/// (each pause is uniform in `0..=min(cap, base * 2^retry)`), so many clients
/// failing together do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// Upper bound of the first pause.
    pub base: Duration,
    /// Upper bound of any pause.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The longest pause before retry number `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// Waits between tries; injectable so tests never sleep.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// A destination whose transient failures are retried. Everything else
/// (missing objects, refusals, permanent failures) is returned at once.
pub struct Retry {
    inner: Arc<dyn Destination>,
    backoff: Backoff,
    sleep: Sleeper,
    // The outermost layer answers for the destination as configured: its
    // `parallel_uploads`, or the kind's own default.
    parallel: Option<usize>,
}

impl Retry {
    /// Wraps `inner` with the default [`Backoff`], sleeping the thread.
    pub fn new(inner: Arc<dyn Destination>) -> Retry {
        Retry::with(inner, Backoff::default(), Arc::new(std::thread::sleep))
    }

    /// The same wrapper, answering `n` for [`Destination::parallel_writes`].
    pub fn with_parallel_writes(mut self, n: usize) -> Retry {
        self.parallel = Some(n);
        self
    }

    /// Wraps `inner` with a given backoff and way of waiting.
    pub fn with(inner: Arc<dyn Destination>, backoff: Backoff, sleep: Sleeper) -> Retry {
        Retry {
            inner,
            backoff,
            sleep,
            parallel: None,
        }
    }

    /// Runs `op` until it succeeds, fails for good or runs out of tries.
    /// `on_retry` hears of each transient failure before the pause.
    fn retrying<T>(
        &self,
        mut on_retry: impl FnMut(),
        mut op: impl FnMut() -> Result<T, DestError>,
    ) -> Result<T, DestError> {
        let mut retry = 0u32;
        loop {
            match op() {
                Err(e) if e.is_transient() && retry + 1 < self.backoff.attempts.max(1) => {
                    on_retry();
                    let ceiling = self.backoff.ceiling(retry).as_micros();
                    let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
                    let pause = Duration::from_micros(rand::random_range(0..=ceiling));
                    tracing::debug!(destination = %self.inner.describe(), retry, ?pause, "retrying after: {e}");
                    (self.sleep)(pause);
                    retry += 1;
                }
                other => return other,
            }
        }
    }
}

impl Destination for Retry {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    // A one-shot query for display: not worth retrying.
    fn free_bytes(&self) -> Option<u64> {
        self.inner.free_bytes()
    }

    fn parallel_writes(&self) -> usize {
        self.parallel
            .unwrap_or_else(|| self.inner.parallel_writes())
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        // A put that failed transiently may still have landed (the reply was
        // lost, not the write). Its retry then finds the key: that is our own
        // write only if the stored bytes are exactly ours.
        let mut may_have_landed = false;
        let result = self.retrying(|| may_have_landed = true, || self.inner.put(key, data));
        match result {
            Err(DestError::Exists { dest, key: k }) if may_have_landed => {
                match self.retrying(|| {}, || self.inner.get(key)) {
                    Ok(stored) if stored == data => Ok(()),
                    _ => Err(DestError::Exists { dest, key: k }),
                }
            }
            other => other,
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        self.retrying(|| {}, || self.inner.get(key))
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        self.retrying(|| {}, || self.inner.get_range(key, offset, len))
    }

    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        self.retrying(|| {}, || self.inner.size(key))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        self.retrying(|| {}, || self.inner.list(prefix))
    }

    fn delete(&self, key: &str) -> Result<(), DestError> {
        self.retrying(|| {}, || self.inner.delete(key))
    }

    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        self.retrying(|| {}, || self.inner.delete_prefix(prefix))
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
