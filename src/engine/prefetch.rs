//! Reading one file's chunks ahead of writing them. A large file (a database
//! dump, a disk image) is one entry, so restoring files in parallel does not
//! help it: its frames are fetched by several threads, a bounded window ahead
//! of the writer, and handed over in order. Over an object store each fetch
//! waits on a round trip; on a disk, decompressing and hashing is spread over
//! the cores.

use super::fetch::{Chunk, CopyReader};
use super::manifest::Manifest;
use super::repository::Repository;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Fewer frames than this are read one after the other: threads would not pay.
const MIN_GROUPS: usize = 4;

/// Most fetching threads for one file.
const MAX_FETCHERS: usize = 8;

/// How many threads fetch one large file's frames from `repos`: twice the
/// preferred copy's parallel writes (reads wait on the same round trips), at
/// least 2, at most [`MAX_FETCHERS`].
pub(super) fn fetchers(repos: &[Repository]) -> usize {
    repos
        .first()
        .map_or(2, |r| r.parallel_writes() * 2)
        .clamp(2, MAX_FETCHERS)
}

/// Positions in `chunks` grouped by the frame holding them (`frame_of` a
/// chunk index, `None` for an index out of range): each group is one fetch.
fn groups(frame_of: impl Fn(u32) -> Option<(u32, u64)>, chunks: &[u32]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, &ci) in chunks.iter().enumerate() {
        match out.last_mut() {
            Some(g) if frame_of(chunks[g.start]) == frame_of(ci) && frame_of(ci).is_some() => {
                g.end = i + 1
            }
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Fetched groups waiting for the writer, and how far the writer got.
#[derive(Default)]
struct Window {
    ready: BTreeMap<usize, Result<Vec<Chunk>, String>>,
    consumed: usize,
    stop: bool,
}

fn lock(w: &Mutex<Window>) -> MutexGuard<'_, Window> {
    // A poisoned lock only means a fetcher panicked; its group never arrives
    // and the writer reports it, so the data behind the lock is still usable.
    w.lock().unwrap_or_else(|p| p.into_inner())
}

/// Calls `write` with the bytes of each of `chunks` (chunk indices of the
/// manifest, in file order), each checked against its hash. `reader` serves
/// small files directly and collects the fallbacks of the fetching threads.
/// The first error (a chunk no copy holds intact, or one from `write`) ends it.
pub(super) fn each_chunk(
    m: &Manifest,
    repos: &[Repository],
    path: &[u8],
    chunks: &[u32],
    reader: &mut CopyReader<'_>,
    write: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let chunk_ref = |ci: u32| m.chunks.get(ci as usize).ok_or("chunk index out of range");
    let groups = groups(
        |ci| m.chunks.get(ci as usize).map(|c| (c.pack, c.frame_offset)),
        chunks,
    );
    let threads = fetchers(repos);
    if groups.len() < MIN_GROUPS {
        for &ci in chunks {
            let chunk = reader.chunk(m, chunk_ref(ci)?, path)?;
            write(chunk.bytes())?;
        }
        return Ok(());
    }
    let ahead = threads + 2;
    let shared = reader.shared();
    let window = Mutex::new(Window::default());
    let moved = Condvar::new();
    let next = AtomicUsize::new(0);
    let fetch = || {
        let mut own = CopyReader::sharing(repos, shared);
        loop {
            let g = next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = groups.get(g) else { break };
            {
                let mut w = lock(&window);
                while g >= w.consumed + ahead && !w.stop {
                    w = moved.wait(w).unwrap_or_else(|p| p.into_inner());
                }
                if w.stop {
                    break;
                }
            }
            let got: Result<Vec<Chunk>, String> = chunks[range.clone()]
                .iter()
                .map(|&ci| own.chunk(m, chunk_ref(ci)?, path))
                .collect();
            lock(&window).ready.insert(g, got);
            moved.notify_all();
        }
        own
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(fetch)).collect();
        let mut result = Ok(());
        for g in 0..groups.len() {
            let got = {
                let mut w = lock(&window);
                loop {
                    if let Some(r) = w.ready.remove(&g) {
                        w.consumed = g + 1;
                        break Some(r);
                    }
                    // Every fetcher gone and the group still missing: one panicked.
                    if handles.iter().all(|h| h.is_finished()) {
                        break None;
                    }
                    w = moved
                        .wait_timeout(w, std::time::Duration::from_millis(200))
                        .map(|(w, _)| w)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            };
            moved.notify_all();
            let step = match got {
                Some(Ok(group)) => group.iter().try_for_each(|c| write(c.bytes())),
                Some(Err(e)) => Err(e),
                None => Err("a restore reader stopped unexpectedly".into()),
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        lock(&window).stop = true;
        moved.notify_all();
        for h in handles {
            if let Ok(own) = h.join() {
                reader.absorb(own);
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_one_frame_are_one_fetch_and_order_is_kept() {
        let frames = [(0, 0), (0, 0), (0, 100), (1, 0), (1, 0), (0, 0)];
        let frame_of = |ci: u32| frames.get(ci as usize).copied();
        assert_eq!(
            groups(frame_of, &[0, 1, 2, 3, 4, 5]),
            vec![0..2, 2..3, 3..5, 5..6]
        );
        // A bad index is a group of its own, reported when it is fetched.
        assert_eq!(groups(frame_of, &[0, 99, 99]), vec![0..1, 1..2, 2..3]);
        assert!(groups(frame_of, &[]).is_empty());
    }
}
