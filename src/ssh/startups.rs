//! Connections that have not logged in yet, limited the way OpenSSH's
//! `MaxStartups` and `PerSourceMaxStartups` do: above a soft limit new ones
//! are refused at random, more often the fuller it gets, and refused always at
//! the hard limit; one source address may hold only a few. So idle clients
//! that never log in cannot keep everyone else out until they time out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Random early refusal starts at this many connections logging in.
pub const START: usize = 10;
/// Percent refused at [`START`], rising linearly to 100 at [`FULL`].
pub const RATE: usize = 30;
/// Connections logging in at once; every one above is refused.
pub const FULL: usize = 64;
/// Connections one source address may have logging in at once.
pub const PER_SOURCE: usize = 8;

#[derive(Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// The connections logging in now.
#[derive(Clone, Default)]
pub struct Startups {
    counts: Arc<Mutex<Counts>>,
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already has [`PER_SOURCE`] connections logging in.
    PerSource,
    /// Between the soft and hard limit, and the draw refused it.
    Random,
    /// At the hard limit.
    Full,
}

/// A connection counted as logging in until it logs in or closes.
pub struct Guard {
    counts: Arc<Mutex<Counts>>,
    source: IpAddr,
    released: bool,
}

impl Guard {
    /// Stops counting the connection (it logged in, or it is closing).
    pub fn release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.by_source.remove(&self.source);
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.release();
    }
}

/// Whether the `total`-th connection logging in is refused, given a draw in 0..100.
pub fn refuse_at(total: usize, draw: usize) -> Option<Refusal> {
    if total >= FULL {
        return Some(Refusal::Full);
    }
    if total < START {
        return None;
    }
    let pct = RATE + (100 - RATE) * (total - START) / (FULL - START);
    (draw < pct).then_some(Refusal::Random)
}

impl Startups {
    /// Counts a new connection from `source`, or says why it is refused.
    pub fn admit(&self, source: IpAddr) -> Result<Guard, Refusal> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.by_source.get(&source).copied().unwrap_or(0) >= PER_SOURCE {
            return Err(Refusal::PerSource);
        }
        if let Some(r) = refuse_at(c.total, rand::random_range(0..100)) {
            return Err(r);
        }
        c.total += 1;
        *c.by_source.entry(source).or_default() += 1;
        Ok(Guard {
            counts: self.counts.clone(),
            source,
            released: false,
        })
    }

    /// Connections logging in now.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_is_capped_and_others_still_get_in() {
        let s = Startups::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<Guard> = (0..PER_SOURCE).map(|_| s.admit(a).unwrap()).collect();
        assert_eq!(s.admit(a).err(), Some(Refusal::PerSource));
        let mut g = s.admit(b).unwrap();
        assert_eq!(s.total(), PER_SOURCE + 1);
        g.release();
        g.release();
        drop(held);
        assert_eq!(s.total(), 0);
        assert!(s.admit(a).is_ok());
    }

    #[test]
    fn refusal_rises_from_the_soft_to_the_hard_limit() {
        assert_eq!(refuse_at(START - 1, 0), None);
        assert_eq!(refuse_at(START, RATE - 1), Some(Refusal::Random));
        assert_eq!(refuse_at(START, RATE), None);
        assert_eq!(refuse_at(FULL - 1, 97), Some(Refusal::Random));
        assert_eq!(refuse_at(FULL, 99), Some(Refusal::Full));
        assert_eq!(refuse_at(usize::MAX, 0), Some(Refusal::Full));
    }
}
