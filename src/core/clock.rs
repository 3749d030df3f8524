//! Where "now" comes from. The scheduler and everything time-driven take a
//! [`Clock`] so tests can run days of schedule in milliseconds with a
//! [`FakeClock`] instead of sleeping.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex, MutexGuard};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same instant, so a
/// test can keep one handle and give another to the code under test.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl FakeClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        FakeClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock to `t` (backwards too, to test clock corrections).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.lock() = t;
    }

    /// Moves the clock by `d` (negative moves it back) and returns the new instant.
    /// Saturates at the ends of the representable range.
    pub fn advance(&self, d: TimeDelta) -> DateTime<Utc> {
        let mut now = self.lock();
        let next = now
            .checked_add_signed(d)
            .unwrap_or(if d < TimeDelta::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
        *now = next;
        next
    }

    fn lock(&self) -> MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding this lock cannot leave a DateTime half-written.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fake_clock_moves_only_when_told_and_clones_share_it() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = FakeClock::new(start);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(shared.now(), start);
        assert_eq!(
            clock.advance(TimeDelta::days(3)),
            start + TimeDelta::days(3)
        );
        assert_eq!(shared.now(), start + TimeDelta::days(3));
        clock.set(start);
        assert_eq!(shared.now(), start);
        clock.advance(TimeDelta::MAX);
        assert_eq!(shared.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn system_clock_is_now() {
        let before = Utc::now();
        let t = SystemClock.now();
        assert!(t >= before && t <= Utc::now());
    }
}
