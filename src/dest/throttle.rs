//! `rate_limit`: writes to a destination kept under a number of bytes per
//! second (an uplink shared with production traffic), by a token bucket
//! shared by every uploader of the process writing there.

use super::{DestError, Destination};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The arithmetic of the limit, apart from the clock so it can be tested.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    /// Bytes that may go at once: one second's worth.
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket of `rate` bytes per second at `now`.
    pub fn new(rate: u64, now: Instant) -> Bucket {
        let rate = rate.max(1) as f64;
        Bucket {
            rate,
            burst: rate,
            tokens: rate,
            last: now,
        }
    }

    /// Takes `n` bytes at `now`; returns how long the writer must wait first.
    /// A write larger than the burst borrows: the debt is paid by waiting.
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

type Shared = Arc<Mutex<Bucket>>;

/// One bucket per place and rate in the process: a backup and a sync
/// writing to the same destination share its limit.
fn shared(place: &str, rate: u64) -> Shared {
    static BUCKETS: OnceLock<Mutex<HashMap<(String, u64), Shared>>> = OnceLock::new();
    let mut all = BUCKETS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    all.entry((place.to_string(), rate))
        .or_insert_with(|| Arc::new(Mutex::new(Bucket::new(rate, Instant::now()))))
        .clone()
}

/// A destination whose writes wait for the bucket.
pub struct Throttle {
    inner: Arc<dyn Destination>,
    bucket: Shared,
}

impl Throttle {
    /// Limits writes to `inner` (at `place`) to `rate` bytes per second.
    pub fn new(inner: Arc<dyn Destination>, place: &str, rate: u64) -> Throttle {
        Throttle {
            inner,
            bucket: shared(place, rate),
        }
    }

    fn wait_for(&self, n: usize) {
        let wait = {
            let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            b.take(n as u64, Instant::now())
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

impl Destination for Throttle {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn put(&self, key: &str, data: &[u8]) -> Result<(), DestError> {
        self.wait_for(data.len());
        self.inner.put(key, data)
    }
    fn get(&self, key: &str) -> Result<Vec<u8>, DestError> {
        self.inner.get(key)
    }
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, DestError> {
        self.inner.get_range(key, offset, len)
    }
    fn size(&self, key: &str) -> Result<Option<u64>, DestError> {
        self.inner.size(key)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>, DestError> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), DestError> {
        self.inner.delete(key)
    }
    fn delete_prefix(&self, prefix: &str) -> Result<(), DestError> {
        self.inner.delete_prefix(prefix)
    }
    fn free_bytes(&self) -> Option<u64> {
        self.inner.free_bytes()
    }
    fn parallel_writes(&self) -> usize {
        self.inner.parallel_writes()
    }
}

#[cfg(test)]
mod tests {
    use super::Bucket;
    use std::time::{Duration, Instant};

    #[test]
    fn writes_wait_so_the_average_stays_at_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1000, t0);
        // A second's worth goes at once, the next second's must wait for it.
        assert_eq!(b.take(1000, t0), Duration::ZERO);
        assert_eq!(b.take(500, t0), Duration::from_millis(500));
        // The writer waited; half a second later the debt is paid.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.take(0, t1), Duration::ZERO);
        // A pack larger than the burst waits for what it exceeds.
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(b.take(3000, t2), Duration::from_secs(2));
    }

    #[test]
    fn idle_time_never_saves_up_more_than_one_second() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1000, t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.take(1000, later), Duration::ZERO);
        assert_eq!(b.take(1000, later), Duration::from_secs(1));
    }
}
