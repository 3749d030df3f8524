//! Decoded frames shared by the workers of one restore. Small files share
//! frames, and the batches two workers take side by side meet inside one:
//! without sharing, about a third of a typical tree's frames were read,
//! opened and decompressed twice (on an object store, fetched twice). A
//! frame another worker is reading is waited for, not read again.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// (pack index, frame offset).
pub(super) type FrameKey = (u32, u64);

/// The copy that served a frame when it was not the preferred one, and why.
pub(super) type Fallback = Option<(usize, String)>;

enum Slot {
    /// A worker is reading it; the others wait.
    Loading,
    Ready(Fallback, Arc<Vec<u8>>),
}

/// The frames most recently decoded by any worker, bounded in number.
pub(super) struct SharedFrames {
    slots: Mutex<VecDeque<(FrameKey, Slot)>>,
    changed: Condvar,
    cap: usize,
}

/// What [`SharedFrames::get_or_claim`] found.
pub(super) enum Lookup<'s> {
    /// Decoded already, and from which copy.
    Hit(Fallback, Arc<Vec<u8>>),
    /// Nobody has it: the caller reads it and [`Claim::fill`]s it in.
    Claimed(Claim<'s>),
}

/// The duty to read one frame for everyone. Dropped unfilled (the read
/// failed), it lets the next worker try on its own.
pub(super) struct Claim<'s> {
    shared: &'s SharedFrames,
    key: FrameKey,
    filled: bool,
}

impl SharedFrames {
    /// A cache of at most `cap` decoded frames (~1 MiB each).
    pub(super) fn new(cap: usize) -> SharedFrames {
        SharedFrames {
            slots: Mutex::new(VecDeque::new()),
            changed: Condvar::new(),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(FrameKey, Slot)>> {
        // Slots are replaced whole under the lock, so a poisoned one is consistent.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The frame at `key`, waiting while another worker reads it; or the
    /// claim to read it.
    pub(super) fn get_or_claim(&self, key: FrameKey) -> Lookup<'_> {
        let mut slots = self.lock();
        loop {
            match slots.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    if let Some((_, Slot::Ready(from, data))) = slots.get(i) {
                        let hit = Lookup::Hit(from.clone(), data.clone());
                        // Most recently used last: eviction takes the front.
                        if let Some(s) = slots.remove(i) {
                            slots.push_back(s);
                        }
                        return hit;
                    }
                    slots = self.changed.wait(slots).unwrap_or_else(|p| p.into_inner());
                }
                None => {
                    if slots.len() >= self.cap
                        && let Some(old) =
                            slots.iter().position(|(_, s)| matches!(s, Slot::Ready(..)))
                    {
                        slots.remove(old);
                    }
                    slots.push_back((key, Slot::Loading));
                    return Lookup::Claimed(Claim {
                        shared: self,
                        key,
                        filled: false,
                    });
                }
            }
        }
    }
}

impl Claim<'_> {
    /// Hands the frame read to every worker waiting for it.
    pub(super) fn fill(mut self, from: Fallback, data: Arc<Vec<u8>>) {
        let mut slots = self.shared.lock();
        if let Some(slot) = slots.iter_mut().find(|(k, _)| *k == self.key) {
            slot.1 = Slot::Ready(from, data);
        }
        self.filled = true;
        drop(slots);
        self.shared.changed.notify_all();
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.filled {
            return;
        }
        let mut slots = self.shared.lock();
        slots.retain(|(k, s)| !(*k == self.key && matches!(s, Slot::Loading)));
        drop(slots);
        self.shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(l: Lookup<'_>) -> Option<Vec<u8>> {
        match l {
            Lookup::Hit(_, d) => Some(d.to_vec()),
            Lookup::Claimed(_) => None,
        }
    }

    #[test]
    fn a_filled_frame_is_served_and_an_unfilled_claim_lets_the_next_one_try() {
        let s = SharedFrames::new(2);
        let Lookup::Claimed(c) = s.get_or_claim((0, 12)) else {
            panic!("empty cache hit")
        };
        c.fill(None, Arc::new(vec![1, 2]));
        assert_eq!(hit(s.get_or_claim((0, 12))), Some(vec![1, 2]));
        // A failed read: the claim is dropped, the frame can be claimed again.
        let Lookup::Claimed(c) = s.get_or_claim((0, 99)) else {
            panic!("hit on a frame never filled")
        };
        drop(c);
        assert!(hit(s.get_or_claim((0, 99))).is_none());
    }

    #[test]
    fn the_least_recently_used_frame_goes_first() {
        let s = SharedFrames::new(2);
        for off in [1, 2] {
            if let Lookup::Claimed(c) = s.get_or_claim((0, off)) {
                c.fill(None, Arc::new(vec![off as u8]));
            }
        }
        assert!(hit(s.get_or_claim((0, 1))).is_some()); // 1 is now the newest
        if let Lookup::Claimed(c) = s.get_or_claim((0, 3)) {
            c.fill(None, Arc::new(vec![3]));
        }
        assert!(hit(s.get_or_claim((0, 1))).is_some());
        assert!(hit(s.get_or_claim((0, 3))).is_some());
        assert!(hit(s.get_or_claim((0, 2))).is_none(), "2 was evicted");
    }

    #[test]
    fn a_worker_waits_for_the_frame_another_is_reading_and_reads_it_once() {
        let s = SharedFrames::new(4);
        let reads = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|t| {
            for _ in 0..8 {
                t.spawn(|| match s.get_or_claim((7, 0)) {
                    Lookup::Hit(_, d) => assert_eq!(*d, vec![9]),
                    Lookup::Claimed(c) => {
                        reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        c.fill(None, Arc::new(vec![9]));
                    }
                });
            }
        });
        assert_eq!(reads.into_inner(), 1);
    }
}
